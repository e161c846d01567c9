"""Carts and checkouts racing each other from real threads, on a SQLite file
and on PostgreSQL (every test runs on both: see the ``db_app`` fixture).

Each thread has its own app context (its own session and connection), as
each request has on a server. The threads meet at a barrier so that they
act at the same moment.
"""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, update

from shop.extensions import db
from shop.models import CartItem, Order, Product, User
from shop.services import orders
from shop.services.cart import MAX_QUANTITY
from shop.services.errors import PricesChanged
from testing.apps import in_background, run_together
from testing.checkout import DELIVERY
from testing.data import as_shown, count, fill_cart, make_product, make_user, notifications_of, stock_of
from testing.processes import wait_until
from testing.services import waiting_on_a_lock
from testing.shopper import Auth, checkout_fields

RACERS = 20
ADDERS = 10
ROUNDS = 5


def shoppers_with_the_last_unit(count_: int) -> tuple[Product, list]:
    lamp = make_product("Brass Lamp", stock=count_)
    users = [make_user(f"racer{n}@example.com", f"Racer {n}") for n in range(RACERS)]
    for user in users:
        fill_cart(user, lamp, 1)
    lamp.stock = 1
    db.session.commit()
    return lamp, users


def test_twenty_checkouts_for_the_last_unit_through_the_service(db_app):
    lamp, users = shoppers_with_the_last_unit(RACERS)
    shown = {user.id: as_shown(user) for user in users}
    jobs = [lambda u=u: orders.place_order(u, f"key-{u}", shown[u], DELIVERY).id for u in shown]

    results = run_together(db_app, jobs)

    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if not isinstance(r, int)]
    assert len(winners) == 1
    assert Counter(type(r).__name__ for r in losers) == {"OutOfStock": RACERS - 1}
    assert all(r.message == "Sorry, Brass Lamp is out of stock." for r in losers)
    assert count(Order) == 1
    assert stock_of(lamp) == 0
    order = db.session.get(Order, winners[0])
    assert [(i.name, i.quantity) for i in order.items] == [("Brass Lamp", 1)]


def test_twenty_checkout_forms_for_the_last_unit(db_app):
    lamp, users = shoppers_with_the_last_unit(RACERS)
    clients = []
    for user in users:
        client = db_app.test_client()
        Auth(client).login(email=user.email)
        clients.append((client, checkout_fields(client.get("/checkout").data)))
    jobs = [lambda client=client, form=form: client.post("/checkout", data=form) for client, form in clients]

    responses = run_together(db_app, jobs)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {302: 1, 409: RACERS - 1}
    refused = [r for r in responses if r.status_code == 409]
    assert all(b"Sorry, Brass Lamp is out of stock." in r.data for r in refused)
    assert count(Order) == 1
    assert stock_of(lamp) == 0
    [winner] = [r for r in responses if r.status_code == 302]
    assert winner.headers["Location"] == f"/orders/{db.session.scalar(select(Order.id))}"


def test_the_same_form_submitted_from_two_threads_makes_one_order(db_app):
    teapot = make_product("Teapot", stock=5)
    user = make_user()
    fill_cart(user, teapot, 2)
    user_id = user.id  # read here: the threads must not touch this session's objects

    shown = as_shown(user)

    results = run_together(
        db_app, [lambda: orders.place_order(user_id, "double-click", shown, DELIVERY).id] * 2
    )

    assert all(isinstance(r, int) for r in results), results
    assert results[0] == results[1]
    assert count(Order) == 1
    assert stock_of(teapot) == 3


def test_the_same_form_posted_twice_at_once_through_the_pages(db_app):
    teapot = make_product("Teapot", stock=5)
    user = make_user()
    fill_cart(user, teapot, 2)
    client = db_app.test_client()
    Auth(client).login(email=user.email)
    form = checkout_fields(client.get("/checkout").data)

    responses = run_together(db_app, [lambda: client.post("/checkout", data=form)] * 2)

    assert [r.status_code for r in responses] == [302, 302]
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    assert count(Order) == 1
    assert stock_of(teapot) == 3


def test_concurrent_orders_give_every_admin_gapless_seqs(db_app):
    admins = [make_user(f"admin{n}@example.com", f"Admin {n}", admin=True) for n in range(2)]
    mugs = make_product("Mug", stock=100, threshold=0)
    users = [make_user(f"buyer{n}@example.com", f"Buyer {n}") for n in range(10)]
    for user in users:
        fill_cart(user, mugs, 1)
    user_ids = [user.id for user in users]

    shown = {user.id: as_shown(user) for user in users}

    results = run_together(
        db_app, [lambda u=u: orders.place_order(u, f"key-{u}", shown[u], DELIVERY).id for u in user_ids]
    )

    assert all(isinstance(r, int) for r in results), results
    for admin in admins:
        notes = notifications_of(admin)
        assert [n.seq for n in notes] == list(range(1, 11))
        assert sorted(n.data["order_id"] for n in notes) == sorted(results)


def signed_in(app, user):
    client = app.test_client()
    Auth(client).login(email=user.email)
    return client


def cart_lines(user_id: int) -> list[tuple[int, int]]:
    statement = select(CartItem.product_id, CartItem.quantity).where(CartItem.user_id == user_id)
    return [tuple(row) for row in db.session.execute(statement.order_by(CartItem.product_id))]


@pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")
def test_one_cart_checked_out_from_two_tabs_makes_one_order(db_app):
    """Two tabs, two checkout forms of one cart, posted together: one order, the
    stock taken once; the other tab finds the cart empty. (PostgreSQL made two
    orders: the second checkout used the cart it had read before waiting.)"""
    teapot = make_product("Teapot", stock=50)
    user = make_user()
    client = signed_in(db_app, user)
    for _ in range(ROUNDS):
        fill_cart(user, teapot, 2)
        tabs = [checkout_fields(client.get("/checkout").data) for _ in range(2)]

        responses = run_together(
            db_app, [lambda form=form: client.post("/checkout", data=form) for form in tabs]
        )

        assert sorted(r.status_code for r in responses) == [302, 400]
        [refused] = [r for r in responses if r.status_code == 400]
        assert b"Your cart is empty." in refused.data
    assert count(Order) == ROUNDS
    assert stock_of(teapot) == 50 - 2 * ROUNDS


@pytest.mark.parametrize(("start", "acknowledged"), [(0, ADDERS), (1, ADDERS), (MAX_QUANTITY - 4, 4)])
def test_parallel_adds_to_one_line_are_each_counted_up_to_the_cap(db_app, start, acknowledged):
    """Ten adds of one at once, to a new line or an existing one: every add that
    answers "Added" is in the cart, the rest are refused by the cap, none is a
    500. (PostgreSQL gave nine 500s on a new line, and lost updates on an old one.)"""
    mug = make_product("Mug", stock=500)
    user = make_user()
    if start:
        fill_cart(user, mug, start)
    client, mug_id, user_id = signed_in(db_app, user), mug.id, user.id

    responses = run_together(
        db_app, [lambda: client.post(f"/cart/add/{mug_id}", data={"quantity": 1})] * ADDERS
    )

    statuses = Counter(r.status_code for r in responses)
    assert statuses == Counter({302: acknowledged, 400: ADDERS - acknowledged})
    refused = [r for r in responses if r.status_code == 400]
    assert all(f"from 1 to {MAX_QUANTITY}".encode() in r.data for r in refused)
    assert cart_lines(user_id) == [(mug_id, start + acknowledged)]


def test_the_same_form_posted_ten_times_at_once_for_the_last_unit(db_app):
    """Every submit of one checkout form answers with its one order. (On
    PostgreSQL one answer led to the order and nine said "out of stock".)"""
    lamp = make_product("Brass Lamp", stock=1)
    user = make_user()
    fill_cart(user, lamp, 1)
    client = signed_in(db_app, user)
    form = checkout_fields(client.get("/checkout").data)

    responses = run_together(db_app, [lambda: client.post("/checkout", data=form)] * ADDERS)

    assert [r.status_code for r in responses] == [302] * ADDERS
    [order_id] = db.session.scalars(select(Order.id)).all()
    assert {r.headers["Location"] for r in responses} == {f"/orders/{order_id}"}
    assert stock_of(lamp) == 0


def wait_for_the_checkout_to_block(app) -> None:
    """On PostgreSQL, until the checkout waits for the product's row; SQLite has nothing to wait on."""
    if db.engine.dialect.name == "postgresql":
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        wait_until(lambda: waiting_on_a_lock(url) == 1, "the checkout to wait for the product")


def test_a_checkout_waiting_for_stock_lets_a_cancel_tell_its_owner(db_app):
    """A cancel restores stock (holding the product's row), then notifies the
    order's owner, which updates the owner's row (last_seq). Meanwhile the owner
    checks out the same product and waits for that row: the cart lock it holds
    must not be the owner's row, or each waits for the other (on PostgreSQL a
    deadlock, one of them a 500). SQLite has one writer at a time: nothing to
    wait on out of order there, and the checkout simply goes after the cancel."""
    lamp = make_product("Brass Lamp", stock=5)
    user = make_user()
    fill_cart(user, lamp, 1)
    user_id, lamp_id, shown = user.id, lamp.id, as_shown(user)
    db.session.rollback()

    with db.engine.connect() as cancel, ThreadPoolExecutor(1) as pool:
        cancel.execute(update(Product).where(Product.id == lamp_id).values(stock=Product.stock + 1))
        checkout = in_background(
            pool, db_app, lambda: orders.place_order(user_id, "waits", shown, DELIVERY).id
        )
        wait_for_the_checkout_to_block(db_app)
        cancel.execute(update(User).where(User.id == user_id).values(last_seq=User.last_seq + 1))
        cancel.commit()
        order_id = checkout.result(timeout=60)

    assert db.session.get(Order, order_id).user_id == user_id
    assert stock_of(lamp) == 5


def test_a_price_change_committed_while_checkout_waits_refuses_it(db_app):
    """The cart was read at €10.00, as shown; the admin's €100.00 commits while
    the checkout waits to take the stock: the order is neither placed at a
    price that is gone nor at one the shopper never saw."""
    teapot = make_product("Teapot", price_cents=1000, stock=5)
    user = make_user()
    fill_cart(user, teapot, 1)
    user_id, teapot_id, shown = user.id, teapot.id, as_shown(user)
    db.session.rollback()

    with db.engine.connect() as admin, ThreadPoolExecutor(1) as pool:
        admin.execute(update(Product).where(Product.id == teapot_id).values(price_cents=10_000))
        checkout = in_background(pool, db_app, lambda: orders.place_order(user_id, "waits", shown, DELIVERY))
        wait_for_the_checkout_to_block(db_app)
        admin.commit()
        with pytest.raises(PricesChanged, match="Prices changed"):
            checkout.result(timeout=60)

    assert count(Order) == 0
    assert stock_of(teapot) == 5
