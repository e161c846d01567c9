"""Authorization over HTTP: another user's orders and notifications are 404,
the admin area is 403 for shoppers (login for visitors), and nothing changes."""

import re

import pytest
from sqlalchemy import select

from shop.extensions import db
from shop.models import CartItem, Notification
from shop.services import messages, orders
from shop.services.messages import Reader
from testing.apps import build
from testing.data import PASSWORD, fill_cart, snapshot

OWNER_ONLY_GET = ["/orders/{order_id}"]


def login(client, who: str) -> None:
    response = client.post("/auth/login", data={"email": f"{who}@example.com", "password": PASSWORD})
    assert response.status_code == 302


@pytest.fixture
def alice_has_news(world):
    """Alice's order moved along (she has notifications) and her cart holds the product."""
    orders.change_status(world.order.id, "processing", world.admin.id, "Packing")
    fill_cart(world.alice, world.product, 1)
    return world


def test_another_users_order_is_404_and_cannot_be_cancelled(app, alice_has_news, client):
    world = alice_has_news
    login(client, "bob")
    before = snapshot()

    assert client.get(f"/orders/{world.order.id}").status_code == 404
    assert client.post(f"/orders/{world.order.id}/cancel").status_code == 404
    listing = client.get("/orders").data
    assert f'data-order-id="{world.order.id}"'.encode() not in listing
    assert snapshot() == before
    # the control: Alice herself sees it
    client.post("/auth/logout")
    login(client, "alice")
    assert client.get(f"/orders/{world.order.id}").status_code == 200


def test_another_users_order_thread_is_404_and_stores_nothing(app, world, client):
    """Bob can neither write in Alice's thread nor read it; an admin's route is 403 to him."""
    messages.send_message(Reader.of(world.alice), world.order.id, "Before Friday?", "alice-1", 20)
    login(client, "bob")
    before = snapshot()

    page = client.get(f"/orders/{world.order.id}")
    sent = client.post(f"/orders/{world.order.id}/messages", data={"body": "Hi", "client_id": "bob-1"})
    as_shop = client.post(
        f"/admin/orders/{world.order.id}/messages", data={"body": "Hi", "client_id": "bob-2"}
    )

    assert (page.status_code, sent.status_code, as_shop.status_code) == (404, 404, 403)
    assert b"Before Friday?" not in page.data + sent.data + as_shop.data
    assert snapshot() == before


def test_a_missing_order_and_someone_elses_answer_alike(app, world, client):
    login(client, "bob")
    client.get("/")  # shows the welcome flash
    theirs = client.get(f"/orders/{world.order.id}")
    missing = client.get("/orders/999999")
    assert theirs.status_code == missing.status_code == 404
    without_token = re.compile(rb'name="csrf_token" value="[^"]*"')
    assert without_token.sub(b"", theirs.data) == without_token.sub(b"", missing.data)


def test_another_users_notifications_are_neither_shown_nor_marked_read(app, alice_has_news, client):
    world = alice_has_news
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == world.alice.id)).all()
    login(client, "bob")
    before = snapshot()

    inbox = client.get("/notifications").data
    assert note.title.encode() not in inbox
    client.post("/notifications/read", data={"up_to_seq": "999", "user_id": str(world.alice.id)})

    db.session.rollback()
    assert db.session.get(Notification, note.id).read is False
    assert snapshot()["notifications"] == before["notifications"]


def test_cart_routes_act_on_the_own_cart_only(app, alice_has_news, client):
    world = alice_has_news
    login(client, "bob")
    alice_cart = snapshot()["cart_items"]

    client.post(f"/cart/update/{world.product.id}", data={"quantity": "5", "user_id": str(world.alice.id)})
    client.post(f"/cart/remove/{world.product.id}", data={"user_id": str(world.alice.id)})

    assert snapshot()["cart_items"] == alice_cart
    db.session.rollback()
    assert db.session.scalars(select(CartItem).where(CartItem.user_id == world.bob.id)).all() == []


def admin_requests(app, world):
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if not rule.endpoint.startswith("admin."):
            continue
        url = build(app, rule, world.ids)
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield method, url


def test_every_admin_route_is_403_for_a_shopper(app, world, client):
    login(client, "alice")
    before = snapshot()
    tried = list(admin_requests(app, world))
    for method, url in tried:
        response = client.open(url, method=method, data={"status": "cancelled", "stock": "0", "name": "x"})
        assert response.status_code == 403, f"{method} {url} answered {response.status_code}"
    assert snapshot() == before
    assert len(tried) >= 9


def test_every_admin_route_sends_a_visitor_to_login(app, world, client):
    before = snapshot()
    for method, url in admin_requests(app, world):
        response = client.open(url, method=method, data={"status": "cancelled", "stock": "0"})
        assert response.status_code == 302, f"{method} {url} answered {response.status_code}"
        assert response.headers["Location"].startswith("/auth/login"), url
    assert snapshot() == before


def test_owner_pages_send_a_visitor_to_login(app, world, client):
    before = snapshot()
    for method, url in [
        ("GET", "/orders"),
        ("GET", f"/orders/{world.order.id}"),
        ("POST", f"/orders/{world.order.id}/cancel"),
        ("POST", f"/orders/{world.order.id}/messages"),
        ("GET", "/notifications"),
        ("POST", "/notifications/read"),
        ("GET", "/checkout"),
        ("POST", "/checkout"),
        ("GET", "/account/addresses/new"),
        ("POST", "/account/addresses/new"),
        ("GET", f"/account/addresses/{world.address.id}/edit"),
        ("POST", f"/account/addresses/{world.address.id}/edit"),
        ("POST", f"/account/addresses/{world.address.id}/delete"),
        ("POST", f"/products/{world.sold_out.id}/watch"),
        ("GET", "/auth/password"),
        ("GET", "/account"),
        ("POST", "/account/sessions/sign-out"),
        ("POST", "/account/sessions/sign-out-everywhere"),
    ]:
        response = client.open(url, method=method, data={"quantity": "1"})
        assert response.status_code == 302, f"{method} {url} answered {response.status_code}"
        assert response.headers["Location"].startswith("/auth/login"), url
    assert snapshot() == before
