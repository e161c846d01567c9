"""My orders, the order page and cancelling, through the test client; other people's orders stay hidden."""

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import delete

from shop.extensions import db
from shop.models import Notification, Order, OrderDelivery
from shop.services import payments
from shop.services.orders import change_status
from testing.apps import statements_run
from testing.data import count, make_order, make_product, make_user, stock_of
from testing.shopper import Auth, row_ids


def timeline_steps(html: bytes) -> list[str]:
    timeline = re.search(rb"<ol[^>]*data-timeline[^>]*>(.*?)</ol>", html, re.S)
    assert timeline, "the page has no timeline"
    return [s.decode() for s in re.findall(rb'class="timeline-status">([^<]+)<', timeline.group(1))]


def payment_steps(html: bytes) -> list[str]:
    timeline = re.search(rb"<ol[^>]*data-payment-timeline[^>]*>(.*?)</ol>", html, re.S)
    assert timeline, "the page has no payment timeline"
    return [s.decode() for s in re.findall(rb'class="timeline-status">([^<]+)<', timeline.group(1))]


def order_status(html: bytes) -> str:
    return re.search(rb"data-order-status>([^<]+)<", html).group(1).decode()


@pytest.fixture
def other(app):
    """A second shopper, logged in on a browser of their own."""
    user = make_user("other@example.com", "Olu")
    client = app.test_client()
    Auth(client).login(email=user.email)
    return SimpleNamespace(user=user, client=client)


def test_my_orders_lists_only_mine_newest_first(client, auth, shopper, other):
    teapot = make_product(stock=10)
    first = make_order(shopper, teapot, key="a")
    second = make_order(shopper, teapot, key="b")
    theirs = make_order(other.user, teapot, key="c")
    auth.login()

    html = client.get("/orders").data

    assert row_ids(html) == [second.id, first.id]
    assert row_ids(other.client.get("/orders").data) == [theirs.id]


def test_no_orders_yet(client, auth, shopper):
    auth.login()
    assert b"No orders yet." in client.get("/orders").data


def test_order_page_shows_items_status_and_timeline(client, auth, shopper, admin):
    teapot = make_product("Teapot", price_cents=2500, stock=10)
    order = make_order(shopper, teapot, 2)
    change_status(order.id, "processing", admin.id, "Packed")
    auth.login()

    html = client.get(f"/orders/{order.id}").data

    assert f'data-order-id="{order.id}"'.encode() in html
    assert b"Teapot" in html and "€50.00".encode() in html
    assert order_status(html) == "Processing"
    assert timeline_steps(html) == ["Placed", "Processing"]
    assert b"Packed" in html


def test_each_timeline_shows_its_own_steps_in_order_when_they_interleave(client, auth, shopper, admin):
    order = make_order(shopper, make_product(stock=10))
    change_status(order.id, "processing", admin.id)
    payments.set_payment_status(order.id, "paid", admin.id)
    change_status(order.id, "shipped", admin.id, "Tracked parcel")
    payments.set_payment_status(order.id, "refunded", admin.id, "Goodwill")
    auth.login()

    html = client.get(f"/orders/{order.id}").data

    assert timeline_steps(html) == ["Placed", "Processing", "Shipped"]
    assert payment_steps(html) == ["Unpaid", "Paid", "Refunded"]
    assert b"Tracked parcel" in html and b"Goodwill" in html
    assert b"data-shipping-method" in html and b'data-payment="refunded"' in html


def test_an_order_placed_before_checkout_asked_where_to_deliver_says_so(client, auth, shopper):
    order = make_order(shopper, make_product(stock=10))
    db.session.execute(delete(OrderDelivery).where(OrderDelivery.order_id == order.id))
    db.session.commit()
    auth.login()

    html = client.get(f"/orders/{order.id}").data

    assert b"This order was placed before the shop asked where to deliver." in html
    assert b"data-shipping-method" not in html


def test_owner_cancels_from_the_order_page(client, auth, shopper):
    teapot = make_product(stock=5)
    order = make_order(shopper, teapot, 2)
    auth.login()

    response = client.post(f"/orders/{order.id}/cancel", follow_redirects=True)

    assert response.request.path == f"/orders/{order.id}"
    assert f"Order #{order.id} is cancelled.".encode() in response.data
    assert timeline_steps(response.data) == ["Placed", "Cancelled"]
    assert db.session.get(Order, order.id).status == "cancelled"
    assert stock_of(teapot) == 5


