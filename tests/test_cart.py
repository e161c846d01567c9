"""The cart and checkout pages, through the test client."""

import re

import pytest
from sqlalchemy import select

from shop.extensions import db
from shop.models import CartItem, Order
from shop.services.cart import get_cart
from testing.data import count, fill_cart, make_product, make_user, stock_of
from testing.shopper import Auth, checkout_fields, checkout_form

BAD_QUANTITIES = [0, -1, 100, 10**9, "abc", "1.5", "", " "]


def cart_lines(user) -> list[tuple[int, int]]:
    return [(item.product_id, item.quantity) for item in get_cart(user.id).items]


def list_orders() -> list[Order]:
    return list(db.session.scalars(select(Order)))


def flashed_error(response) -> bool:
    return b'class="flash flash-error"' in response.data


@pytest.fixture
def logged_in(client, auth, shopper):
    auth.login()
    return shopper


def test_checkout_needs_a_login(client, app):
    """A visitor has a cart (tests/test_guest_cart.py) but checks out signed in."""
    teapot = make_product()
    client.post(f"/cart/add/{teapot.id}", data={"quantity": 1})
    for response in (client.get("/checkout"), client.post("/checkout", data={"idempotency_key": "k"})):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/auth/login")
    assert count(CartItem) == count(Order) == 0


def test_add_update_remove(client, logged_in):
    teapot = make_product("Teapot", price_cents=2500, stock=10)

    response = client.post(f"/cart/add/{teapot.id}", data={"quantity": 2})
    assert response.headers["Location"] == "/cart"
    client.post(f"/cart/add/{teapot.id}", data={"quantity": 1})
    assert cart_lines(logged_in) == [(teapot.id, 3)]

    html = client.get("/cart").data
    assert b"Teapot" in html and "€75.00".encode() in html
    assert re.search(rb"badge-cart[^>]*>\s*3\s*<", html), "the cart count in the navigation"

    client.post(f"/cart/update/{teapot.id}", data={"quantity": 5})
    assert cart_lines(logged_in) == [(teapot.id, 5)]

    client.post(f"/cart/remove/{teapot.id}")
    assert cart_lines(logged_in) == []
    assert b"Your cart is empty." in client.get("/cart").data


def test_cart_survives_logout(client, auth, logged_in):
    teapot = make_product()
    client.post(f"/cart/add/{teapot.id}", data={"quantity": 2})
    auth.logout()
    auth.login()
    assert b"Teapot" in client.get("/cart").data


@pytest.mark.parametrize("action", ["add", "update"])
@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_bad_quantity_on_add_or_update_changes_nothing(client, logged_in, action, quantity):
    teapot = make_product(stock=500)
    fill_cart(logged_in, teapot, 2)

    response = client.post(f"/cart/{action}/{teapot.id}", data={"quantity": quantity})

    assert response.status_code == 400
    assert flashed_error(response)
    assert cart_lines(logged_in) == [(teapot.id, 2)]


def test_missing_quantity_field(client, logged_in):
    teapot = make_product()
    response = client.post(f"/cart/add/{teapot.id}", data={})
    assert response.status_code == 400
    assert count(CartItem) == 0


def test_adding_up_past_the_limit_is_refused(client, logged_in):
    teapot = make_product(stock=500)
    fill_cart(logged_in, teapot, 60)
    response = client.post(f"/cart/add/{teapot.id}", data={"quantity": 40})
    assert response.status_code == 400
    assert cart_lines(logged_in) == [(teapot.id, 60)]


def test_more_than_in_stock_is_refused(client, logged_in):
    teapot = make_product("Teapot", stock=3)
    response = client.post(f"/cart/add/{teapot.id}", data={"quantity": 4})
    assert response.status_code == 409
    assert b"only 3 left of Teapot" in response.data
    assert count(CartItem) == 0


@pytest.mark.parametrize("which", ["inactive", "missing"])
def test_adding_a_missing_or_inactive_product_is_404(client, logged_in, which):
    product_id = make_product(active=False).id if which == "inactive" else 999
    response = client.post(f"/cart/add/{product_id}", data={"quantity": 1})
    assert response.status_code == 404
    assert count(CartItem) == 0


def test_updating_a_line_not_in_the_cart(client, logged_in):
    teapot = make_product()
    response = client.post(f"/cart/update/{teapot.id}", data={"quantity": 1})
    assert response.status_code == 404
    assert count(CartItem) == 0


def test_checkout_places_the_order_and_shows_it(client, logged_in):
    teapot = make_product("Teapot", stock=5)
    fill_cart(logged_in, teapot, 2)
    form = checkout_fields(client.get("/checkout").data)

    response = client.post("/checkout", data=form, follow_redirects=True)

    [order] = list_orders()
    assert response.request.path == f"/orders/{order.id}"
    assert f"Order #{order.id} is placed".encode() in response.data
    assert stock_of(teapot) == 3
    assert cart_lines(logged_in) == []


