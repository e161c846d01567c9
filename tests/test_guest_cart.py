"""The guest cart: a visitor's cart in the session, by the account cart's rules,
merged into the account's cart at sign-in and registration."""

import re

import pytest
from sqlalchemy import select

from shop.cart.guest import GUEST_CART
from shop.extensions import db
from shop.models import CartItem, Product
from shop.services import cart as cart_service
from shop.services.cart import MAX_GUEST_LINES, MAX_QUANTITY
from testing.apps import run_together
from testing.data import PASSWORD, count, fill_cart, make_product, make_user, snapshot
from testing.shopper import Auth

BAD_QUANTITIES = [0, -1, 100, "abc", "1.5", ""]


def guest_lines(client) -> dict[str, int]:
    with client.session_transaction() as session:
        return dict(session.get(GUEST_CART, {}))


def account_lines(user) -> list[tuple[int, int]]:
    statement = select(CartItem.product_id, CartItem.quantity).where(CartItem.user_id == user.id)
    return [tuple(row) for row in db.session.execute(statement.order_by(CartItem.product_id))]


def badge(page: bytes) -> str | None:
    found = re.search(rb'<span class="badge badge-cart"\s*(hidden)?>\s*(\d*)\s*<', page)
    assert found, "no cart badge"
    return None if found.group(1) else found.group(2).decode()


def test_a_visitor_adds_updates_and_removes_without_an_account(client, app):
    teapot, mug = make_product("Teapot", price_cents=2500, stock=10), make_product("Mug", price_cents=800)
    before = snapshot()

    assert client.post(f"/cart/add/{teapot.id}", data={"quantity": 2}).headers["Location"] == "/cart"
    client.post(f"/cart/add/{teapot.id}", data={"quantity": 1})
    client.post(f"/cart/add/{mug.id}", data={"quantity": 1})
    assert guest_lines(client) == {str(teapot.id): 3, str(mug.id): 1}
    page = client.get("/cart").data
    assert b"Teapot" in page and "€75.00".encode() in page
    assert re.search(rb"data-items-total>([^<]+)<", page).group(1) == "€83.00".encode()
    assert badge(page) == "4"
    assert b"Log in to check out" in page and b'href="/auth/login?next=/checkout"' in page

    client.post(f"/cart/update/{teapot.id}", data={"quantity": 5})
    client.post(f"/cart/remove/{mug.id}")
    assert guest_lines(client) == {str(teapot.id): 5}
    assert badge(client.get("/").data) == "5"
    client.post(f"/cart/remove/{teapot.id}")
    assert guest_lines(client) == {}
    assert b"Your cart is empty." in client.get("/cart").data
    assert snapshot() == before  # nothing of a visitor's cart is in the database


@pytest.mark.parametrize("quantity", BAD_QUANTITIES)
def test_a_guest_cart_refuses_what_an_account_cart_refuses(client, app, quantity):
    teapot = make_product(stock=500)
    client.post(f"/cart/add/{teapot.id}", data={"quantity": 2})
    add = client.post(f"/cart/add/{teapot.id}", data={"quantity": quantity})
    update = client.post(f"/cart/update/{teapot.id}", data={"quantity": quantity})
    assert add.status_code == update.status_code == 400
    assert guest_lines(client) == {str(teapot.id): 2}


def test_a_guest_cart_keeps_to_the_stock_and_the_quantity_cap(client, app):
    teapot, big = make_product("Teapot", stock=3), make_product("Big", stock=500)
    refused = client.post(f"/cart/add/{teapot.id}", data={"quantity": 4})
    assert refused.status_code == 409 and b"only 3 left of Teapot" in refused.data
    client.post(f"/cart/add/{big.id}", data={"quantity": 60})
    assert client.post(f"/cart/add/{big.id}", data={"quantity": 40}).status_code == 400
    assert guest_lines(client) == {str(big.id): 60}


@pytest.mark.parametrize("which", ["inactive", "missing"])
def test_a_guest_cannot_add_what_is_not_sold(client, app, which):
    product_id = make_product(active=False).id if which == "inactive" else 999
    assert client.post(f"/cart/add/{product_id}", data={"quantity": 1}).status_code == 404
    assert guest_lines(client) == {}


