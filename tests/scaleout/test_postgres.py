"""The shop on PostgreSQL: driver, migrations, the checkout races, and the async modes."""

import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import cycle, islice

import psycopg2
import pytest
import requests
from sqlalchemy import delete, select

from config import database_uri
from shop import create_app
from shop.extensions import db
from shop.models import CartItem, Order, OrderItem, Product
from shop.services import orders, shipping
from shop.services.errors import OutOfStock
from testing import ROOT
from testing.apps import app_on, make_config
from testing.checkout import DELIVERY, shown_with
from testing.data import fill_cart, make_order, make_product, make_user
from testing.processes import wait_until
from testing.server import LiveServer
from testing.services import (
    SHARED_REDIS,
    postgres_database,
    query,
    require_postgres,
    require_redis,
    unique_channel,
    waiting_on_a_lock,
)
from testing.shopper import admin_on, shopper_on
from testing.sockets import without_time

pytestmark = pytest.mark.scaleout

CHECKOUTS = 20
ROUNDS = 20


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u:p@db:5432/shop", "postgresql+psycopg2://u:p@db:5432/shop"),
        ("postgres://u@db/shop", "postgresql+psycopg2://u@db/shop"),
        ("postgresql+psycopg2://u@db/shop", "postgresql+psycopg2://u@db/shop"),
        ("sqlite:///instance/shop.db", "sqlite:///instance/shop.db"),
    ],
)
def test_postgresql_urls_use_psycopg2(given, used):
    """SQLAlchemy 2.1 would pick psycopg 3 for postgresql://, which eventlet cannot drive."""
    assert database_uri(given) == used


def test_pool_size_and_pre_ping_come_from_the_config():
    """Checked on the engine itself; building it does not connect."""
    config = make_config(
        SQLALCHEMY_DATABASE_URI="postgresql://postgres@127.0.0.1:5432/unused",
        DB_POOL_SIZE=7,
        DB_POOL_PRE_PING=True,
        SOCKETIO_ASYNC_MODE="threading",
    )
    app = create_app(config)
    with app.app_context():
        engine = db.engine
        assert engine.dialect.driver == "psycopg2"
        assert engine.pool.size() == 7
        assert engine.pool._pre_ping is True
        # configure_sqlite's BEGIN IMMEDIATE and pragmas are for SQLite only.
        listeners = [*engine.dispatch.begin, *engine.pool.dispatch.connect]
        assert [fn for fn in listeners if fn.__module__ == "shop.services.transaction"] == []
        engine.dispose()


@pytest.fixture
def empty_database() -> Iterator[str]:
    require_postgres()
    with postgres_database() as url:
        yield url