def test_double_submit_makes_one_order(client, logged_in):
    teapot = make_product(stock=5)
    fill_cart(logged_in, teapot, 1)
    form = checkout_fields(client.get("/checkout").data)

    first = client.post("/checkout", data=form)
    second = client.post("/checkout", data=form)

    [order] = list_orders()
    assert first.headers["Location"] == second.headers["Location"] == f"/orders/{order.id}"
    assert stock_of(teapot) == 4


def test_each_checkout_page_gets_a_new_key(client, logged_in):
    fill_cart(logged_in, make_product())
    first, second = (checkout_form(client.get("/checkout").data)["idempotency_key"] for _ in range(2))
    assert first != second


def test_checkout_with_short_stock_keeps_the_cart(client, logged_in):
    teapot = make_product("Teapot", stock=5)
    fill_cart(logged_in, teapot, 4)
    teapot.stock = 2
    db.session.commit()
    form = checkout_fields(client.get("/checkout").data)

    response = client.post("/checkout", data=form)

    assert response.status_code == 409
    assert b"only 2 left of Teapot" in response.data
    assert count(Order) == 0
    assert cart_lines(logged_in) == [(teapot.id, 4)]
    assert stock_of(teapot) == 2


def cart_row(html: bytes, product_id: int) -> bytes:
    row = re.search(rb'<tr data-product-id="%d".*?</tr>' % product_id, html, re.S)
    assert row, f"no cart line for product {product_id}"
    return row.group(0)


def test_a_product_taken_off_sale_is_flagged_and_checkout_says_so(client, logged_in):
    """Not "Sorry, only 10 left": the line says it is no longer sold and offers
    its remove button, and checkout refuses with that until it is removed."""
    teapot = make_product("Teapot", stock=10)
    kettle = make_product("Kettle", stock=10)
    fill_cart(logged_in, teapot, 1)
    fill_cart(logged_in, kettle, 1)
    teapot.active = False
    db.session.commit()

    page = client.get("/cart").data
    row = cart_row(page, teapot.id)
    assert b"data-no-longer-sold" in row and b"No longer sold" in row
    assert f'action="/cart/remove/{teapot.id}"'.encode() in row
    assert b"data-stock-badge" not in row and b"data-no-longer-sold" not in cart_row(page, kettle.id)

    response = client.post("/checkout", data=checkout_fields(client.get("/checkout").data))

    assert response.status_code == 409
    assert b"Sorry, Teapot is no longer sold. Please remove it from your cart." in response.data
    assert b"left of" not in response.data and b"out of stock" not in response.data
    assert b"data-no-longer-sold" in cart_row(response.data, teapot.id)
    assert count(Order) == 0
    assert stock_of(teapot) == stock_of(kettle) == 10

    client.post(f"/cart/remove/{teapot.id}")
    response = client.post("/checkout", data=checkout_fields(client.get("/checkout").data))
    assert response.status_code == 302
    assert [(i.name, i.quantity) for i in list_orders()[0].items] == [("Kettle", 1)]


def test_updating_a_line_taken_off_sale_says_it_is_no_longer_sold(client, logged_in):
    teapot = make_product("Teapot", stock=10)
    fill_cart(logged_in, teapot, 1)
    teapot.active = False
    db.session.commit()

    response = client.post(f"/cart/update/{teapot.id}", data={"quantity": 2})

    assert response.status_code == 409
    assert b"Teapot is no longer sold" in response.data
    assert cart_lines(logged_in) == [(teapot.id, 1)]


def set_price(product, price_cents: int) -> None:
    """The admin changes a price (committed, as the admin's own request would)."""
    product.price_cents = price_cents
    db.session.commit()


def grand_total(page: bytes, method: str = "standard") -> str:
    """The total a checkout page shows with ``method`` chosen."""
    block = re.search(rb'data-totals-for="%s".*?data-grand-total>([^<]+)<' % method.encode(), page, re.S)
    assert block, f"no totals for {method}"
    return block.group(1).decode()


def test_a_price_changed_since_the_checkout_page_is_refused_and_the_new_one_shown(client, logged_in):
    """The page said €14.90 (€10.00 and standard shipping) and the admin made it
    €100.00: nothing is charged, the page comes back with the new price (and
    free shipping), and its own form then places it."""
    teapot = make_product("Teapot", price_cents=1000, stock=5)
    fill_cart(logged_in, teapot, 1)
    page = client.get("/checkout").data
    assert grand_total(page) == "€14.90"
    set_price(teapot, 10_000)

    response = client.post("/checkout", data=checkout_fields(page))

    assert response.status_code == 409
    assert b"Prices changed, please review your cart." in response.data
    assert grand_total(response.data) == "€100.00"
    assert count(Order) == 0
    assert stock_of(teapot) == 5
    assert cart_lines(logged_in) == [(teapot.id, 1)]

    response = client.post("/checkout", data=checkout_form(response.data))
    assert response.status_code == 302
    [order] = list_orders()
    assert (order.total_cents, order.items[0].unit_price_cents) == (10_000, 10_000)


