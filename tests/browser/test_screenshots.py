"""Screenshots for the README: the catalogue, the checkout, an order and an order's
conversation on a phone, the admin orders on a desktop.

They go to docs/screenshots/ only with SCREENSHOTS=1 (``SCREENSHOTS=1 make test
PYTEST_ARGS=tests/browser/test_screenshots.py``); otherwise to a temporary folder,
so an ordinary test run changes no file in the repository. The shop gets its own
server with a few customers and orders in every state, so the pictures are the
same on every run.
"""

import os
import struct
from pathlib import Path

import pytest
from playwright.sync_api import expect

from shop.seed import DEMO_SHOPPER, PRODUCTS
from testing import ROOT, steps
from testing.browser import DESKTOP, PHONE, open_browsing
from testing.server import start_server
from testing.shopper import Shopper, admin_on, shopper_on

pytestmark = pytest.mark.browser

DOCS = ROOT / "docs" / "screenshots"
PRODUCT_IDS = {row[0]: number for number, row in enumerate(PRODUCTS, start=1)}  # a fresh database
CUSTOMERS = [
    ("Maya Lindqvist", "maya@example.com"),
    ("Tomás Ferreira", "tomas@example.com"),
]
# customer, items, the statuses the order goes through after "placed"
ORDERS = [
    ("Maya Lindqvist", {"Burr Coffee Grinder": 1}, ["processing", "shipped", "delivered"]),
    ("Tomás Ferreira", {"Oak Cutting Board, large": 1, "Wooden Spoon Set": 1}, ["cancelled"]),
    ("Maya Lindqvist", {"Loose Leaf Sencha, 100 g": 2, "Cast Iron Teapot, 0.8 l": 1}, ["processing"]),
    (
        "Sam Shopper",
        {"Ceramic Pour-Over Coffee Dripper": 1, "Single-Origin Ethiopia Yirgacheffe, 250 g": 2},
        ["processing"],
    ),
    ("Tomás Ferreira", {"Merino Wool Throw": 1}, []),
    ("Sam Shopper", {"Scented Soy Candle: Fig & Cedar": 2}, []),
    ("Maya Lindqvist", {"Wool Slippers": 1}, ["processing", "shipped"]),
    ("Tomás Ferreira", {"Sourdough Starter Kit": 1, "Flaky Sea Salt, 250 g": 2}, ["processing"]),
]
SHOWCASE_ORDER = 4  # Sam's order with the dripper: shipped live during the test
CONVERSATION_ORDER = 6  # Sam's candles: he asks about them, the shop answers
LIVE_ORDER = ("Maya Lindqvist", {"Glass Storage Jars, set of 6": 1, "Canvas Tote Bag": 2})  # €62.00


def png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def add_orders(base_url: str) -> dict[str, Shopper]:
    """Customers and orders in every state, through the same forms a browser posts;
    returns the customers' signed-in HTTP sessions by name."""
    admin = admin_on(base_url)
    people = {DEMO_SHOPPER[1]: shopper_on(base_url)}
    for name, email in CUSTOMERS:
        people[name] = Shopper(base_url).register(name, email)
    for number, (customer, items, statuses) in enumerate(ORDERS, start=1):
        order_id = place_order(people[customer], items)
        assert order_id == number, "the showcase expects a fresh database"
        for status in statuses:
            admin.set_status(order_id, status)
    return people


def place_order(person: Shopper, items: dict[str, int]) -> int:
    """One order of several products, as the cart page's button places it."""
    for name, quantity in items.items():
        person.add_to_cart(PRODUCT_IDS[name], quantity)
    return person.place_order()


@pytest.fixture(scope="module")
def showcase(tmp_path_factory):
    server = start_server(tmp_path_factory, photos=True)
    try:
        yield server, add_orders(server.url)
    finally:
        server.stop()


@pytest.fixture
def showcase_browsing(browser, showcase):
    yield from open_browsing(browser, showcase[0])


