"""Carts and checkouts racing each other from real threads, on a SQLite file
and on PostgreSQL (every test runs on both: see the ``db_app`` fixture).

Each thread has its own app context (its own session and connection), as
each request has on a server. The threads meet at a barrier so that they
act at the same moment.
"""

import threading
from collections import Counter

from sqlalchemy import select

from shop.extensions import db
from shop.models import Order, Product
from shop.services import orders
from tests.conftest import (
    Auth,
    checkout_key,
    count,
    fill_cart,
    make_product,
    make_user,
    notifications_of,
    stock_of,
)

RACERS = 20


def run_together(app, jobs) -> list:
    """Run each job in its own thread and app context, all released at once; return their results."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        with app.app_context():
            barrier.wait()
            try:
                results[index] = job()
            except Exception as exc:
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.rollback()  # read what the threads committed
    return results


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
    jobs = [lambda user_id=user.id: orders.place_order(user_id, f"key-{user_id}").id for user in users]

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
        clients.append((client, checkout_key(client.get("/cart").data)))
    jobs = [
        lambda client=client, key=key: client.post("/checkout", data={"idempotency_key": key})
        for client, key in clients
    ]

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

    results = run_together(db_app, [lambda: orders.place_order(user_id, "double-click").id] * 2)

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
    key = checkout_key(client.get("/cart").data)

    responses = run_together(db_app, [lambda: client.post("/checkout", data={"idempotency_key": key})] * 2)

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

    results = run_together(db_app, [lambda u=u: orders.place_order(u, f"key-{u}").id for u in user_ids])

    assert all(isinstance(r, int) for r in results), results
    for admin in admins:
        notes = notifications_of(admin)
        assert [n.seq for n in notes] == list(range(1, 11))
        assert sorted(n.data["order_id"] for n in notes) == sorted(results)
