"""Fixtures: a fresh app and database per test, a client, and plain factories."""

import re

import pytest

from config import TestingConfig
from shop import create_app
from shop.extensions import db
from shop.models import Product, User
from shop.services import accounts

PASSWORD = "correct horse battery"


def make_config(**overrides):
    return type("TestConfig", (TestingConfig,), overrides)


@pytest.fixture
def app():
    app = create_app(make_config())
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def make_user(email="shopper@example.com", name="Sam", admin=False, password=PASSWORD) -> User:
    return accounts.register(email, name, password, is_admin=admin)


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


class Auth:
    """Log a test client in and out the way a browser does."""

    def __init__(self, client):
        self.client = client

    def login(self, email="shopper@example.com", password=PASSWORD):
        return self.client.post("/auth/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/auth/logout")


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
