"""The push routes: the service worker, subscribing this browser (CSRF, owner, bad input
answered with a clear error), the device list, logout, and the shown report."""

import re

import pytest

from shop.extensions import db
from shop.models import PushSubscription
from shop.services import push
from testing.apps import make_config
from testing.data import PASSWORD, count, make_user
from testing.shopper import session_token

CSRF_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def signed_in(app, email="alice@example.com"):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.data
    return client


def subscribe(client, device, **headers):
    return client.post("/push/subscriptions", json=device.subscription(), headers=headers)


def test_the_service_worker_is_served_at_the_root_as_javascript(push_app):
    response = push_app.test_client().get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert b'addEventListener("push"' in response.data
    assert b'addEventListener("notificationclick"' in response.data


def test_a_browser_subscribes_and_its_device_is_listed(push_app, service):
    alice = make_user("alice@example.com", "Alice")
    client = signed_in(push_app)
    device = service.new_device()
    response = subscribe(client, device, **{"User-Agent": "Mozilla/5.0 (Android 15) Chrome/140.0 Mobile"})
    assert response.status_code == 201
    assert response.json["ok"] is True
    assert response.json["subscription"]["device"] == "Chrome on Android"
    [row] = db.session.query(PushSubscription).all()
    assert (row.user_id, row.login_token, row.endpoint) == (alice.id, session_token(client), device.endpoint)
    assert subscribe(client, device).status_code == 201  # again: still one row
    assert count(PushSubscription) == 1
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "this browser" in page and f'name="subscription" value="{row.id}"' in page
    assert 'name="push-orders"' in page and push_app.config["VAPID_PUBLIC_KEY"] in page


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (None, "invalid_input"),
        ([], "invalid_input"),
        ({"endpoint": "https://push.example.com/x"}, "invalid_input"),
        ({"endpoint": 5, "keys": {"p256dh": "a", "auth": "b"}}, "invalid_input"),
        (
            {
                "endpoint": "https://push.example.com/x",
                "keys": {"p256dh": "not-a-key", "auth": "AAAAAAAAAAAAAAAAAAAAAA"},
            },
            "invalid_input",
        ),
        ({"endpoint": "ftp://push.example.com/x", "keys": {"p256dh": "x", "auth": "y"}}, "invalid_input"),
    ],
)
def test_bad_subscriptions_get_a_clear_error(push_app, body, code):
    make_user("alice@example.com", "Alice")
    client = signed_in(push_app)
    response = client.post("/push/subscriptions", json=body)
    assert response.status_code == 400
    assert response.json["ok"] is False and response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    assert count(PushSubscription) == 0


def test_bad_keys_are_refused(push_app, service):
    make_user("alice@example.com", "Alice")
    client = signed_in(push_app)
    good = service.new_device().subscription()
    short_auth = {**good, "keys": {**good["keys"], "auth": "AAAA"}}
    off_curve = {**good, "keys": {**good["keys"], "p256dh": "BA" + "A" * 85}}
    for body in (short_auth, off_curve):
        response = client.post("/push/subscriptions", json=body)
        assert response.status_code == 400 and response.json["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://push.example.com/x",
        "https://127.0.0.1/x",
        "https://10.0.0.5/x",
        "https://localhost/x",
        "https://redis/x",
    ],
)
def test_a_production_shop_takes_only_public_https_endpoints(vapid, endpoint):
    from shop import create_app

    app = create_app(make_config(**vapid, PUSH_ALLOW_LOCAL_ENDPOINTS=False))
    with app.test_request_context(), pytest.raises(push.InvalidInput):
        push.parse_subscription({"endpoint": endpoint, "keys": {"p256dh": "x", "auth": "y"}})


def test_anonymous_gets_401_and_nothing_is_stored(push_app, service):
    response = subscribe(push_app.test_client(), service.new_device())
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    assert count(PushSubscription) == 0


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_subscribing_needs_the_csrf_token(push_app, service):
    make_user("alice@example.com", "Alice")
    client = push_app.test_client()
    token = CSRF_TOKEN.search(client.get("/auth/login").get_data(as_text=True)).group(1)
    client.post("/auth/login", data={"email": "alice@example.com", "password": PASSWORD, "csrf_token": token})
    device = service.new_device()
    refused = subscribe(client, device)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf"
    assert count(PushSubscription) == 0
    token = CSRF_TOKEN.search(client.get("/account/notifications").get_data(as_text=True)).group(1)
    assert subscribe(client, device, **{"X-CSRFToken": token}).status_code == 201
    refused = client.post("/push/subscriptions/delete", json={"endpoint": device.endpoint})
    assert refused.status_code == 400 and count(PushSubscription) == 1


