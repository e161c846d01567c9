"""The benchmark's data: a seeded shop database with many logged-in shoppers,
inserted in bulk with signed cookies (testing/crowd.py says why), and the
demo shopper's placed orders and a cart of three lines. One cookie is checked against the running
server before anything is measured, and the admin logs in for real over HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select

from shop.extensions import db
from shop.models import CartItem, Order, OrderEvent, OrderItem, Product, User
from shop.seed import DEMO_SHOPPER
from testing import crowd
from testing.apps import app_on
from testing.crowd import insert_sessions, insert_shoppers
from testing.server import prepare_database

FANOUT_PRODUCT_NAME = "Single-Origin Ethiopia Yirgacheffe, 250 g"
CART_LINES = 3  # in the owner's cart, for (d)'s cart page


@dataclass
class Dataset:
    user_tokens: list[str]  # one login session per bench user, in order
    owner_token: str  # the demo shopper, who owns every bench order
    order_ids: list[int]  # the owner's orders, all "placed"
    fanout_product_id: int


def bench_app(database_url: str, secret: str = "unused") -> Flask:
    return app_on(database_url, SECRET_KEY=secret, SOCKETIO_ASYNC_MODE="threading")


def build(database_url: str, users: int, orders: int) -> Dataset:
    """Schema, demo data, ``users`` logged-in shoppers and ``orders`` placed orders."""
    prepare_database(database_url)
    app = bench_app(database_url)
    with app.app_context():
        user_ids = insert_shoppers(users, prefix="bench")
        tokens = insert_sessions(user_ids)
        owner_id = db.session.scalar(select(User.id).where(User.email == DEMO_SHOPPER[0]))
        owner_token = insert_sessions([owner_id])[0]
        order_ids = _insert_orders(owner_id, orders)
        _fill_cart(owner_id, CART_LINES)
        product_id = db.session.scalar(select(Product.id).where(Product.name == FANOUT_PRODUCT_NAME))
        db.session.remove()
        db.engine.dispose()
    return Dataset(tokens, owner_token, order_ids, product_id)


def _insert_orders(owner_id: int, count: int) -> list[int]:
    products = db.session.scalars(select(Product).where(Product.active).order_by(Product.id)).all()
    orders = []
    for i in range(count):
        product = products[i % len(products)]
        orders.append(
            Order(
                user_id=owner_id,
                status="placed",
                items_cents=product.price_cents,
                total_cents=product.price_cents,
                payment_method="pay_on_delivery",  # ships unpaid: status changes need no confirmation
                idempotency_key=f"bench-{i}",
                items=[
                    OrderItem(
                        product_id=product.id,
                        name=product.name,
                        unit_price_cents=product.price_cents,
                        quantity=1,
                    )
                ],
                events=[OrderEvent(from_status=None, to_status="placed", actor_id=owner_id)],
            )
        )
    db.session.add_all(orders)
    db.session.commit()
    return [order.id for order in orders]


def _fill_cart(owner_id: int, lines: int) -> None:
    products = db.session.scalars(
        select(Product.id).where(Product.active, Product.stock > 0).order_by(Product.id).limit(lines)
    )
    db.session.add_all(CartItem(user_id=owner_id, product_id=id_, quantity=1) for id_ in products)
    db.session.commit()


def session_cookies(database_url: str, secret: str, tokens: list[str]) -> list[str]:
    """``Cookie`` headers a browser would send after logging in with each token."""
    app = bench_app(database_url, secret)
    with app.app_context():
        db.engine.dispose()
    return crowd.session_cookies(app, tokens)
