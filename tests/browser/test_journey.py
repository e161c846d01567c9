"""The shopper journey, with JavaScript and without it: the shop is plain HTML forms first."""

import pytest
from playwright.sync_api import Page, expect

from testing import steps

pytestmark = pytest.mark.browser

KETTLE = "Stainless Steel Gooseneck Kettle"  # €59.00
SENCHA = "Loose Leaf Sencha, 100 g"  # €11.90


def cart_row(page: Page, product_id: int):
    return page.locator(f"tr[data-product-id='{product_id}']")


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_shopper_journey_from_sign_up_to_order_page(browsing, javascript):
    page = browsing.shopper(javascript=javascript)

    steps.search(page, "kettle")
    expect(page.locator("[data-product-list] > [data-product-id]")).to_have_count(1)
    kettle_id = steps.open_product(page, KETTLE)
    expect(page.locator("[data-product-page] [data-stock-badge]")).to_have_text("In stock")
    steps.add_to_cart(page)
    expect(cart_row(page, kettle_id)).to_contain_text("€59.00")

    steps.search(page, "sencha")
    sencha_id = steps.open_product(page, SENCHA)
    steps.add_to_cart(page)
    expect(page.locator(".badge-cart")).to_have_text("2")

    row = cart_row(page, sencha_id)
    row.get_by_label(f"Quantity of {SENCHA}").fill("3")
    row.get_by_role("button", name="Update").click()
    expect(page.get_by_role("status").filter(has_text="Cart updated.")).to_be_visible()
    expect(cart_row(page, sencha_id).get_by_label(f"Quantity of {SENCHA}")).to_have_value("3")
    expect(page.locator("[data-grand-total]")).to_have_text("€94.70")  # standard shipping free from €50
    expect(page.locator(".badge-cart")).to_have_text("4")

    order_id = steps.check_out(page)
    assert page.url.endswith(f"/orders/{order_id}")
    expect(page.get_by_role("heading", name=f"Order #{order_id}")).to_be_visible()
    expect(steps.order_status(page)).to_have_text("Placed")
    expect(steps.timeline_entries(page)).to_have_count(1)
    items = page.locator("[data-order-page] table")
    expect(items).to_contain_text(f"{KETTLE}1 × €59.00€59.00")
    expect(items).to_contain_text(f"{SENCHA}3 × €11.90€35.70")
    expect(items.locator("tfoot")).to_contain_text("€94.70")
    expect(page.locator(".badge-cart")).to_be_hidden()

    page.goto("/orders")
    expect(page.locator(f"tr[data-order-id='{order_id}'] [data-order-status]")).to_have_text("Placed")
