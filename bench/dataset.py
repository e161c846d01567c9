"""The benchmark's data: a seeded shop database with many logged-in shoppers.

Ten thousand real logins over HTTP would cost ten thousand argon2 checks
(about 50 ms of CPU each: eight minutes on this machine) and measure the
password hash, not the push channel. Instead the users and their login
sessions are inserted in bulk (rows like ``accounts.register`` and
``accounts.start_session`` write, sharing the tests' one cheap argon2 hash), and each browser
cookie is signed with the shop's own session interface and secret: the
server cannot tell them from cookies it issued. One cookie is checked
against the running server before anything is measured, and the admin
logs in for real over HTTP.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import Flask
from sqlalchemy import insert, select

from shop.extensions import db
from shop.models import LoginSession, Order, OrderEvent, OrderItem, Product, User
from shop.models.base import utcnow
from shop.seed import DEMO_SHOPPER
from testing.apps import app_on
from testing.data import password_hash
from testing.server import prepare_database

FANOUT_PRODUCT_NAME = "Single-Origin Ethiopia Yirgacheffe, 250 g"


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
        user_ids = _insert_users(users)
        tokens = _insert_sessions(user_ids)
        owner_id = db.session.scalar(select(User.id).where(User.email == DEMO_SHOPPER[0]))
        owner_token = _insert_sessions([owner_id])[0]
        order_ids = _insert_orders(owner_id, orders)
        product_id = db.session.scalar(select(Product.id).where(Product.name == FANOUT_PRODUCT_NAME))
        db.session.remove()
        db.engine.dispose()
    return Dataset(tokens, owner_token, order_ids, product_id)


def _insert_users(count: int) -> list[int]:
    now = utcnow()
    rows = [
        {
            "email": f"bench{i}@example.com",
            "name": f"Bench Shopper {i}",
            "password_hash": password_hash(),
            "is_admin": False,
            "last_seq": 0,
            "created_at": now,
        }
        for i in range(count)
    ]
    if rows:
        db.session.execute(insert(User), rows)
    db.session.commit()
    return list(db.session.scalars(select(User.id).where(User.email.like("bench%")).order_by(User.id)))


def _insert_sessions(user_ids: list[int]) -> list[str]:
    now = utcnow()
    tokens = [secrets.token_urlsafe(32) for _ in user_ids]
    rows = [
        {"token": token, "user_id": user_id, "created_at": now}
        for token, user_id in zip(tokens, user_ids, strict=True)
    ]
    if rows:
        db.session.execute(insert(LoginSession), rows)
    db.session.commit()
    return tokens


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


def session_cookies(database_url: str, secret: str, tokens: list[str]) -> list[str]:
    """``Cookie`` headers a browser would send after logging in with each token.

    Flask-Login's ``login_user`` puts ``_user_id`` (the shop's get_id() is the
    login-session token), ``_fresh`` and ``_id`` in the session; the shop's
    own session interface signs it with the server's secret.
    """
    app = bench_app(database_url, secret)
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    with app.app_context():
        db.engine.dispose()
    return [
        f"{name}={serializer.dumps({'_user_id': token, '_fresh': True, '_id': 'bench'})}" for token in tokens
    ]