def flask_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {"FLASK_APP": "shop:create_app", "DATABASE_URL": url, "SOCKETIO_ASYNC_MODE": "threading"}
    return subprocess.run(
        [sys.executable, "-m", "flask", *args],
        cwd=ROOT,
        env={**_base_env(), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("SOCKETIO_MESSAGE_QUEUE", "SHOP_CONFIG")}


def test_flask_db_upgrade_builds_the_models_schema_on_postgresql(empty_database):
    upgraded = flask_cli(empty_database, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr

    checked = flask_cli(empty_database, "db", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr

    downgraded = flask_cli(empty_database, "db", "downgrade", "base")
    assert downgraded.returncode == 0, downgraded.stderr
    tables = query(empty_database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert tables == [("alembic_version",)]


def test_the_migrated_schema_takes_an_order_above_2_31_cents(empty_database):
    """The money columns are BIGINTs after `flask db upgrade` (they were INTEGERs:
    "integer out of range", a 500 at checkout)."""
    assert flask_cli(empty_database, "db", "upgrade").returncode == 0
    money = query(
        empty_database,
        "SELECT table_name || '.' || column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name ~ '_cents$' ORDER BY 1",
    )
    assert money == [
        ("order_items.unit_price_cents", "bigint"),
        ("orders.items_cents", "bigint"),
        ("orders.shipping_cents", "bigint"),
        ("orders.total_cents", "bigint"),
        ("products.price_cents", "bigint"),
        ("shipping_methods.free_from_cents", "bigint"),
        ("shipping_methods.price_cents", "bigint"),
    ]
    app = app_on(empty_database, SOCKETIO_MESSAGE_QUEUE=None)
    with app.app_context():
        shopper = make_user()
        fill_cart(shopper, make_product("Safe", price_cents=10_000_000, stock=99), 99)
        order = make_order(shopper, make_product("Gold bar", price_cents=2**31 + 52, stock=1))
        order_id = order.id
        db.session.remove()
        db.engine.dispose()
    assert query(empty_database, "SELECT total_cents FROM orders WHERE id = %s", order_id) == [
        (2**31 + 52 + 99 * 10_000_000,)
    ]


@pytest.fixture(scope="module")
def pg_app():
    """The app on its own PostgreSQL database, used from many threads at once."""
    require_postgres()
    with postgres_database() as url:
        app = app_on(
            url, DB_POOL_SIZE=CHECKOUTS + 2, SOCKETIO_ASYNC_MODE="threading", SOCKETIO_MESSAGE_QUEUE=None
        )
        try:
            with app.app_context():
                db.create_all()
                shipping.ensure_default_methods()
                make_user("admin@example.com", "Ada", admin=True)
            yield app
        finally:
            with app.app_context():
                db.engine.dispose()


def make_shoppers(app, count: int) -> list[int]:
    with app.app_context():
        tag = uuid.uuid4().hex[:8]
        return [make_user(f"racer-{tag}-{i}@example.com", f"Racer {i}").id for i in range(count)]


def fill_carts(app, baskets: dict[int, list[int]]) -> None:
    """Replace each user's cart by one of each product, in the order given."""
    with app.app_context():
        db.session.execute(delete(CartItem).where(CartItem.user_id.in_(baskets)))
        for user_id, product_ids in baskets.items():
            for product_id in product_ids:
                db.session.add(CartItem(user_id=user_id, product_id=product_id, quantity=1))
                db.session.flush()  # ids in the order given
        db.session.commit()


def checkout_all_at_once(app, user_ids: list[int]) -> dict[int, int | None]:
    """Every user checks out at the same moment, each in its own app context and
    database connection; returns each user's order id, or None when refused as
    out of stock. Any other error (a deadlock, say) fails the test."""
    barrier = threading.Barrier(len(user_ids))

    def checkout(user_id: int) -> int | None:
        with app.app_context():
            try:
                shown = shown_with(user_id)  # the shopper saw the cart as it is
                barrier.wait()
                return orders.place_order(user_id, uuid.uuid4().hex, shown, DELIVERY).id
            except OutOfStock:
                return None
            finally:
                db.session.remove()

    with ThreadPoolExecutor(len(user_ids)) as pool:
        return dict(zip(user_ids, pool.map(checkout, user_ids), strict=True))


def test_twenty_checkouts_race_for_the_last_unit_and_exactly_one_wins(pg_app):
    racers = make_shoppers(pg_app, CHECKOUTS)
    for _ in range(ROUNDS):
        with pg_app.app_context():
            product_id = make_product(f"Last mug {uuid.uuid4().hex[:6]}", stock=1, threshold=0).id
        fill_carts(pg_app, {user_id: [product_id] for user_id in racers})

        results = checkout_all_at_once(pg_app, racers)

        winners = [order_id for order_id in results.values() if order_id is not None]
        assert len(winners) == 1, results
        with pg_app.app_context():
            assert db.session.get(Product, product_id).stock == 0
            sold = db.session.scalars(select(OrderItem.quantity).where(OrderItem.product_id == product_id))
            assert list(sold) == [1]
            assert db.session.get(Order, winners[0]).status == "placed"


BASKET_STOCKS = [(1, 1), (2, 2), (1, 2), (2, 1), (0, 2), (2, 0), (3, 3)]


def test_two_baskets_in_opposite_orders_never_deadlock_and_take_both_or_neither(pg_app):
    """{x, y} and {y, x} checked out together: each order takes both products or none."""
    first, second = make_shoppers(pg_app, 2)
    for stock_x, stock_y in islice(cycle(BASKET_STOCKS), 35):
        with pg_app.app_context():
            x = make_product(f"X {uuid.uuid4().hex[:6]}", stock=stock_x, threshold=0).id
            y = make_product(f"Y {uuid.uuid4().hex[:6]}", stock=stock_y, threshold=0).id
        fill_carts(pg_app, {first: [x, y], second: [y, x]})

        results = checkout_all_at_once(pg_app, [first, second])

        placed = [order_id for order_id in results.values() if order_id is not None]
        assert len(placed) == min(stock_x, stock_y, 2), (stock_x, stock_y, results)
        with pg_app.app_context():
            for order_id in placed:
                items = db.session.scalars(select(OrderItem.product_id).where(OrderItem.order_id == order_id))
                assert sorted(items) == sorted([x, y])
            assert db.session.get(Product, x).stock == stock_x - len(placed)
            assert db.session.get(Product, y).stock == stock_y - len(placed)


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_a_worker_keeps_serving_while_one_request_waits_in_postgresql(
    mode, seeded_database, tmp_path, connect
):
    """psycopg2 must yield to the event loop while it waits for PostgreSQL.

    That takes a wait callback: eventlet.monkey_patch() installs one itself,
    gevent needs psycogreen's (wsgi.py installs psycogreen's in both). A row
    lock held by the test makes an admin's stock change wait inside
    PostgreSQL. Without the callback that wait blocks the worker's only
    thread, and the next request gets no answer until the lock goes (checked
    by hand: gevent without psycogreen times out here); with it, the worker
    answers, and the change completes and is pushed (through Redis, whose
    client must cooperate too) once the lock goes.
    """
    require_redis()
    queue = {"SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS, "SOCKETIO_CHANNEL": unique_channel()}
    server = LiveServer(seeded_database, tmp_path, SOCKETIO_ASYNC_MODE=mode, **queue).start()
    try:
        admin, shopper = admin_on(server.url), shopper_on(server.url)
        product_id = {"eventlet": 2, "gevent": 3}[mode]
        sock = connect(shopper)
        assert sock.call("subscribe_product", {"product_id": product_id})["ok"]
        blocker = psycopg2.connect(seeded_database)
        try:
            with blocker.cursor() as cursor:
                cursor.execute("SELECT stock FROM products WHERE id = %s FOR UPDATE", (product_id,))
            with ThreadPoolExecutor(1) as pool:
                pending = pool.submit(admin.set_stock, product_id, 17)
                wait_until(lambda: waiting_on_a_lock(seeded_database) == 1, "the stock change to wait")

                health = requests.get(server.url + "/healthz", timeout=10)
                page = shopper.get(f"/products/{product_id}")

                assert not pending.done()
                blocker.rollback()
                pending.result()  # raises unless the change redirected to its page
        finally:
            blocker.close()
        assert health.json()["checks"]["database"] == "ok"
        assert page.status_code == 200
        expected = {"product_id": product_id, "stock": 17, "in_stock": True}
        assert without_time(sock.wait_for("stock"))[-1] == expected
    finally:
        server.stop()
