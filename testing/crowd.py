"""Thousands of signed-in shoppers without thousands of logins.

Ten thousand real logins over HTTP would cost ten thousand argon2 checks
(about 50 ms of CPU each) and measure the password hash, not the push
channel. Instead the users and their login sessions are inserted in bulk
(rows like ``accounts.register`` and ``accounts.start_session`` write, with
the tests' one cheap argon2 hash), and each browser cookie is signed with the
shop's own session interface and secret: the server cannot tell them from
cookies it issued. Call these inside an app context on the server's database.
"""

import secrets

from flask import Flask
from sqlalchemy import insert, select

from shop.extensions import db
from shop.models import LoginSession, User
from shop.models.base import utcnow
from testing.data import password_hash


def insert_shoppers(count: int, prefix: str = "crowd") -> list[int]:
    """``count`` shoppers named ``<prefix><i>@example.com``; their ids, in order."""
    now, hashed = utcnow(), password_hash()
    rows = [
        {
            "email": f"{prefix}{i}@example.com",
            "name": f"Shopper {i}",
            "password_hash": hashed,
            "is_admin": False,
            "last_seq": 0,
            "created_at": now,
        }
        for i in range(count)
    ]
    if rows:
        db.session.execute(insert(User), rows)
    db.session.commit()
    return list(db.session.scalars(select(User.id).where(User.email.like(f"{prefix}%")).order_by(User.id)))


def insert_sessions(user_ids: list[int]) -> list[str]:
    """One login session per user; their tokens, in order."""
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


def session_cookies(app: Flask, tokens: list[str]) -> list[str]:
    """``Cookie`` headers a browser would send after logging in with each token.

    Flask-Login's ``login_user`` puts ``_user_id`` (the shop's get_id() is the
    login-session token), ``_fresh`` and ``_id`` in the session; the shop's
    own session interface signs it with ``app``'s secret, which must be the server's.
    Each also holds the CSRF secret that Flask-WTF keeps in the session, as a
    browser's cookie does after its first page: a client that sends the same
    cookie every time (wrk) would otherwise get a new secret, and a new
    cookie to sign, on every page.
    """
    serializer = app.session_interface.get_signing_serializer(app)
    name = app.config["SESSION_COOKIE_NAME"]
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return [f"{name}={serializer.dumps(_login_session(token, field))}" for token in tokens]


def _login_session(token: str, csrf_field: str) -> dict:
    return {"_user_id": token, "_fresh": True, "_id": "crowd", csrf_field: secrets.token_hex(20)}