def test_cancel_after_processing_is_refused(client, auth, shopper, admin):
    teapot = make_product(stock=5)
    order = make_order(shopper, teapot, 2)
    change_status(order.id, "processing", admin.id)
    auth.login()

    response = client.post(f"/orders/{order.id}/cancel")

    assert response.status_code == 409
    assert b"can no longer be cancelled" in response.data
    assert db.session.get(Order, order.id).status == "processing"
    assert stock_of(teapot) == 3


def test_cancel_is_post_only(client, auth, shopper):
    order = make_order(shopper, make_product())
    auth.login()
    assert client.get(f"/orders/{order.id}/cancel").status_code == 405


def test_another_users_order_page_is_404(shopper, other):
    order = make_order(shopper, make_product())
    response = other.client.get(f"/orders/{order.id}")
    assert response.status_code == 404
    assert b"Teapot" not in response.data


def test_another_user_cannot_cancel_my_order(shopper, admin, other):
    teapot = make_product(stock=5)
    order = make_order(shopper, teapot, 2)
    notes_before = count(Notification)

    response = other.client.post(f"/orders/{order.id}/cancel")

    assert response.status_code == 404
    order = db.session.get(Order, order.id)
    assert order.status == "placed"
    assert len(order.events) == 1
    assert stock_of(teapot) == 3
    assert count(Notification) == notes_before


def test_a_missing_order_is_404(client, auth, shopper):
    auth.login()
    assert client.get("/orders/999").status_code == 404
    assert client.post("/orders/999/cancel").status_code == 404


@pytest.mark.parametrize("url", ["/orders", "/orders/1"])
def test_orders_need_a_login(client, app, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


# the order's own part of its page is kept while the order's version is unchanged ----------

kept_orders = pytest.mark.app_config(CACHE_TYPE="SimpleCache", ORDER_PAGE_KEEP_SECONDS=300)


def lines_or_steps_read(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM order_items" in s or "FROM order_events" in s]


def order_grid(html: bytes) -> bytes:
    return re.search(rb'<div class="order-grid">.*?</article>', html, re.S).group(0)


def tokens(html: bytes) -> set[bytes]:
    return set(re.findall(rb'name="(?:csrf_token|client_id)" value="([^"]+)"', html))


@kept_orders
def test_a_kept_order_part_is_shown_again_without_reading_the_lines_or_steps(client, auth, shopper, admin):
    order = make_order(shopper, make_product("Teapot", stock=10), 2)
    change_status(order.id, "processing", admin.id, "Packed")
    auth.login()
    first = client.get(f"/orders/{order.id}").data

    with statements_run() as run:
        again = client.get(f"/orders/{order.id}").data

    assert lines_or_steps_read(run) == []
    assert b"Teapot" in again and timeline_steps(again) == ["Placed", "Processing"]
    assert re.sub(rb'value="[0-9a-f]{32}"', b"", order_grid(again)) == re.sub(
        rb'value="[0-9a-f]{32}"', b"", order_grid(first)
    )  # all but the message form's new client id


@kept_orders
def test_a_status_and_a_payment_change_show_on_a_kept_order_page_at_once(client, auth, shopper, admin):
    order = make_order(shopper, make_product(stock=10))
    auth.login()
    client.get(f"/orders/{order.id}")

    change_status(order.id, "processing", admin.id, "Packed")  # as on another worker: no request here
    after_status = client.get(f"/orders/{order.id}").data
    payments.set_payment_status(order.id, "paid", admin.id)
    after_payment = client.get(f"/orders/{order.id}").data

    assert timeline_steps(after_status) == ["Placed", "Processing"] and b"Packed" in after_status
    assert order_status(after_status) == "Processing"
    assert payment_steps(after_payment) == ["Unpaid", "Paid"]
    assert b'data-payment="paid"' in after_payment


@kept_orders
def test_a_kept_order_part_is_no_way_into_someone_elses_order(client, auth, shopper, other):
    order = make_order(shopper, make_product(stock=10))
    auth.login()
    assert client.get(f"/orders/{order.id}").status_code == 200

    assert other.client.get(f"/orders/{order.id}").status_code == 404


@kept_orders
def test_a_kept_order_part_carries_nothing_of_the_session_that_rendered_it(app, client, auth, shopper):
    order = make_order(shopper, make_product(stock=10))
    auth.login()
    first = client.get(f"/orders/{order.id}").data
    second_browser = app.test_client()
    Auth(second_browser).login(email=shopper.email)

    again = second_browser.get(f"/orders/{order.id}").data

    assert tokens(again) and not tokens(again) & tokens(first)
    assert timeline_steps(again) == timeline_steps(first) == ["Placed"]
