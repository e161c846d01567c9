"""Fixtures and helpers for the hardening suite.

``snapshot()`` (in tests/conftest.py) reads every row of every table, so "nothing changed" is
checked against the whole database rather than the rows a test thought of.
Routes are enumerated from ``app.url_map``: a new route is covered without
editing these tests.
"""

from collections.abc import Iterator

import pytest
from flask import Flask
from werkzeug.routing import Rule

from shop.extensions import db
from shop.services import addresses, shipping
from tests.checkout_support import ADDRESS
from tests.conftest import make_config, make_order, make_product, make_user
from tests.live import LiveServer
from tests.realtime.conftest import start_server


def post_rules(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "POST" in rule.methods), key=lambda rule: rule.rule
    )


def get_rules(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and rule.endpoint != "static"),
        key=lambda rule: rule.rule,
    )


def build(app: Flask, rule: Rule, ids: dict[str, int]) -> str:
    """The URL of ``rule`` with its arguments taken from ``ids`` (by argument name)."""
    missing = rule.arguments - ids.keys()
    assert not missing, f"no id for {missing} of {rule.rule}: add one to the world fixture"
    return app.url_map.bind("localhost").build(rule.endpoint, {name: ids[name] for name in rule.arguments})


class World:
    """Two shoppers and an admin, a product, an order, notification and saved address of
    Alice's, and the shop's first shipping method."""

    def __init__(self):
        self.alice = make_user("alice@example.com", "Alice")
        self.bob = make_user("bob@example.com", "Bob")
        self.admin = make_user("admin@example.com", "Ada", admin=True)
        self.product = make_product("Teapot", stock=10)
        self.sold_out = make_product("Kettle", stock=0)
        self.order = make_order(self.alice, self.product, 2, key="alice-order")
        self.address = addresses.add_address(self.alice.id, ADDRESS)
        self.shipping_method = shipping.offered_methods()[0]
        self.ids = {
            "product_id": self.product.id,
            "order_id": self.order.id,
            "address_id": self.address.id,
            "method_id": self.shipping_method.id,
        }


@pytest.fixture
def world(app) -> World:
    return World()


@pytest.fixture
def csrf_app() -> Iterator[Flask]:
    """The testing app with CSRF protection on, as in production."""
    from tests.conftest import ShopClient

    app = _make_app(WTF_CSRF_ENABLED=True)
    app.test_client_class = ShopClient
    with app.app_context():
        db.create_all()
        shipping.ensure_default_methods()
        yield app
        db.session.remove()
        db.drop_all()


def _make_app(**overrides) -> Flask:
    from shop import create_app

    return create_app(make_config(**overrides))


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """One real eventlet server for the tests of a module."""
    server = start_server(tmp_path_factory)
    yield server
    server.stop()


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")