def test_a_cart_changed_in_another_tab_is_refused(client, logged_in):
    teapot, kettle = make_product("Teapot", stock=5), make_product("Kettle", stock=5)
    fill_cart(logged_in, teapot, 1)
    first_tab = checkout_fields(client.get("/checkout").data)
    client.post(f"/cart/add/{kettle.id}", data={"quantity": 1})  # the second tab

    response = client.post("/checkout", data=first_tab)

    assert response.status_code == 409
    assert b"Your cart changed in another tab, please review it." in response.data
    assert count(Order) == 0
    assert (stock_of(teapot), stock_of(kettle)) == (5, 5)
    response = client.post("/checkout", data=checkout_form(response.data))  # the address kept as typed
    assert response.status_code == 302
    assert sorted(i.name for i in list_orders()[0].items) == ["Kettle", "Teapot"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("shown_items_cents", "1", b"Prices changed, please review your cart."),
        ("shown_shipping-0-total_cents", "1", b"Prices changed, please review your cart."),
        ("shown_shipping-0-cost_cents", "0", b"Shipping costs changed, please review your order."),
        ("shown_lines-0-unit_price_cents", "1", b"Prices changed, please review your cart."),
        ("shown_lines-0-quantity", "3", b"Your cart changed in another tab, please review it."),
        ("shown_lines-0-product_id", "999", b"Your cart changed in another tab, please review it."),
        ("shown_lines-0-product_id", None, b"Your cart changed in another tab, please review it."),
    ],
)
def test_a_form_that_shows_something_else_is_refused_never_charged(client, logged_in, field, value, message):
    """A lower total, price or shipping cost, another quantity or product, or no line at all."""
    teapot = make_product("Teapot", price_cents=1500, stock=5)
    fill_cart(logged_in, teapot, 2)
    form = {**checkout_fields(client.get("/checkout").data), field: value}
    if value is None:
        form = {name: v for name, v in form.items() if not name.startswith("shown_lines-")}

    response = client.post("/checkout", data=form)

    assert response.status_code == 409
    assert message in response.data
    assert count(Order) == 0
    assert stock_of(teapot) == 5


@pytest.mark.parametrize(
    "broken",
    [
        {"shown_lines-0-product_id": "abc"},
        {"shown_lines-0-quantity": "-1"},
        {"shown_lines-0-unit_price_cents": "1e400"},
        {"shown_items_cents": str(2**64)},
        {"shown_shipping-0-cost_cents": "free"},
        {"shown_lines-0-quantity": ""},
        {"shown_items_cents": None},  # a page from before forms carried what they showed
        {"shown_shipping-0-total_cents": None},
        {"shown_shipping-0-code": None},  # a page from before shipping was shown
    ],
)
def test_a_broken_checkout_form_is_400_and_places_nothing(client, logged_in, broken):
    teapot = make_product("Teapot", stock=5)
    fill_cart(logged_in, teapot, 1)
    form = {**checkout_fields(client.get("/checkout").data), **broken}

    response = client.post("/checkout", data={k: v for k, v in form.items() if v is not None})

    assert response.status_code == 400
    assert b"This checkout form has expired; please try again." in response.data
    assert count(Order) == 0
    assert stock_of(teapot) == 5


def test_checkout_of_an_empty_cart(client, logged_in):
    response = client.post("/checkout", data={"idempotency_key": "abc"})
    assert response.status_code == 400
    assert b"Your cart is empty." in response.data
    assert count(Order) == 0


@pytest.mark.parametrize("key", ["", "x" * 65, "bad key!"])
def test_checkout_with_a_bad_key(client, logged_in, key):
    fill_cart(logged_in, make_product())
    response = client.post("/checkout", data={"idempotency_key": key})
    assert response.status_code == 400
    assert count(Order) == 0


def test_an_order_above_2_31_cents_is_placed(db_app):
    """More cents than a 32-bit INTEGER holds, in a line price and in the total
    (PostgreSQL answered 500: integer out of range)."""
    shopper = make_user()
    gold = make_product("Gold bar", price_cents=2**31 + 52, stock=1)
    safe = make_product("Safe", price_cents=10_000_000, stock=99)
    fill_cart(shopper, gold, 1)
    fill_cart(shopper, safe, 99)
    client = db_app.test_client()
    Auth(client).login()
    page = client.get("/checkout").data
    assert grand_total(page) == "€31374837.00"

    response = client.post("/checkout", data=checkout_fields(page))

    assert response.status_code == 302
    [order] = list_orders()
    assert order.total_cents == 2**31 + 52 + 99 * 10_000_000
    assert [(i.name, i.unit_price_cents) for i in order.items] == [
        ("Gold bar", 2**31 + 52),
        ("Safe", 10_000_000),
    ]
