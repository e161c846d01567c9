"""HTTP as a browser speaks it: ``Shopper`` on a live server (cookies, CSRF
tokens, the forms its pages show), ``Auth`` on the Flask test client, and what
pages show that tests read back (the checkout form, the order rows)."""

import html
import re
from urllib.parse import urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient

from shop.seed import DEMO_ADMIN, DEMO_SHOPPER
from testing.checkout import ADDRESS_FORM
from testing.data import PASSWORD, unique_email
from testing.sockets import LiveSocket

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
CHECKOUT_FORM = re.compile(r"<form[^>]*\bdata-checkout-form\b[^>]*>(.*?)</form>", re.S)
INPUT_TAG = re.compile(r"<input\b[^>]*>")
SELECT = re.compile(r"<select\b([^>]*)>(.*?)</select>", re.S)
OPTION = re.compile(r"<option\b([^>]*)>", re.S)
ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')
CHECKED = re.compile(r"\schecked\b")
SELECTED = re.compile(r"\sselected\b")


def checkout_form(page: bytes | str) -> dict[str, str]:
    """Every field the checkout page's form posts, as a browser would post it
    untouched: its CSRF token and key, what the page showed, the choices made
    for the shopper (checked radios and boxes, selected options) and what the
    text fields hold."""
    text = page.decode() if isinstance(page, bytes) else page
    form = CHECKOUT_FORM.search(text)
    assert form, "the page has no checkout form"
    fields = {}
    for tag in INPUT_TAG.findall(form.group(1)):
        attributes = dict(ATTRIBUTE.findall(tag))
        if attributes.get("type") in ("radio", "checkbox") and not CHECKED.search(tag):
            continue
        if "name" in attributes:
            fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
    for select_attributes, options in SELECT.findall(form.group(1)):
        name = dict(ATTRIBUTE.findall(select_attributes)).get("name")
        tags = OPTION.findall(options)
        chosen = next((tag for tag in tags if SELECTED.search(tag)), tags[0] if tags else "")
        if name:
            fields[name] = html.unescape(dict(ATTRIBUTE.findall(chosen)).get("value", ""))
    return fields


def checkout_fields(page: bytes | str, **choices: str) -> dict[str, str]:
    """The checkout page's form as a shopper posts it: the page's own fields and
    choices, ADDRESS typed in the new-address fields, and ``choices`` over them
    (``payment_method="bank_transfer"``, ``shipping_method="express"``)."""
    return {**checkout_form(page), **ADDRESS_FORM, **choices}


def row_ids(page: bytes) -> list[int]:
    """The order ids of an order list's rows (the shopper's or the admin's), in page order."""
    return [int(i) for i in re.findall(rb'<tr data-order-id="(\d+)"', page)]


