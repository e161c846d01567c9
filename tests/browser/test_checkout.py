"""The whole checkout on a phone: a visitor's cart, signing up with it, an address
the page refuses and then takes, express delivery paid by bank transfer, and the
payment arriving live on the order page."""

import uuid

import pytest
from playwright.sync_api import Page, expect

from shop.seed import PRODUCTS
from testing import steps
from testing.browser import PHONE

pytestmark = pytest.mark.browser

NOTEBOOK = "Notebook, Dot Grid A5"  # €12.50
NOTEBOOK_ID = [row[0] for row in PRODUCTS].index(NOTEBOOK) + 1  # the seeded database's id
REFUSED_PAGES = r"status of (400|409)"  # a refused form comes back with its status: the console says so


def fits_the_screen(page: Page) -> bool:
    """Whether the loaded page is no wider than the screen. Its text is there before
    its stylesheets: with one still loading, the cart's table is wider than a phone."""
    page.wait_for_load_state("load")
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_the_whole_checkout_on_a_phone(browsing):
    visitor = browsing.page(viewport=PHONE)

    # A visitor fills a cart without an account.
    visitor.goto(f"/products/{NOTEBOOK_ID}")
    steps.add_to_cart(visitor, 2)
    expect(visitor.locator(".badge-cart")).to_have_text("2")
    expect(visitor.locator("[data-items-total]")).to_have_text("€25.00")
    expect(visitor.locator("[data-shipping-total]")).to_have_text("€4.90")
    expect(visitor.locator("[data-grand-total]")).to_have_text("€29.90")
    assert fits_the_screen(visitor)

    # Signing up keeps the cart and goes on to checkout.
    visitor.get_by_role("link", name="Create an account").click()
    visitor.get_by_label("Name").fill("Petra Phone")
    visitor.get_by_label("Email").fill(f"petra-{uuid.uuid4().hex[:8]}@example.com")
    visitor.get_by_label("Password", exact=True).fill(steps.PASSWORD)
    visitor.get_by_label("Repeat password").fill(steps.PASSWORD)
    visitor.get_by_role("button", name="Create account").click()
    page = visitor
    expect(page.get_by_role("heading", name="Checkout", exact=True)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="before signing in is in it still")).to_be_visible()
    expect(page.locator(".badge-cart")).to_have_text("2")

    # An address the page refuses keeps what was typed and says what is wrong, where.
    steps.fill_address(page, postcode="12345")
    with browsing.clean.tolerating(REFUSED_PAGES):
        page.get_by_role("button", name="Place order").click()
        expect(page.get_by_role("alert")).to_contain_text("Please check the address")
    postcode = page.locator(".field.has-error").filter(has=page.get_by_label("Postcode"))
    expect(postcode).to_contain_text("A postcode in Netherlands looks like 1015 CJ.")
    expect(page.get_by_label("Full name")).to_have_value("Robin Browser")
    expect(page.get_by_label("Postcode")).to_have_value("12345")
    assert fits_the_screen(page)

    # Express delivery and a bank transfer: the totals follow the choice.
    page.get_by_label("Postcode").fill("1015 CJ")
    standard, express = (page.locator(f"[data-totals-for='{code}']") for code in ("standard", "express"))
    expect(standard.locator("[data-grand-total]")).to_have_text("€29.90")
    expect(express).to_be_hidden()
    page.get_by_role("radio", name="Express").check()
    expect(standard).to_be_hidden()
    expect(express.locator("[data-grand-total]")).to_have_text("€34.90")
    page.get_by_role("radio", name="Bank transfer").check()
    page.get_by_role("button", name="Place order").click()

    # The order page: where it goes, how, what it cost and how to pay.
    expect(page.get_by_role("status").filter(has_text="is placed")).to_be_visible()
    order_page = page.locator("[data-order-page]")
    order_id = int(order_page.get_attribute("data-order-id"))
    expect(page.locator("[data-address]")).to_contain_text("Keizersgracht 123")
    expect(page.locator("[data-address]")).to_contain_text("1015 CJ Amsterdam")
    expect(page.locator("[data-shipping-method]")).to_contain_text("Express")
    expect(order_page.locator("[data-grand-total]")).to_have_text("€34.90")
    payment = page.locator("[data-order-payment]")
    expect(payment.locator("[data-payment-status]")).to_have_text("Unpaid")
    expect(payment.locator("[data-payment-instructions]")).to_contain_text("Please transfer €34.90")
    expect(payment.locator("[data-payment-instructions]")).to_contain_text(f"Order {order_id}")
    expect(page.locator(".badge-cart")).to_be_hidden()
    assert fits_the_screen(page)
    steps.wait_until_live(page)
    steps.mark_page(page)

    # The admin may not ship it unpaid without saying so; the payment then arrives live.
    admin = browsing.admin()
    steps.set_order_status(admin, order_id, "processing")
    admin.get_by_label("New status").select_option("shipped")
    with browsing.clean.tolerating(REFUSED_PAGES):
        admin.get_by_role("button", name="Update status").click()
        expect(admin.get_by_role("alert")).to_contain_text("confirm that it ships unpaid")
    admin.get_by_label("Payment status").select_option("paid")
    admin.get_by_label("Note about the payment").fill("Received, thank you")
    admin.get_by_role("button", name="Update payment").click()
    expect(admin.get_by_role("status").filter(has_text=f"Order #{order_id} is now paid.")).to_be_visible()

    expect(payment.locator("[data-payment-status]")).to_have_text("Paid")
    expect(payment.locator("[data-payment-instructions]")).to_be_hidden()
    expect(payment.locator("[data-payment-timeline] > li")).to_have_count(2)
    expect(payment.locator("[data-payment-timeline] > li").last).to_contain_text("Paid")
    expect(
        steps.toast(page, "payment_status").filter(has_text=f"Payment received (order #{order_id})")
    ).to_be_visible()
    assert steps.still_same_document(page)

    steps.set_order_status(admin, order_id, "shipped")  # paid now: no question asked
    expect(steps.order_status(page)).to_have_text("Shipped")


def test_without_javascript_every_methods_totals_show_and_the_chosen_one_is_charged(browsing):
    page = browsing.shopper(javascript=False, viewport=PHONE)
    page.goto(f"/products/{NOTEBOOK_ID}")
    steps.add_to_cart(page, 1)
    page.get_by_role("link", name="Check out").click()
    expect(page.locator("[data-totals-for='standard'] [data-grand-total]")).to_have_text("€17.40")
    expect(page.locator("[data-totals-for='express'] [data-grand-total]")).to_have_text("€22.40")
    steps.fill_address(page)
    page.get_by_role("radio", name="Express").check()
    page.get_by_role("button", name="Place order").click()
    expect(page.locator("[data-order-page] [data-grand-total]")).to_have_text("€22.40")
    assert fits_the_screen(page)
