"""Admins side by side, and the shopper's cart badge, as people see them.

Two admins on one order or product: the one who did not make a change sees it on the
page with who made it, keeps what they typed, and a form from before it is refused
(409) until they reload. The cart badge follows adds and removals in every tab.
"""

import secrets

import pytest
from playwright.sync_api import Page, expect

from shop.models import Order
from testing import steps
from testing.data import PASSWORD
from testing.shopper import Shopper

pytestmark = pytest.mark.browser


def second_admin(browsing, shop) -> Page:
    email = f"bea-{secrets.token_hex(4)}@example.com"
    created = shop.cli("create-admin", email, "--name", "Bea Admin", "--password", PASSWORD)
    assert created.returncode == 0, created.stderr
    page = browsing.page()
    steps.log_in(page, email, PASSWORD)
    return page


def notice(page: Page):
    return page.locator("[data-admin-notices] [data-admin-changed]")


def test_two_admins_on_one_order_the_other_sees_who_and_a_stale_submit_is_refused(browsing, shop):
    owner = Shopper(shop.url).register("Olga Order")
    order_id = owner.place_order(steps.seeded_product_id("Canvas Tote Bag"))
    ada, bea = browsing.admin(), second_admin(browsing, shop)
    for page in (ada, bea):
        steps.open_live(page, f"/admin/orders/{order_id}")
    bea.get_by_label("New status").select_option("cancelled")
    bea.get_by_label("Note for the customer").fill("Out of oak, sorry")

    steps.set_order_status(ada, order_id, "processing")

    expect(steps.order_status(bea)).to_have_text("Processing")
    expect(steps.timeline_entries(bea)).to_have_count(2)
    expect(notice(bea)).to_contain_text("Changed by Ada Admin: status placed → processing.")
    expect(bea.get_by_label("Note for the customer")).to_have_value("Out of oak, sorry")  # kept
    assert steps.still_same_document(bea)

    with browsing.clean.tolerating(r"status of 409"):
        bea.get_by_role("button", name="Update status").click()
        refused = "was changed since this page was loaded (Ada Admin: status placed → processing)"
        expect(bea.get_by_role("alert").filter(has_text=refused)).to_be_visible()
    expect(steps.order_status(bea)).to_have_text("Processing")
    with shop.database() as session:
        assert session.get(Order, order_id).status == "processing"

    steps.set_order_status(bea, order_id, "cancelled")  # the refused page is the current version
    expect(notice(ada)).to_contain_text("Changed by Bea Admin: status processing → cancelled.")


def test_two_admins_on_one_product_untouched_forms_follow_typed_ones_are_refused(browsing, shop):
    product_id = steps.seeded_product_id("Wooden Spoon Set")
    ada, bea = browsing.admin(), second_admin(browsing, shop)
    for page in (ada, bea):
        steps.open_live(page, f"/admin/products/{product_id}/edit")
    details = bea.locator("[data-product-details-form]")
    details.get_by_label("Name").fill("Wooden Spoon Set, beech")

    steps.set_stock(ada, product_id, 31)

    expect(bea.locator("[data-stock-count]")).to_have_text("31")
    expect(notice(bea)).to_contain_text("Changed by Ada Admin: stock set to 31")
    expect(details.get_by_label("Name")).to_have_value("Wooden Spoon Set, beech")
    stock = bea.locator("form[action$='/stock']")
    expect(stock.get_by_label("Stock")).to_have_value("31")  # untouched: it follows the change
    assert steps.still_same_document(bea)

    with browsing.clean.tolerating(r"status of 409"):
        details.get_by_role("button", name="Save").click()
        expect(bea.get_by_text("This product was changed since this page was loaded")).to_be_visible()
    expect(bea.locator("[data-stock-count]")).to_have_text("31")

    steps.set_stock(bea, product_id, 32)  # the stock form, which followed, is current


def test_the_cart_badge_follows_in_every_tab(browsing):
    shopper = browsing.shopper(name="Tia Tabs")
    other_tab = shopper.context.new_page()
    other_tab.goto("/orders")
    steps.wait_until_live(other_tab)
    steps.mark_page(other_tab)
    badge = other_tab.locator(".badge-cart").first
    expect(badge).to_be_hidden()

    shopper.goto("/")
    steps.search(shopper, "notebook")
    steps.open_product(shopper, "Notebook, Dot Grid A5")
    steps.add_to_cart(shopper, 2)

    expect(badge).to_have_text("2")
    expect(badge).to_be_visible()
    shopper.get_by_role("button", name="Remove").first.click()
    expect(badge).to_be_hidden()
    assert steps.still_same_document(other_tab)
