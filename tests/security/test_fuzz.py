"""Fuzzed form fields on every form: never a 500, and whatever comes back is
escaped (no injected tag, event handler or script survives into a page)."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop.extensions import db
from shop.services import accounts
from testing.apps import post_rules
from testing.data import World
from testing.shopper import checkout_fields
from tests.security.test_forms import assert_no_inline_script, form_body

XSS = [
    '<script>alert("xss")</script>',
    '"><img src=x onerror=alert(1)>',
    "'><svg/onload=alert(1)>",
    '" autofocus onfocus="alert(1)',
    "javascript:alert(1)",
    "</textarea><script src=//evil.example/x.js></script>",
    "<iframe src=//evil.example>",
    "{{ 7 * 7 }}{% raw %}",
]
SQL = [
    "' OR '1'='1",
    "1; DROP TABLE users; --",
    "%' UNION SELECT password_hash FROM users --",
    "\\",
    "%",
    "_",
]
NUMBERS = [
    "0",
    "-1",
    "1.5",
    "1e400",
    "NaN",
    "-inf",
    "Infinity",
    "sNaN",
    "99999999999999999999999",
    "-99999999999999999999999",
    "0x10",
    "１２",  # full-width digits
    "٣",  # Arabic-Indic three
    " 7 ",
    "",
]
CONTROL = st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp"]), max_size=20)
SCALAR = st.one_of(
    st.text(max_size=300),
    CONTROL,
    st.sampled_from(XSS + SQL + NUMBERS),
    st.integers(1, 6).map(lambda power: "A" * 10**power),
    st.builds(lambda a, b: a + b, st.sampled_from(XSS), CONTROL),
)
# A field is left out, sent once, or sent several times (a list where a value is expected).
FIELD = st.one_of(st.none(), SCALAR, st.lists(SCALAR, min_size=2, max_size=3))

ADDRESS_FIELDS = [
    f"address-{name}" for name in ("name", "line1", "line2", "postcode", "city", "country", "phone")
]
SHIPPING_FIELDS = ["code", "name", "price", "free_from", "min_days", "max_days", "position", "active"]
# Every form, with the fields it has, and who submits it.
POST_FORMS = {
    "auth.login": ("anonymous", "/auth/login", ["email", "password"]),
    "auth.register": ("anonymous", "/auth/register", ["name", "email", "password", "confirm"]),
    "auth.password": ("alice", "/auth/password", ["current", "password", "confirm"]),
    "auth.logout": ("anonymous", "/auth/logout", []),
    "account.sign_out_session": ("alice", "/account/sessions/sign-out", ["session_id"]),
    "account.sign_out_everywhere": ("bob", "/account/sessions/sign-out-everywhere", []),
    "cart.add": ("alice", "/cart/add/{product_id}", ["quantity"]),
    "cart.update": ("alice", "/cart/update/{product_id}", ["quantity"]),
    "cart.remove": ("alice", "/cart/remove/{product_id}", []),
    "cart.checkout": (
        "alice",
        "/checkout",
        [
            "idempotency_key",
            "shown_lines-0-product_id",
            "shown_lines-0-quantity",
            "shown_lines-0-unit_price_cents",
            "shown_items_cents",
            "shown_shipping-0-code",
            "shown_shipping-0-cost_cents",
            "shown_shipping-0-total_cents",
            "shipping_method",
            "payment_method",
            "address_id",
            *ADDRESS_FIELDS,
            "save_address",
        ],
    ),
    "orders.cancel": ("bob", "/orders/{order_id}/cancel", []),
    "orders.send_message": ("alice", "/orders/{order_id}/messages", ["body", "client_id"]),
    "admin.order_message": ("admin", "/admin/orders/{order_id}/messages", ["body", "client_id"]),
    "catalog.watch": ("alice", "/products/{sold_out_id}/watch", []),
    "catalog.unwatch": ("alice", "/products/{sold_out_id}/unwatch", []),
    "inbox.mark_read": ("alice", "/notifications/read", ["up_to_seq"]),
    "admin.order_status": ("admin", "/admin/orders/{order_id}/status", ["status", "note", "ship_unpaid"]),
    "admin.order_payment": ("admin", "/admin/orders/{order_id}/payment", ["payment-status", "payment-note"]),
    "admin.shipping_new": ("admin", "/admin/shipping/new", SHIPPING_FIELDS),
    "admin.shipping_edit": ("admin", "/admin/shipping/{method_id}/edit", SHIPPING_FIELDS),
    "addresses.new": ("alice", "/account/addresses/new", ADDRESS_FIELDS),
    "addresses.edit": ("alice", "/account/addresses/{address_id}/edit", ADDRESS_FIELDS),
    "addresses.delete": ("bob", "/account/addresses/{address_id}/delete", []),
    "auth.forgot": ("anonymous", "/auth/forgot", ["email"]),
    "auth.reset": ("anonymous", "/auth/reset/{token}", ["password", "confirm"]),
    "preferences.settings": ("alice", "/account/notifications", ["email-orders", "email-back_in_stock"]),
    "preferences.unsubscribe": ("anonymous", "/unsubscribe/{token}", ["List-Unsubscribe"]),
    "push.subscribe": ("alice", "/push/subscriptions", ["endpoint", "keys"]),
    "push.unsubscribe": ("alice", "/push/subscriptions/delete", ["subscription", "endpoint"]),
    "push.shown": ("anonymous", "/push/shown", ["token"]),
    "admin.product_stock": ("admin", "/admin/products/{product_id}/stock", ["stock", "back"]),
    "admin.product_new": (
        "admin",
        "/admin/products/new",
        ["name", "description", "price", "stock", "low_stock_threshold", "active", "categories"],
    ),
    "admin.product_edit": (
        "admin",
        "/admin/products/{product_id}/edit",
        ["name", "description", "price", "low_stock_threshold", "active", "categories"],
    ),
    "admin.product_photos": ("admin", "/admin/products/{product_id}/photos", ["photos", "alt"]),
    "admin.product_photo": ("admin", "/admin/products/{product_id}/photos/{photo_id}", ["alt", "move"]),
    "admin.product_photo_delete": ("admin", "/admin/products/{product_id}/photos/{photo_id}/delete", []),
    "admin.categories": ("admin", "/admin/categories", ["name"]),
    "admin.category_edit": ("admin", "/admin/categories/{category_id}/edit", ["name"]),
    "admin.category_delete": ("admin", "/admin/categories/{category_id}/delete", []),
}
GET_FORMS = [
    ("anonymous", "/", ["q", "category", "in_stock", "sort", "page"]),
    ("anonymous", "/auth/login", ["next"]),
    ("alice", "/orders", ["page"]),
    ("admin", "/admin/orders", ["status", "payment", "page"]),
    ("admin", "/admin/products", ["q", "page"]),
    ("admin", "/admin/conversations", ["page"]),
]
# Pages that show what the forms stored.
SHOWCASES = [
    ("anonymous", "/"),
    ("admin", "/admin/products"),
    ("admin", "/notifications"),
    ("alice", "/cart"),
    ("alice", "/checkout"),
    ("alice", "/account"),
    ("alice", "/orders/{order_id}"),
    ("admin", "/admin/orders/{order_id}"),
    ("admin", "/admin/shipping"),
    ("admin", "/admin/categories"),
    ("admin", "/admin/products/{product_id}/edit"),
    ("anonymous", "/products/{product_id}"),
    ("admin", "/admin/conversations"),
]
FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def app(db_app):
    """Every test here on SQLite and on PostgreSQL, which refuses what SQLite stores (NUL)."""
    return db_app


class Browsers:
    def __init__(self, app, world: World):
        self.app = app
        self.world = world
        self.values = {**world.ids, "sold_out_id": world.sold_out.id}
        self.clients = {"anonymous": app.test_client()}
        for name, user in (("alice", world.alice), ("bob", world.bob), ("admin", world.admin)):
            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = accounts.start_session(user.id)
                session["_fresh"] = True
            self.clients[name] = client

    def check(self, response, where: str) -> None:
        assert response.status_code < 500, f"{where} answered {response.status_code}"
        if response.mimetype == "text/html":
            assert_no_inline_script(response.data, where)
        db.session.rollback()


@pytest.fixture
def browsers(app, world) -> Browsers:
    return Browsers(app, world)


def form_data(fields: list[str], values: list) -> dict:
    return {name: value for name, value in zip(fields, values, strict=True) if value is not None}


def test_every_post_form_is_fuzzed(app):
    assert {rule.endpoint for rule in post_rules(app)} == POST_FORMS.keys()


NASTY = [
    *XSS,
    *SQL,
    *NUMBERS,
    "\x00",
    "a\x00b",
    "\x1b[31m",
    "\u202e",
    "\ud800".encode("utf-8", "surrogatepass"),
    "A" * 100_000,
]


@pytest.mark.parametrize("endpoint", sorted(POST_FORMS))
def test_every_post_field_survives_every_nasty_value(browsers, endpoint):
    """Each field in turn gets each nasty value, the other fields plausible ones."""
    who, path, fields = POST_FORMS[endpoint]
    url = path.format(**browsers.values)
    for field in fields:
        for value in NASTY:
            data = {**form_body(endpoint), field: value}
            client = browsers.app.test_client() if who == "anonymous" else browsers.clients[who]
            browsers.check(client.post(url, data=data), f"{who} POST {url} {field}={value!r:.80}")


@pytest.mark.parametrize(("who", "path", "fields"), GET_FORMS, ids=[path for _, path, _ in GET_FORMS])
def test_every_query_argument_survives_every_nasty_value(browsers, who, path, fields):
    for field in fields:
        for value in NASTY:
            response = browsers.clients[who].get(path, query_string={field: value})
            browsers.check(response, f"{who} GET {path} {field}={value!r:.80}")


@pytest.mark.parametrize("endpoint", sorted(POST_FORMS))
def test_fuzzed_post_forms_never_fail_and_echo_only_escaped_text(browsers, endpoint):
    who, path, fields = POST_FORMS[endpoint]
    url = path.format(**browsers.values)

    @FUZZ
    @given(values=st.lists(FIELD, min_size=len(fields), max_size=len(fields)), extra=SCALAR)
    def submit(values, extra):
        data = {**form_data(fields, values), "extra_field": extra}
        browsers.check(browsers.clients[who].post(url, data=data), f"{who} POST {url} {data!r:.300}")

    submit()
    for viewer, page in SHOWCASES:
        page = page.format(**browsers.values)
        browsers.check(browsers.clients[viewer].get(page), f"{viewer} GET {page} after {endpoint}")


@pytest.mark.parametrize(("who", "path", "fields"), GET_FORMS, ids=[path for _, path, _ in GET_FORMS])
def test_fuzzed_query_strings_never_fail_and_echo_only_escaped_text(browsers, who, path, fields):
    @FUZZ
    @given(values=st.lists(FIELD, min_size=len(fields), max_size=len(fields)))
    def visit(values):
        query = form_data(fields, values)
        browsers.check(
            browsers.clients[who].get(path, query_string=query), f"{who} GET {path} {query!r:.300}"
        )

    visit()


def test_stored_markup_is_shown_escaped_everywhere(browsers):
    """A product named with markup, bought and run low: the catalogue, product,
    cart, order, admin and inbox pages all show it as text."""
    admin, alice = browsers.clients["admin"], browsers.clients["alice"]
    name = "<img src=x onerror=alert(1)>\"'&"
    admin.post(
        "/admin/products/new",
        data={
            "name": name,
            "description": XSS[0],
            "price": "1.00",
            "stock": "2",
            "low_stock_threshold": "1",
            "active": "y",
        },
    )
    product_id = max(map(int, re.findall(rb'data-product-id="(\d+)"', admin.get("/admin/products").data)))
    alice.post(f"/cart/add/{product_id}", data={"quantity": "1"})
    form = checkout_fields(alice.get("/checkout").data, **{"address-name": name, "address_id": "new"})
    placed = alice.post("/checkout", data=form)
    assert placed.status_code == 302, placed.status_code
    order_path = placed.headers["Location"]
    pages = [
        ("alice", order_path),
        ("alice", "/account"),
        ("alice", "/checkout"),
        ("admin", f"/admin{order_path}"),
        ("anonymous", "/"),
        ("anonymous", f"/products/{product_id}"),
        ("anonymous", "/?q=%3Cimg"),
        ("alice", "/orders"),
        ("admin", "/admin/orders"),
        ("admin", "/admin/products"),
        ("admin", f"/admin/products/{product_id}/edit"),
        ("admin", "/notifications"),
    ]
    for who, page in pages:
        response = browsers.clients[who].get(page)
        browsers.check(response, f"{who} GET {page}")
        assert b"<img src=x" not in response.data, page
    escaped = b"&lt;img src=x onerror=alert(1)&gt;"
    assert escaped in browsers.clients["anonymous"].get(f"/products/{product_id}").data
