"""Admin pages on worker B, away (B stopped) while 20 changes were made on worker A
(PostgreSQL, Redis), catch up when B is back: each shows what the database holds,
nothing missing, nothing twice, in the same document (no reload)."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from testing import steps
from testing.browser import SERVER_DOWN_ERRORS, Browsing, open_browsing
from testing.data import insert_product
from testing.server import prepare_database, running_workers
from testing.services import (
    SHARED_REDIS,
    postgres_database,
    query,
    require_postgres,
    require_redis,
    unique_channel,
)
from testing.shopper import Shopper, admin_on

pytestmark = [pytest.mark.browser, pytest.mark.scaleout]
BACK = 30_000  # ms: the client backs off up to 10 s between attempts to reconnect


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    require_postgres()
    require_redis()
    with postgres_database() as url:
        prepare_database(url)
        env = {"SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS, "SOCKETIO_CHANNEL": unique_channel()}
        with running_workers(url, tmp_path_factory.mktemp("workers"), **env) as (a, b):
            yield url, a, b


@pytest.fixture
def browsing_b(browser, workers) -> Iterator[Browsing]:
    yield from open_browsing(browser, workers[2])


def twenty_changes(url: str, a, products: list[int], orders: list[int], owner: Shopper) -> None:
    """Status, payment and stock changes, checkouts, a customer's cancel and the command line."""
    admin = admin_on(a.url)
    p0, p1, p2 = products
    o0, o1, o2 = orders
    admin.set_status(o0, "processing", "Packing")
    admin.set_stock(p0, 40)
    assert admin.set_payment(o1, "paid").status_code == 302
    o3 = owner.place_order(p1, 2)
    admin.set_status(o1, "processing")
    admin.set_stock(p1, 35)
    o4 = owner.place_order(p2)
    admin.set_status(o2, "cancelled")
    admin.set_stock(p2, 30)
    admin.set_status(o3, "processing")
    admin.set_status(o0, "cancelled")
    o5 = owner.place_order(p0)
    admin.set_stock(p0, 25)
    assert admin.set_payment(o4, "paid").status_code == 302
    admin.set_status(o4, "processing")
    assert a.cli("stock", "set", str(p1), "20").returncode == 0
    assert a.cli("orders", "set-status", str(o5), "cancelled").returncode == 0
    admin.set_stock(p2, 15)
    o6 = owner.place_order(p1)
    cancelled = owner.post(f"/orders/{o6}/cancel", token_from=f"/orders/{o6}", allow_redirects=False)
    assert cancelled.status_code == 302
    orders += [o3, o4, o5, o6]


def expect_orders_as_stored(page: Page, url: str, order_ids: list[int]) -> None:
    for order_id, status, payment, version in query(
        url, "SELECT id, status, payment_status, version FROM orders WHERE id = ANY(%s)", order_ids
    ):
        row = page.locator(f"tr[data-order-id='{order_id}']")
        expect(row).to_have_count(1)
        expect(row).to_have_attribute("data-version", str(version))
        expect(row.locator("[data-order-status]")).to_have_attribute("data-status", status)
        expect(row.locator("[data-payment-status]")).to_have_attribute("data-payment", payment)


def expect_products_as_stored(page: Page, url: str, product_ids: list[int]) -> None:
    for product_id, stock, version in query(
        url, "SELECT id, stock, version FROM products WHERE id = ANY(%s)", product_ids
    ):
        row = page.locator(f"tr[data-product-id='{product_id}']")
        expect(row).to_have_attribute("data-version", str(version))
        expect(row.locator("[data-stock-count]")).to_have_text(str(stock))
        expect(row.locator("input[name='stock']")).to_have_value(str(stock))  # untouched: it followed
        expect(row.locator("input[name='version']")).to_have_value(str(version))


def test_admin_pages_on_worker_b_catch_up_with_twenty_changes_made_on_worker_a(browsing_b, workers):
    url, a, b = workers
    products = [insert_product(url, stock=50, name="Away kettle") for _ in range(3)]
    owner = Shopper(a.url).register("Wes Away")
    orders = [owner.place_order(products[n]) for n in range(3)]
    order_list = browsing_b.admin()
    product_list = order_list.context.new_page()
    order_page = order_list.context.new_page()
    steps.open_live(order_list, "/admin/orders")
    steps.open_live(product_list, "/admin/products?q=Away+kettle")
    steps.open_live(order_page, f"/admin/orders/{orders[0]}")
    pages = (order_list, product_list, order_page)

    with browsing_b.clean.tolerating(*SERVER_DOWN_ERRORS):
        b.stop()
        for page in pages:
            expect(steps.indicator(page)).not_to_have_attribute("data-state", "live")
        twenty_changes(url, a, products, orders, owner)
        b.start()  # the same port and database
        for page in pages:
            expect(steps.indicator(page)).to_have_attribute("data-state", "live", timeout=BACK)

    [(head,)] = query(url, "SELECT max(position) FROM admin_changes")
    for page in pages:
        expect(page.locator("[data-admin-feed]")).to_have_attribute("data-admin-feed", str(head))
        assert steps.still_same_document(page)
    expect_orders_as_stored(order_list, url, orders)
    expect_products_as_stored(product_list, url, products)
    [(events,)] = query(url, "SELECT count(*) FROM order_events WHERE order_id = %s", orders[0])
    expect(steps.timeline_entries(order_page)).to_have_count(events)
    expect(steps.order_status(order_page)).to_have_attribute("data-status", "cancelled")
    expect(order_page.locator("[data-admin-changed]")).to_have_count(2)  # processing, then cancelled
    expect(order_page.locator("[data-toasts] .toast").filter(has_text="Reload")).to_have_count(0)
