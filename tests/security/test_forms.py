"""Forms and responses: CSRF on every state-changing POST, security headers on
every HTML page, and extra form fields that must be ignored."""

import io
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from shop.extensions import db
from shop.models import Address, CartItem, Order, Product, User
from testing.apps import build, get_rules, make_config, post_rules
from testing.data import PASSWORD, World, fill_cart, make_user, snapshot
from testing.images import photo
from testing.shopper import checkout_fields, checkout_form

CSRF_TOKEN = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')
# Routes whose URL answers GET too (a form page); every other POST route is POST-only.
FORM_PAGES = {
    "cart.checkout",
    "auth.login",
    "auth.register",
    "auth.password",
    "admin.product_new",
    "admin.product_edit",
    "admin.shipping_new",
    "admin.shipping_edit",
    "admin.categories",
    "admin.category_edit",
    "addresses.new",
    "addresses.edit",
    "auth.forgot",
    "auth.reset",
    "preferences.settings",
    "preferences.unsubscribe",
}
# The POSTs without a CSRF token: RFC 8058 one-click unsubscribe (a mail client posts
# with no cookie; the signed token in its URL authenticates it), and the service worker's
# report that it showed a push (it has no page to take a token from; the signed token
# the push carried authenticates it).
CSRF_EXEMPT = {"preferences.unsubscribe", "push.shown"}
KNOWN_POST_ENDPOINTS = {
    "auth.login",
    "auth.register",
    "auth.logout",
    "auth.password",
    "account.sign_out_session",
    "account.sign_out_everywhere",
    "cart.add",
    "cart.update",
    "cart.remove",
    "cart.checkout",
    "orders.cancel",
    "orders.send_message",
    "admin.order_message",
    "catalog.watch",
    "catalog.unwatch",
    "inbox.mark_read",
    "admin.order_status",
    "admin.product_new",
    "admin.product_edit",
    "admin.product_stock",
    "admin.order_payment",
    "admin.shipping_new",
    "admin.shipping_edit",
    "admin.product_photos",
    "admin.product_photo",
    "admin.product_photo_delete",
    "admin.categories",
    "admin.category_edit",
    "admin.category_delete",
    "addresses.new",
    "addresses.edit",
    "addresses.delete",
    "auth.forgot",
    "auth.reset",
    "preferences.settings",
    "preferences.unsubscribe",
    "push.subscribe",
    "push.unsubscribe",
    "push.shown",
}
ADDRESS_FORM = {
    "address-name": "Forged Name",
    "address-line1": "Forged Street 1",
    "address-postcode": "1015 CJ",
    "address-city": "Amsterdam",
    "address-country": "NL",
    "address-phone": "+31 20 123 4567",
}
SHIPPING_FORM = {"code": "forged", "name": "Forged", "price": "0.00", "min_days": "1", "max_days": "2"}
# A plausible body for each form, so that only the token can be what is refused.
FORM_DATA = {
    "auth.login": {"email": "admin@example.com", "password": PASSWORD},
    "auth.register": {"name": "Eve", "email": "eve@example.com", "password": PASSWORD, "confirm": PASSWORD},
    "auth.password": {"current": PASSWORD, "password": "a new password", "confirm": "a new password"},
    "auth.forgot": {"email": "alice@example.com"},
    "auth.reset": {"password": "a new password", "confirm": "a new password"},
    "preferences.settings": {"email-orders": "on"},
    "preferences.unsubscribe": {"List-Unsubscribe": "One-Click"},
    "push.subscribe": {"endpoint": "https://push.example.com/forged"},
    "push.unsubscribe": {"subscription": "1"},
    "account.sign_out_session": {"session_id": "forged-session-id"},
    "cart.add": {"quantity": "1"},
    "cart.update": {"quantity": "1"},
    "inbox.mark_read": {"up_to_seq": "99"},
    "admin.order_status": {"status": "processing", "note": "forged"},
    "admin.product_new": {"name": "Forged", "price": "1.00", "stock": "5", "low_stock_threshold": "1"},
    "admin.product_edit": {"name": "Forged", "price": "0.01", "low_stock_threshold": "1", "active": "y"},
    "admin.product_stock": {"stock": "0"},
    "admin.order_payment": {"payment-status": "paid", "payment-note": "forged"},
    "orders.send_message": {"body": "forged", "client_id": "forged-client-id"},
    "admin.order_message": {"body": "forged", "client_id": "forged-client-id"},
    "admin.shipping_new": {**SHIPPING_FORM, "position": "9", "active": "y"},
    "admin.shipping_edit": {**SHIPPING_FORM, "position": "0"},
    "admin.product_photos": {"photos": photo("PNG"), "alt": "forged"},  # bytes: sent as a file
    "admin.product_photo": {"alt": "forged", "move": "main"},
    "admin.categories": {"name": "Forged"},
    "admin.category_edit": {"name": "Forged"},
    "addresses.new": ADDRESS_FORM,
    "addresses.edit": ADDRESS_FORM,
    "cart.checkout": {"idempotency_key": "forged-key", **ADDRESS_FORM, "payment_method": "pay_on_delivery"},
}