@pytest.fixture
def folder(tmp_path) -> Path:
    if os.environ.get("SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path


def test_screenshots_of_the_shop_on_a_phone_and_the_admin_on_a_desktop(showcase_browsing, showcase, folder):
    phone = showcase_browsing.page(viewport=PHONE, device_scale_factor=2)
    steps.log_in(phone, DEMO_SHOPPER[0], DEMO_SHOPPER[2])
    phone.goto("/")
    steps.wait_until_live(phone)
    expect(phone.locator("[data-product-list] > [data-product-id]")).to_have_count(12)
    photos = phone.locator("[data-product-list] picture img")
    expect(photos).to_have_count(12)  # every demo product has its photo
    for index in range(2):  # the two in view have loaded (the rest wait below the fold)
        expect(photos.nth(index)).to_have_js_property("complete", True)
        assert photos.nth(index).evaluate("img => img.naturalWidth") > 0
    phone.screenshot(path=folder / "catalogue-phone.png")

    phone.goto(f"/products/{PRODUCT_IDS['Cast Iron Teapot, 0.8 l']}")
    steps.add_to_cart(phone, 1)
    phone.get_by_role("link", name="Check out").click()
    expect(phone.get_by_role("radio", name="Express")).to_be_visible()
    steps.wait_until_live(phone)
    phone.screenshot(path=folder / "checkout-phone.png", animations="disabled")
    phone.goto("/cart")
    phone.get_by_role("button", name="Remove Cast Iron Teapot, 0.8 l").click()

    admin = showcase_browsing.admin(viewport=DESKTOP)
    phone.goto(f"/orders/{SHOWCASE_ORDER}")
    steps.wait_until_live(phone)
    steps.set_order_status(admin, SHOWCASE_ORDER, "shipped")
    expect(steps.order_status(phone)).to_have_text("Shipped")
    expect(steps.toast(phone, "order_status").first).to_be_visible()
    phone.screenshot(path=folder / "order-phone.png", animations="disabled")

    admin.goto("/admin/orders")
    steps.wait_until_live(admin)
    expect(admin.locator("[data-admin-orders] tbody tr")).to_have_count(len(ORDERS))
    customer, items = LIVE_ORDER
    live_order = place_order(showcase[1][customer], items)
    expect(admin.locator("[data-admin-orders] tbody tr").first).to_contain_text(f"#{live_order}")
    expect(steps.toast(admin, "new_order").filter(has_text=f"New order #{live_order}")).to_be_visible()
    admin.screenshot(path=folder / "admin-orders-desktop.png", animations="disabled")

    assert png_size(folder / "catalogue-phone.png") == (2 * PHONE["width"], 2 * PHONE["height"])
    assert png_size(folder / "checkout-phone.png") == (2 * PHONE["width"], 2 * PHONE["height"])
    assert png_size(folder / "order-phone.png") == (2 * PHONE["width"], 2 * PHONE["height"])
    assert png_size(folder / "admin-orders-desktop.png") == (DESKTOP["width"], DESKTOP["height"])


def test_screenshot_of_an_order_conversation_on_a_phone(showcase_browsing, folder):
    phone = showcase_browsing.page(viewport=PHONE, device_scale_factor=2)
    steps.log_in(phone, DEMO_SHOPPER[0], DEMO_SHOPPER[2])
    phone.goto(f"/orders/{CONVERSATION_ORDER}")
    steps.wait_until_live(phone)
    admin = showcase_browsing.admin(viewport=DESKTOP)
    admin.goto(f"/admin/orders/{CONVERSATION_ORDER}")
    steps.wait_until_live(admin)

    steps.send_message(phone, "Could the two candles be gift-wrapped? They are a present.")
    expect(steps.thread_messages(admin)).to_have_count(1)
    steps.send_message(admin, "Of course: we wrap them in kraft paper with a sprig of rosemary.")
    expect(steps.thread_messages(phone)).to_have_count(2)
    expect(phone.locator("[data-presence]")).to_have_text("The shop is online")
    phone.locator("[data-thread]").scroll_into_view_if_needed()
    phone.screenshot(path=folder / "conversation-phone.png", animations="disabled")

    assert png_size(folder / "conversation-phone.png") == (2 * PHONE["width"], 2 * PHONE["height"])