class Shopper:
    """A browser-like HTTP session on a live server: cookies, CSRF tokens, form posts.

    Each action posts the form its page shows and asserts the redirect that
    means it worked (a refusal is a 4xx page, not a redirect).
    """

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.email: str | None = None

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=10, **kwargs)

    def csrf_token(self, path: str = "/auth/login") -> str:
        match = CSRF.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def post(self, path: str, data: dict | None = None, token_from: str = "/auth/login", **kwargs):
        form = {"csrf_token": self.csrf_token(token_from), **(data or {})}
        return self.http.post(self.base_url + path, data=form, timeout=10, **kwargs)

    def _redirected(self, what: str, path: str, data: dict, to: str) -> None:
        """POST ``data`` to ``path``: it must redirect to a path matching ``to``."""
        expect_redirect(self.post(path, data, allow_redirects=False), what, to)

    def login(self, email: str, password: str = PASSWORD) -> "Shopper":
        self._redirected("login", "/auth/login", {"email": email, "password": password}, ".*")
        self.email = email
        return self

    def register(self, name: str = "Robin", email: str | None = None, password: str = PASSWORD) -> "Shopper":
        """A new account through the real sign-up form, which also signs in."""
        email = email or unique_email(name)
        form = {"name": name, "email": email, "password": password, "confirm": password}
        self._redirected("sign-up", "/auth/register", form, "/")
        self.email = email
        return self

    def change_password(self, new: str, current: str = PASSWORD) -> None:
        """Through the password form: this session stays signed in, every other one ends."""
        form = {"current": current, "password": new, "confirm": new}
        self._redirected("password change", "/auth/password", form, "/")

    def add_to_cart(self, product_id: int, quantity: int = 1) -> None:
        self._redirected("add to cart", f"/cart/add/{product_id}", {"quantity": quantity}, "/cart")

    def checkout_form(self, **choices: str) -> dict[str, str]:
        """The checkout page's form as it is now, an address typed in (checkout_fields)."""
        return checkout_fields(self.get("/checkout").text, **choices)

    def checkout(self, form: dict[str, str] | None = None) -> requests.Response:
        """One POST of the checkout page's form (``form``, or the page's now), as its button sends it."""
        form = self.checkout_form() if form is None else form
        return self.http.post(self.base_url + "/checkout", data=form, allow_redirects=False, timeout=10)

    def place_order(self, product_id: int | None = None, quantity: int = 1) -> int:
        """Add ``quantity`` of ``product_id`` (if given) and check out; the new order's id."""
        if product_id is not None:
            self.add_to_cart(product_id, quantity)
        return placed_order_id(self.checkout())

    def set_status(self, order_id: int, status: str, note: str = "") -> None:
        """As an admin, move an order along."""
        page = f"/admin/orders/{order_id}"
        self._redirected("status change", f"{page}/status", {"status": status, "note": note}, page)

    def order_paid_by(self, product_id: int, payment_method: str, quantity: int = 1) -> int:
        """Add the product and check out paying by ``payment_method``; the order id."""
        self.add_to_cart(product_id, quantity)
        return placed_order_id(self.checkout(self.checkout_form(payment_method=payment_method)))

    def set_payment(self, order_id: int, status: str, note: str = "") -> requests.Response:
        """As an admin, the order page's payment form; the response (302, or 409 when refused)."""
        form = {"payment-status": status, "payment-note": note}
        return self.post(f"/admin/orders/{order_id}/payment", form, allow_redirects=False)

    def set_stock(self, product_id: int, stock: int) -> None:
        """As an admin, set a product's stock."""
        path = f"/admin/products/{product_id}"
        self._redirected("stock change", f"{path}/stock", {"stock": stock}, f"{path}/edit")

    def upload_photos(self, product_id: int, *files: tuple[str, bytes], alt: str = "") -> requests.Response:
        """As an admin, the product page's upload form with ``files`` (name, bytes) in one
        request, as a browser without script sends it; the response (302 when stored)."""
        page = f"/admin/products/{product_id}/edit"
        form = {"csrf_token": self.csrf_token(page), "alt": alt}
        parts = [("photos", (name, data)) for name, data in files]
        url = f"{self.base_url}/admin/products/{product_id}/photos"
        return self.http.post(url, data=form, files=parts, allow_redirects=False, timeout=60)

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    def connect(self, **kwargs) -> LiveSocket:
        return LiveSocket(self.base_url, self.cookie_header, **kwargs)


def expect_redirect(response: requests.Response, what: str, to: str) -> re.Match:
    """``response`` must redirect to a path matching ``to``; the match."""
    assert response.status_code == 302, f"{what} failed: {response.status_code}"
    found = re.fullmatch(to, urlsplit(response.headers["Location"]).path)
    assert found, f"{what} went to {response.headers['Location']}"
    return found


def placed_order_id(checkout: requests.Response) -> int:
    """The id of the order a checkout response redirects to (which it must)."""
    return int(expect_redirect(checkout, "checkout", r"/orders/(\d+)").group(1))


def admin_on(base_url: str) -> Shopper:
    """The demo admin, signed in."""
    return Shopper(base_url).login(DEMO_ADMIN[0], DEMO_ADMIN[2])


def shopper_on(base_url: str) -> Shopper:
    """The demo shopper, signed in."""
    return Shopper(base_url).login(DEMO_SHOPPER[0], DEMO_SHOPPER[2])


class Auth:
    """Log a test client in and out the way a browser does."""

    def __init__(self, client: FlaskClient):
        self.client = client

    def login(self, email="shopper@example.com", password=PASSWORD):
        return self.client.post("/auth/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/auth/logout")


def client_from(app: Flask, address: str) -> FlaskClient:
    """A test client whose requests come from ``address`` (another client to a rate limit)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def session_token(client: FlaskClient) -> str | None:
    """The login-session token this client's cookie names (None when signed out)."""
    with client.session_transaction() as session:
        return session.get("_user_id")