def test_a_guest_cart_holds_a_bounded_number_of_lines(client, app):
    products = [make_product(f"P{n}", stock=5) for n in range(MAX_GUEST_LINES + 1)]
    for product in products[:MAX_GUEST_LINES]:
        client.post(f"/cart/add/{product.id}", data={"quantity": 1})
    refused = client.post(f"/cart/add/{products[-1].id}", data={"quantity": 1})
    assert refused.status_code == 400
    assert f"holds {MAX_GUEST_LINES} different products until you sign in".encode() in refused.data
    assert len(guest_lines(client)) == MAX_GUEST_LINES
    assert len(client.get_cookie("session").value) < 4000


def test_a_guest_cart_taken_off_sale_shows_it_and_updating_it_says_so(client, app):
    teapot = make_product("Teapot", stock=5)
    client.post(f"/cart/add/{teapot.id}", data={"quantity": 1})
    teapot.active = False
    db.session.commit()
    assert b"data-no-longer-sold" in client.get("/cart").data
    response = client.post(f"/cart/update/{teapot.id}", data={"quantity": 2})
    assert response.status_code == 409 and b"Teapot is no longer sold" in response.data


@pytest.mark.parametrize(
    "stored",
    [["not", "a", "cart"], {"abc": 1}, {"1": "2"}, {"1": 0}, {"1": 10**6}, {"1": True}, {"999": 1}, "x"],
)
def test_a_session_cart_that_is_not_one_reads_as_empty(client, app, stored):
    make_product("Teapot", stock=5)
    with client.session_transaction() as session:
        session[GUEST_CART] = stored
    page = client.get("/cart")
    assert page.status_code == 200 and b"Your cart is empty." in page.data
    assert client.post("/cart/add/1", data={"quantity": 1}).status_code == 302
    assert guest_lines(client) == {"1": 1}


def test_checkout_still_needs_an_account(client, app):
    teapot = make_product(stock=5)
    client.post(f"/cart/add/{teapot.id}", data={"quantity": 1})
    assert client.get("/checkout").headers["Location"].startswith("/auth/login?next=%2Fcheckout")


@pytest.mark.app_config(CACHE_TYPE="SimpleCache", CATALOGUE_CACHE_SECONDS=60, CACHE_DEFAULT_TIMEOUT=60)
def test_a_visitor_with_a_cart_never_gets_the_cached_catalogue_of_the_others(app):
    """The catalogue kept for anonymous visitors has no cart badge; one with a
    cart gets a page of their own, and the kept page stays badge-less."""
    teapot = make_product(stock=5)
    stranger, visitor = app.test_client(), app.test_client()
    assert badge(stranger.get("/").data) is None
    visitor.post(f"/cart/add/{teapot.id}", data={"quantity": 2})
    visitor.get("/cart")  # shows the flashed message
    assert badge(visitor.get("/").data) == "2"
    assert badge(stranger.get("/").data) is None


# -- merging at sign-in and registration ----------------------------------------------------


def log_in(client, email="shopper@example.com"):
    return client.post("/auth/login?next=/checkout", data={"email": email, "password": PASSWORD})


def flashes(client) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def test_signing_in_adds_the_guest_cart_to_the_account_cart(client, shopper):
    teapot, mug, lamp = make_product("Teapot", stock=10), make_product("Mug", stock=10), make_product("Lamp")
    fill_cart(shopper, teapot, 2)  # from another device, before
    fill_cart(shopper, lamp, 1)
    client.post(f"/cart/add/{teapot.id}", data={"quantity": 3})
    client.post(f"/cart/add/{mug.id}", data={"quantity": 1})

    response = log_in(client)

    assert response.headers["Location"] == "/checkout"
    assert account_lines(shopper) == [(teapot.id, 5), (mug.id, 1), (lamp.id, 1)]
    assert guest_lines(client) == {}
    assert ("info", "What you put in your cart before signing in is in it still.") in flashes(client)
    assert badge(client.get("/cart").data) == "7"


def test_registering_keeps_the_guest_cart(client, app):
    teapot = make_product("Teapot", stock=10)
    client.post(f"/cart/add/{teapot.id}", data={"quantity": 2})
    form = {"name": "Nia", "email": "nia@example.com", "password": PASSWORD, "confirm": PASSWORD}

    response = client.post("/auth/register?next=/checkout", data=form)

    assert response.headers["Location"] == "/checkout"
    [item] = db.session.scalars(select(CartItem)).all()
    assert (item.product_id, item.quantity) == (teapot.id, 2)
    assert client.get("/checkout").status_code == 200