def csrf_token(client, path="/") -> str:
    match = CSRF_TOKEN.search(client.get(path).data)
    assert match, f"no CSRF token on {path}"
    return match.group(1).decode()


def signed_in_admin(app):
    """An admin's browser, signed in through the real form, token and all."""
    client = app.test_client()
    token = csrf_token(client, "/auth/login")
    response = client.post(
        "/auth/login", data={"csrf_token": token, "email": "admin@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    return client


def test_every_post_route_is_known_to_this_suite(app):
    """A new POST route must get form data here, so the CSRF test covers it for real."""
    endpoints = {rule.endpoint for rule in post_rules(app)}
    assert endpoints == KNOWN_POST_ENDPOINTS
    formless = {
        "auth.logout",
        "account.sign_out_everywhere",
        "cart.remove",
        "orders.cancel",
        "catalog.watch",
        "catalog.unwatch",
        "addresses.delete",
        "admin.product_photo_delete",
        "admin.category_delete",
        "push.shown",  # JSON from the service worker
    }
    assert endpoints - formless == FORM_DATA.keys()


def form_body(endpoint: str) -> dict:
    """FORM_DATA of ``endpoint`` as the test client posts it (bytes as a file, new each time)."""
    return {
        name: (io.BytesIO(value), "photo.png") if isinstance(value, bytes) else value
        for name, value in FORM_DATA.get(endpoint, {}).items()
    }


@pytest.mark.parametrize("token", ["missing", "wrong", "another session's"])
def test_post_without_a_valid_csrf_token_is_400_and_changes_nothing(csrf_app, token):
    world = World()
    # The admin owns the order and the address for this test, so every route would act if the token passed.
    db.session.execute(db.update(Order).values(user_id=world.admin.id))
    db.session.execute(db.update(Address).values(user_id=world.admin.id))
    db.session.commit()
    browser = signed_in_admin(csrf_app)
    other_token = csrf_token(csrf_app.test_client(), "/auth/login")
    tokens = {"missing": None, "wrong": "x" * 40, "another session's": other_token}

    before = snapshot()
    for rule in post_rules(csrf_app):
        if rule.endpoint in CSRF_EXEMPT:
            continue
        data = form_body(rule.endpoint)
        if tokens[token] is not None:
            data["csrf_token"] = tokens[token]
        url = build(csrf_app, rule, world.ids)
        response = browser.post(url, data=data)
        assert response.status_code == 400, f"{url} answered {response.status_code}"
        assert b"CSRF" in response.data, url
        assert snapshot() == before, f"{url} changed the database"

    # The control: with the session's own token the same browser can act.
    own = csrf_token(browser, "/cart")
    response = browser.post(f"/cart/add/{world.product.id}", data={"csrf_token": own, "quantity": "1"})
    assert response.status_code == 302
    assert snapshot() != before


def test_get_on_a_post_only_route_is_405(app, world, client):
    client.post("/auth/login", data={"email": "admin@example.com", "password": PASSWORD})
    checked = []
    before = snapshot()
    for rule in post_rules(app):
        if rule.endpoint in FORM_PAGES:
            continue
        url = build(app, rule, world.ids)
        response = client.get(url)
        assert response.status_code == 405, f"GET {url} answered {response.status_code}"
        assert "POST" in response.headers["Allow"]
        checked.append(rule.endpoint)
    assert snapshot() == before
    assert len(checked) == len(KNOWN_POST_ENDPOINTS - FORM_PAGES)


# -- security headers ------------------------------------------------------------


def assert_security_headers(response, where: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives.get("script-src") == ["'self'"], f"{where}: {csp}"
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, where
    assert directives.get("frame-ancestors") == ["'none'"], where
    assert directives.get("object-src") == ["'none'"], where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in {"same-origin", "strict-origin-when-cross-origin", "no-referrer"}
    assert headers.get("X-Frame-Options") == "DENY", where


class ScriptFinder(HTMLParser):
    """Collects what a CSP of script-src 'self' would block: inline scripts,
    event-handler attributes and javascript: URLs."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:...>")


def assert_no_inline_script(body: bytes, where: str) -> None:
    finder = ScriptFinder()
    finder.feed(body.decode("utf-8", "replace"))
    finder.close()
    assert finder.found == [], f"{where}: {finder.found}"


def html_pages(app, world, client):
    """Every GET page, with the ids filled in, followed to its final response."""
    for rule in get_rules(app):
        url = build(app, rule, world.ids)
        yield url, client.get(url)


@pytest.mark.parametrize("who", ["anonymous", "alice", "bob", "admin"])
def test_every_html_response_carries_the_security_headers(app, world, client, who):
    if who != "anonymous":
        client.post("/auth/login", data={"email": f"{who}@example.com", "password": PASSWORD})
    seen_statuses = set()
    for url, response in html_pages(app, world, client):
        seen_statuses.add(response.status_code)
        if response.mimetype == "text/html":
            assert_security_headers(response, f"{who} GET {url}")
            assert_no_inline_script(response.data, f"{who} GET {url}")
    extra = {
        "404": client.get("/no/such/page"),
        "405": client.get("/cart/remove/1"),
        "order 404": client.get("/orders/999999"),
        "product 404": client.get("/products/999999"),
    }
    for name, response in extra.items():
        assert response.mimetype == "text/html", name
        assert_security_headers(response, f"{who} {name}")
        seen_statuses.add(response.status_code)
    assert 200 in seen_statuses and 404 in seen_statuses


def test_pages_after_a_post_and_error_pages_carry_the_headers(csrf_app):
    make_user()
    client = csrf_app.test_client()
    responses = {
        "csrf 400": client.post("/auth/logout"),
        "failed login": client.post(
            "/auth/login",
            data={"csrf_token": csrf_token(client, "/auth/login"), "email": "x@example.com", "password": "y"},
        ),
        "static css": client.get("/static/css/shop.css"),
        "healthz": client.get("/healthz"),
    }
    for name, response in responses.items():
        assert response.headers.get("X-Content-Type-Options") == "nosniff", name
        if response.mimetype == "text/html":
            assert_security_headers(response, name)


def test_a_500_page_carries_the_headers():
    from shop import create_app

    app = create_app(make_config())

    @app.route("/boom")
    def boom():
        raise RuntimeError("an unexpected bug")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert b"an unexpected bug" not in response.data
    assert_security_headers(response, "500")


def test_the_live_server_sends_the_headers_too(live_server):
    import requests

    for path in ("/", "/auth/login", "/products/1", "/nowhere"):
        response = requests.get(live_server.url + path, timeout=10)
        assert_security_headers(response, f"live {path}")


# -- extra form fields are ignored ---------------------------------------------------

FORGED = {
    "price": "0",
    "price_cents": "0",
    "unit_price_cents": "1",
    "user_id": None,  # filled with the victim's id
    "status": "paid",
    "total": "1",
    "total_cents": "1",
    "shipping_cents": "0",
    "items_cents": "1",
    "payment_status": "paid",
    "is_admin": "1",
    "stock": "0",
}


def forged_fields(world) -> dict:
    return {**FORGED, "user_id": str(world.bob.id)}


def test_cart_and_checkout_ignore_extra_fields(app, world, client):
    client.post("/auth/login", data={"email": "alice@example.com", "password": PASSWORD})
    extra = forged_fields(world)

    assert client.post(f"/cart/add/{world.product.id}", data={"quantity": "3", **extra}).status_code == 302
    assert client.post(f"/cart/update/{world.product.id}", data={"quantity": "2", **extra}).status_code == 302
    form = checkout_fields(client.get("/checkout").data)
    response = client.post("/checkout", data={**form, **extra})
    assert response.status_code == 302

    db.session.rollback()
    order = db.session.scalars(select(Order).order_by(Order.id.desc())).first()
    assert order.user_id == world.alice.id
    assert (order.status, order.payment_status) == ("placed", "unpaid")
    assert order.total_cents == 2 * world.product.price_cents  # and free standard shipping
    lines = [(item.unit_price_cents, item.quantity) for item in order.items]
    assert lines == [(world.product.price_cents, 2)]
    assert db.session.get(Product, world.product.id).stock == 10 - 2 - 2  # world's order took 2
    assert db.session.scalars(select(CartItem).where(CartItem.user_id == world.bob.id)).all() == []


def test_account_forms_ignore_extra_fields(app, client):
    response = client.post(
        "/auth/register",
        data={
            "name": "Eve",
            "email": "eve@example.com",
            "password": PASSWORD,
            "confirm": PASSWORD,
            **FORGED,
            "user_id": "1",
            "id": "1",
            "last_seq": "5",
        },
    )
    assert response.status_code == 302
    eve = db.session.scalar(select(User).where(User.email == "eve@example.com"))
    assert eve.is_admin is False
    assert eve.last_seq == 0
    assert client.get("/admin/orders").status_code == 403


def test_admin_forms_ignore_extra_fields(app, world, client):
    client.post("/auth/login", data={"email": "admin@example.com", "password": PASSWORD})
    product, order = world.product, world.order
    before_price, before_total = product.price_cents, order.total_cents

    client.post(f"/admin/products/{product.id}/stock", data={"stock": "7", "price": "0", "active": ""})
    client.post(
        f"/admin/orders/{order.id}/status",
        data={"status": "processing", "total_cents": "1", "user_id": str(world.bob.id)},
    )

    db.session.rollback()
    product, order = db.session.get(Product, product.id), db.session.get(Order, order.id)
    assert (product.stock, product.price_cents, product.active) == (7, before_price, True)
    assert (order.status, order.total_cents, order.user_id) == ("processing", before_total, world.alice.id)


def test_order_totals_are_computed_on_the_server_at_checkout(app, world, client):
    """A price change after the cart page was shown is refused, never charged
    from a stale form; the fresh page's form then pays the new price, whatever
    total is posted beside it."""
    client.post("/auth/login", data={"email": "alice@example.com", "password": PASSWORD})
    client.post(f"/cart/add/{world.product.id}", data={"quantity": "1"})
    stale = checkout_fields(client.get("/checkout").data)
    db.session.execute(db.update(Product).where(Product.id == world.product.id).values(price_cents=999))
    db.session.commit()

    refused = client.post("/checkout", data={**stale, "total": "2500", "shipping_cents": "0"})
    assert refused.status_code == 409
    assert db.session.scalars(select(Order.id)).all() == [world.order.id]

    client.post("/checkout", data={**checkout_form(refused.data), "total": "2500", "shipping_cents": "0"})

    db.session.rollback()
    order = db.session.scalars(select(Order).order_by(Order.id.desc())).first()
    assert order.id != world.order.id
    assert (order.items_cents, order.shipping_cents, order.total_cents) == (999, 490, 999 + 490)


def test_each_session_gets_its_own_token_on_every_page(csrf_app):
    """Every form of a browser's pages carries a token of its own session (the frame's is
    signed once per session's secret); another browser's never works here."""
    world = World()
    first, second = signed_in_admin(csrf_app), signed_in_admin(csrf_app)
    fill_cart(world.admin, world.product)
    products = [f"/products/{product.id}" for product in (world.product, world.sold_out)]
    pages = ["/", "/cart", *products, "/orders", "/account"]
    mine = {token.decode() for path in pages for token in CSRF_TOKEN.findall(first.get(path).data)}
    theirs = csrf_token(second, "/cart")

    assert mine and theirs not in mine
    refused = first.post(f"/cart/add/{world.product.id}", data={"csrf_token": theirs, "quantity": "1"})
    assert refused.status_code == 400
    for browser, token in [(first, token) for token in mine] + [(second, theirs)]:
        added = browser.post(f"/cart/add/{world.product.id}", data={"csrf_token": token, "quantity": "1"})
        assert added.status_code == 302
    in_cart = select(func.sum(CartItem.quantity)).where(CartItem.user_id == world.admin.id)
    assert db.session.scalar(in_cart) == 2 + len(mine)
