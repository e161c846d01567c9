"""Live updates as a person sees them: pages change without a reload.

Each scenario has its own shopper and its own product, so they share one server.
"""

import pytest
from playwright.sync_api import expect

from testing import steps

pytestmark = pytest.mark.browser


def test_order_status_reaches_the_shoppers_order_page_live(browsing):
    shopper = browsing.shopper()
    order_id = steps.buy(shopper, "grinder", "Burr Coffee Grinder")
    steps.wait_until_live(shopper)
    expect(steps.unread_badge(shopper)).to_be_hidden()
    steps.mark_page(shopper)
    admin = browsing.admin()

    steps.set_order_status(admin, order_id, "processing")
    expect(steps.order_status(shopper)).to_have_text("Processing")
    expect(steps.timeline_entries(shopper)).to_have_count(2)
    expect(steps.timeline_entries(shopper).last).to_contain_text("Processing")
    toast = steps.toast(shopper, "order_status")
    expect(toast.filter(has_text=f"We are preparing your order (order #{order_id})")).to_be_visible()
    expect(steps.unread_badge(shopper)).to_have_text("1")

    steps.set_order_status(admin, order_id, "shipped")
    expect(steps.order_status(shopper)).to_have_text("Shipped")
    expect(steps.timeline_entries(shopper)).to_have_count(3)
    expect(steps.timeline_entries(shopper).last).to_contain_text("Shipped")
    expect(toast.filter(has_text=f"Your order is on its way (order #{order_id})")).to_be_visible()
    expect(steps.unread_badge(shopper)).to_have_text("2")
    expect(shopper.locator("[data-cancel-form]")).to_be_hidden()
    assert steps.still_same_document(shopper)

    inbox = shopper.context.new_page()
    inbox.goto("/notifications")
    expect(inbox.locator("[data-inbox] > [data-seq]")).to_have_count(2)
    expect(steps.unread_badge(inbox)).to_be_hidden()
    expect(steps.unread_badge(shopper)).to_be_hidden()
    assert steps.still_same_document(shopper)


def test_stock_goes_out_and_comes_back_live_with_an_alert(browsing):
    shopper = browsing.shopper()
    catalogue = shopper.context.new_page()
    shopper.goto("/")
    steps.search(shopper, "cutting board")
    product_id = steps.open_product(shopper, "Oak Cutting Board, large")
    catalogue.goto("/?q=cutting+board")
    steps.wait_until_live(shopper)
    steps.wait_until_live(catalogue)
    for page in (shopper, catalogue):
        steps.mark_page(page)
    badge = shopper.locator("[data-product-page] [data-stock-badge]")
    card_badge = catalogue.locator(f"[data-product-list] [data-product-id='{product_id}'] [data-stock-badge]")
    add_form = shopper.locator("[data-add-to-cart]")
    watch = shopper.locator("[data-watch]")
    expect(badge).to_have_text("In stock")
    expect(watch).to_be_hidden()
    admin = browsing.admin()

    steps.set_stock(admin, product_id, 0)
    expect(badge).to_have_text("Out of stock")
    expect(card_badge).to_have_text("Out of stock")
    expect(add_form).to_be_hidden()
    expect(add_form.get_by_role("button", name="Add to cart", include_hidden=True)).to_be_disabled()
    expect(watch).to_be_visible()
    assert steps.still_same_document(shopper)

    watch.get_by_role("button", name="Notify me when it is back").click()
    expect(shopper.get_by_role("status").filter(has_text="We will tell you when it is back.")).to_be_visible()
    expect(shopper.locator("[data-watching]")).to_be_visible()
    steps.wait_until_live(shopper)
    steps.mark_page(shopper)

    steps.set_stock(admin, product_id, 5)
    alert = steps.toast(shopper, "back_in_stock")
    expect(alert.filter(has_text="Back in stock: Oak Cutting Board, large")).to_be_visible()
    expect(badge).to_have_text("In stock")
    expect(add_form).to_be_visible()
    expect(add_form.get_by_role("button", name="Add to cart")).to_be_enabled()
    expect(watch).to_be_hidden()
    expect(steps.unread_badge(shopper)).to_have_text("1")

    steps.set_stock(admin, product_id, 2)
    expect(badge).to_have_text("Only 2 left")
    expect(card_badge).to_have_text("Only 2 left")
    assert steps.still_same_document(shopper)
    assert steps.still_same_document(catalogue)


def test_admin_orders_list_shows_new_orders_and_changes_live(browsing):
    admin = browsing.admin()
    steps.open_live(admin, "/admin/orders")
    shopper = browsing.shopper(name="Noor Newcomer")

    order_id = steps.buy(shopper, "towels", "Linen Tea Towels, set of 3")
    row = admin.locator(f"[data-admin-orders] tr[data-order-id='{order_id}']")
    expect(row.locator("[data-order-status]")).to_have_text("Placed")
    expect(row).to_contain_text("Noor Newcomer")
    expect(row).to_contain_text("€22.90")  # €18.00 and standard shipping
    expect(row.locator("[data-payment-status]")).to_have_text("Unpaid")
    newest = admin.locator("[data-admin-orders] tbody tr").first
    expect(newest).to_have_attribute("data-order-id", str(order_id))
    alert = steps.toast(admin, "new_order").filter(has_text=f"New order #{order_id}")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("1 item(s), €22.90")

    shopper.get_by_role("button", name="Cancel this order").click()
    expect(steps.order_status(shopper)).to_have_text("Cancelled")
    expect(row.locator("[data-order-status]")).to_have_text("Cancelled")
    assert steps.still_same_document(admin)
