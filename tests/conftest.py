"""Fixtures: a fresh app and database per test, a client, and plain factories."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select, update

from config import TestingConfig
from shop import create_app
from shop.extensions import db
from shop.models import LoginSession, Notification, Order, Product, User, normalize_email
from shop.services import accounts, orders, shipping
from shop.services import cart as cart_service
from shop.services.cart import ShownCart
from tests.checkout_support import DELIVERY, shown_with
from tests.live import checkout_form  # noqa: F401 (defined beside the live-server clients, which use it too)
from tests.scaleout.infra import create_database, drop_database, require_postgres

PASSWORD = "correct horse battery"


def make_config(**overrides):
    return type("TestConfig", (TestingConfig,), overrides)


class ShopClient(FlaskClient):
    """A test client whose every request runs in its own app context, as on a server.

    The ``app`` fixture keeps an app context pushed for the whole test, and a
    request would otherwise share it: ``g`` (Flask-Login's current user, the
    navigation counts) would leak from one request, or one client, to the next.
    The test's own session is rolled back first so that the request sees a free
    connection and the test re-reads what the request wrote; factories commit,
    so nothing a test made is lost.
    """

    def open(self, *args, **kwargs):
        db.session.rollback()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "app_config(**settings): build the test's app with these config settings"
    )


@contextmanager
def app_with_tables(**settings) -> Iterator[Flask]:
    """An app whose tables exist for as long as the block runs, inside its app context."""
    app = create_app(make_config(**settings))
    app.test_client_class = ShopClient
    app.test_cli_runner_class = ShopCliRunner
    with app.app_context():
        db.create_all()
        shipping.ensure_default_methods()  # as the migration that brought them does
        try:
            yield app
        finally:
            db.session.remove()
            db.drop_all()
            db.engine.dispose()


@pytest.fixture
def app(request):
    """A fresh app and empty database; ``@pytest.mark.app_config(KEY=value)`` changes settings."""
    marker = request.node.get_closest_marker("app_config")
    with app_with_tables(**(marker.kwargs if marker else {})) as app:
        yield app


# Tests of what the two databases do differently take one of these as ``params``.
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.scaleout)]


@contextmanager
def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A new database of ``kind``: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.db'}"
        return

    require_postgres()
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture(params=DATABASES)
def db_app(request, tmp_path):
    """The app on each database, for tests of what they do differently: a SQLite
    file (WAL, busy timeout) and a PostgreSQL database of the test's own, dropped
    afterwards (skipped when PostgreSQL is missing, unless CI=true). Threads racing
    on it each get their own connection."""
    with (
        database_url(request.param, tmp_path) as url,
        app_with_tables(SQLALCHEMY_DATABASE_URI=url, DB_POOL_SIZE=25) as app,
    ):
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


class ShopCliRunner(FlaskCliRunner):
    """Runs a command in its own app context, after freeing the test's connection (see ShopClient)."""

    def invoke(self, *args, **kwargs):
        db.session.rollback()
        return super().invoke(*args, **kwargs)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@cache
def _password_hash() -> str:
    """A real argon2id hash of PASSWORD, with the cheapest parameters argon2 allows.

    Verification reads the parameters from the hash, so logging these users in
    goes through the real code at a fraction of the production cost (about
    0.2 s a hash here). Users registered through the pages pay the full cost.
    """
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)


def make_user(email="shopper@example.com", name="Sam", admin=False, password=PASSWORD) -> User:
    if password != PASSWORD:
        return accounts.register(email, name, password, is_admin=admin)
    user = User(email=normalize_email(email), name=name, is_admin=admin, password_hash=_password_hash())
    db.session.add(user)
    db.session.commit()
    return user


def make_product(name="Teapot", price_cents=2500, stock=10, threshold=3, active=True) -> Product:
    product = Product(
        name=name,
        price_cents=price_cents,
        stock=stock,
        low_stock_threshold=threshold,
        active=active,
        description=f"A fine {name.lower()}.",
    )
    db.session.add(product)
    db.session.commit()
    return product


def fill_cart(user: User, product: Product, quantity: int = 1) -> None:
    cart_service.add_to_cart(user.id, product.id, quantity)


def as_shown(user: User) -> ShownCart:
    """The user's cart as the checkout page would show it now with standard
    shipping (what the checkout form carries)."""
    return shown_with(user.id)


def make_order(user: User, product: Product, quantity: int = 1, key: str = "order-key") -> Order:
    """An order of ``quantity`` of ``product``, placed through the checkout service."""
    fill_cart(user, product, quantity)
    return orders.place_order(user.id, key, as_shown(user), DELIVERY)


def count(model, *where) -> int:
    """How many rows of ``model`` there are (matching ``where``), read fresh."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def notifications_of(user: User) -> list[Notification]:
    statement = select(Notification).where(Notification.user_id == user.id).order_by(Notification.seq)
    return list(db.session.scalars(statement))


def stock_of(product: Product) -> int:
    return db.session.scalar(select(Product.stock).where(Product.id == product.id))


class Auth:
    """Log a test client in and out the way a browser does."""

    def __init__(self, client):
        self.client = client

    def login(self, email="shopper@example.com", password=PASSWORD):
        return self.client.post("/auth/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/auth/logout")


def session_token(client) -> str | None:
    """The login-session token this client's cookie names (None when signed out)."""
    with client.session_transaction() as session:
        return session.get("_user_id")


def set_session_times(token: str, **times) -> None:
    """Move a login session's ``created_at`` and ``last_seen_at`` (aware datetimes)."""
    db.session.execute(update(LoginSession).where(LoginSession.token == token).values(**times))
    db.session.commit()


def client_from(app, address: str) -> FlaskClient:
    """A test client whose requests come from ``address`` (another client to a rate limit)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def shopper(app):
    return make_user()


@pytest.fixture
def admin(app):
    return make_user("admin@example.com", "Ada", admin=True)


def checkout_key(html: bytes) -> str:
    match = re.search(rb'name="idempotency_key" type="hidden" value="([^"]+)"', html)
    assert match, "the cart page has no checkout form"
    return match.group(1).decode()


def snapshot(skip: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
    """Every row of every table (but ``skip``), in a stable order."""
    db.session.rollback()
    return {
        table.name: sorted((tuple(row) for row in db.session.execute(table.select())), key=repr)
        for table in db.metadata.sorted_tables
        if table.name not in skip
    }


@pytest.fixture
def sockets():
    """Live sockets a test opens (through ``connect``), closed at its end whatever happened."""
    opened = []
    yield opened
    for sock in opened:
        sock.close()


@pytest.fixture
def connect(sockets):
    """connect(shopper, **options) opens a LiveSocket that the test cleans up."""

    def open_socket(shopper, **options):
        sock = shopper.connect(**options)
        sockets.append(sock)
        return sock

    return open_socket