def test_only_the_owner_can_turn_a_device_off(push_app, service):
    make_user("alice@example.com", "Alice")
    make_user("bob@example.com", "Bob")
    alice, bob = signed_in(push_app), signed_in(push_app, "bob@example.com")
    device = service.new_device()
    subscribe(alice, device)
    [row] = db.session.query(PushSubscription).all()
    response = bob.post("/push/subscriptions/delete", json={"endpoint": device.endpoint})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    response = bob.post("/push/subscriptions/delete", data={"subscription": str(row.id)})
    assert response.status_code == 303 and count(PushSubscription) == 1
    response = alice.post("/push/subscriptions/delete", data={"subscription": "x1"})
    assert response.status_code == 303 and count(PushSubscription) == 1
    response = alice.post(
        "/push/subscriptions/delete", data={"subscription": str(row.id)}, follow_redirects=True
    )
    assert "Notifications are off on that device." in response.get_data(as_text=True)
    assert count(PushSubscription) == 0


def test_this_browser_turns_itself_off_by_its_endpoint(push_app, service):
    make_user("alice@example.com", "Alice")
    client = signed_in(push_app)
    device = service.new_device()
    subscribe(client, device)
    assert client.post("/push/subscriptions/delete", json={"endpoint": device.endpoint}).json == {"ok": True}
    assert count(PushSubscription) == 0
    response = client.post("/push/subscriptions/delete", json={"nothing": 1})
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_input"


def test_logging_out_deletes_that_browsers_subscriptions_only(push_app, service):
    make_user("alice@example.com", "Alice")
    phone, laptop = signed_in(push_app), signed_in(push_app)
    subscribe(phone, service.new_device())
    kept = service.new_device()
    subscribe(laptop, kept)
    phone.post("/auth/logout")
    [row] = db.session.query(PushSubscription).all()
    assert row.endpoint == kept.endpoint


def test_the_shown_report_needs_the_pushs_own_token(push_app):
    client = push_app.test_client()
    for body in (None, {"token": 5}, {"token": "forged"}):
        response = client.post("/push/shown", json=body)
        assert response.status_code in (400, 404) and response.json["ok"] is False


def production(**settings):
    from config import ProductionConfig

    return type("Production", (ProductionConfig,), {"SECRET_KEY": "x", **settings})


def test_production_has_no_push_without_the_vapid_settings_and_generates_none(vapid):
    off = production(VAPID_PRIVATE_KEY=None, VAPID_PUBLIC_KEY=None, VAPID_SUBJECT=None)
    off.check()
    assert off.PUSH_ENABLED is False and off.VAPID_PRIVATE_KEY is None
    on = production(**vapid)
    on.check()
    assert on.PUSH_ENABLED is True


def test_production_refuses_half_or_mismatched_vapid_settings(vapid):
    from config import new_vapid_private_key

    with pytest.raises(RuntimeError, match="all of"):
        production(**{**vapid, "VAPID_SUBJECT": None}).check()
    with pytest.raises(RuntimeError, match="not the public key"):
        production(**{**vapid, "VAPID_PRIVATE_KEY": new_vapid_private_key()}).check()


def test_an_order_page_offers_push_after_the_first_order_only(push_app, service):
    from testing.data import make_order, make_product

    alice = make_user("alice@example.com", "Alice")
    client = signed_in(push_app)
    first = make_order(alice, make_product(stock=10), key="first")
    assert "data-push-offer" in client.get(f"/orders/{first.id}").get_data(as_text=True)
    subscribe(client, service.new_device())
    assert "data-push-offer" not in client.get(f"/orders/{first.id}").get_data(as_text=True)
    db.session.query(PushSubscription).delete()
    db.session.commit()
    second = make_order(alice, make_product("Cup", stock=10), key="second")
    assert "data-push-offer" not in client.get(f"/orders/{second.id}").get_data(as_text=True)