def test_what_cannot_be_merged_whole_is_named(client, shopper):
    """Quantities capped at the stock and at MAX_QUANTITY, a product taken off
    sale and one sold out: each is left out or capped, and one message says so."""
    scarce, plenty, gone, sold_out = (
        make_product("Scarce", stock=10),
        make_product("Plenty", stock=500),
        make_product("Gone", stock=5),
        make_product("Sold out", stock=5),
    )
    fill_cart(shopper, scarce, 4)
    fill_cart(shopper, plenty, 90)
    for product, quantity in ((scarce, 5), (plenty, 20), (gone, 1), (sold_out, 1)):
        client.post(f"/cart/add/{product.id}", data={"quantity": quantity})
    db.session.execute(db.update(Product).where(Product.id == scarce.id).values(stock=6))
    db.session.execute(db.update(Product).where(Product.id == gone.id).values(active=False))
    db.session.execute(db.update(Product).where(Product.id == sold_out.id).values(stock=0))
    db.session.commit()

    log_in(client)

    assert account_lines(shopper) == [(scarce.id, 6), (plenty.id, MAX_QUANTITY)]
    [(category, message)] = [f for f in flashes(client) if f[0] == "warning"]
    assert message == (
        "Not all of your cart could be kept: Scarce: 6 in your cart, all we have. "
        f"Plenty: {MAX_QUANTITY} in your cart, the most one order can take. "
        "Gone is no longer sold. Sold out is out of stock."
    )
    assert b"Not all of your cart could be kept" in client.get("/cart").data


def test_the_account_cart_is_never_cut_by_a_merge(shopper):
    """Stock fell below what the account's cart already holds: the merge adds
    nothing, and leaves that line for checkout to refuse as it would."""
    teapot = make_product("Teapot", stock=10)
    fill_cart(shopper, teapot, 8)
    teapot.stock = 3
    db.session.commit()
    result = cart_service.merge_guest_cart(shopper.id, {str(teapot.id): 2})
    assert (result.added, result.problems) == (0, ["Teapot: 8 in your cart, all we have."])
    assert account_lines(shopper) == [(teapot.id, 8)]


def test_an_empty_guest_cart_says_nothing(client, shopper):
    log_in(client)
    assert [f for f in flashes(client) if "cart" in f[1]] == []
    assert cart_service.merge_guest_cart(shopper.id, None).added == 0


def test_the_live_channel_stays_for_signed_in_users(client, app):
    teapot = make_product(stock=5)
    client.post(f"/cart/add/{teapot.id}", data={"quantity": 1})
    page = client.get("/cart").data
    assert b"js/live/main.js" not in page and b"data-user-id" not in page


# -- a merge racing an add in another tab ---------------------------------------------------------


@pytest.mark.parametrize("start", [0, 60])
def test_a_merge_and_adds_from_other_tabs_at_once_all_count_up_to_the_cap(db_app, start):
    """Signing in with 30 in the guest cart while two other tabs of the account
    add 10 each: every add that said "Added" and the merge are in the cart,
    capped at MAX_QUANTITY, and nothing is a 500 or a lost update."""
    user = make_user()
    mug = make_product("Mug", stock=500)
    if start:
        fill_cart(user, mug, start)
    tabs = []
    for _ in range(2):
        tab = db_app.test_client()
        Auth(tab).login()
        tabs.append(tab)
    mug_id, user_id = mug.id, user.id

    results = run_together(
        db_app,
        [
            lambda: cart_service.merge_guest_cart(user_id, {str(mug_id): 30}),
            *[
                lambda tab=tab: tab.post(f"/cart/add/{mug_id}", data={"quantity": 10}).status_code
                for tab in tabs
            ],
        ],
    )

    merge, *adds = results
    added_by_tabs = 10 * adds.count(302)
    assert all(status in (302, 400) for status in adds), adds
    [(_, quantity)] = account_lines(user)
    assert quantity == min(MAX_QUANTITY, start + 30 + added_by_tabs) == start + merge.added + added_by_tabs
    assert count(CartItem) == 1
