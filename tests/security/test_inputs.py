"""Input the database cannot take or the app should not read: NUL characters,
ids beyond any column, bodies over the size limit. Each gets a clear 4xx and
changes nothing, on SQLite and on PostgreSQL."""

import pytest
from sqlalchemy import select

from config import ProductionConfig
from shop import create_app
from shop.extensions import db
from shop.models import LoginSession
from shop.services import accounts
from testing.apps import build, get_rules, post_rules
from testing.data import PASSWORD, World, snapshot


@pytest.fixture
def app(db_app):
    return db_app


def signed_in(app, user):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = accounts.start_session(user.id)
    return client


# (who, method, path, form): a NUL in each kind of text the shop stores or searches for.
NUL_INPUTS = [
    ("anonymous", "GET", "/?q=tea%00pot", None),
    ("anonymous", "GET", "/auth/login?next=/orders%00", None),
    ("anonymous", "POST", "/auth/login", {"email": "alice@example.com\x00", "password": PASSWORD}),
    (
        "anonymous",
        "POST",
        "/auth/register",
        {"name": "Eve\x00", "email": "eve@example.com", "password": PASSWORD, "confirm": PASSWORD},
    ),
    (
        "admin",
        "POST",
        "/admin/products/new",
        {"name": "Jug\x00", "description": "", "price": "1.00", "stock": "1", "low_stock_threshold": "1"},
    ),
    ("admin", "POST", "/admin/orders/{order_id}/status", {"status": "processing", "note": "soon\x00"}),
    ("admin", "GET", "/admin/products?q=%00", None),
]


@pytest.mark.parametrize(("who", "method", "path", "form"), NUL_INPUTS, ids=[i[2][:30] for i in NUL_INPUTS])
def test_a_nul_character_anywhere_is_a_400_that_changes_nothing(app, who, method, path, form):
    world = World()
    client = app.test_client() if who == "anonymous" else signed_in(app, world.admin)
    before = snapshot()

    response = client.open(path.format(**world.ids), method=method, data=form)

    assert response.status_code == 400
    assert b"NUL characters" in response.data
    assert snapshot() == before


def test_a_user_agent_with_control_characters_is_stored_without_them(app):
    World()
    response = app.test_client().post(
        "/auth/login",
        data={"email": "alice@example.com", "password": PASSWORD},
        headers={"User-Agent": "Evil\x00Browser\x1b/1.0"},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(LoginSession.user_agent)) == "EvilBrowser/1.0"


@pytest.mark.parametrize("too_big", [2**31, 2**63, 10**30])
def test_ids_beyond_any_column_are_404_on_every_route(app, too_big):
    """Every route with an id, enumerated from the URL map, as the admin (who reaches them all)."""
    world = World()
    client = signed_in(app, world.admin)
    # (A signed token in a URL is no id: its routes are tested with forged tokens.)
    rules = [rule for rule in (*get_rules(app), *post_rules(app)) if rule.arguments - {"token"}]
    assert len(rules) >= 12
    for rule in rules:
        url = build(app, rule, {name: too_big for name in rule.arguments})
        method = "POST" if "POST" in rule.methods and "GET" not in rule.methods else "GET"
        assert client.open(url, method=method).status_code == 404, url
    db.session.rollback()


def test_a_body_over_the_limit_is_a_friendly_413_that_changes_nothing(app):
    before = snapshot()
    big = {"email": "alice@example.com", "password": "x" * (2 * 1024 * 1024)}

    response = app.test_client().post("/auth/login", data=big)

    assert response.status_code == 413
    assert b"1024 KiB" in response.data and b"Back to the shop" in response.data
    assert snapshot() == before


def test_production_asks_browsers_for_https_only():
    settings = {"SECRET_KEY": "s" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    production = create_app(type("Prod", (ProductionConfig,), settings))
    assert production.test_client().get("/healthz").headers["Strict-Transport-Security"] == "max-age=31536000"


def test_development_does_not_send_hsts(app):
    assert "Strict-Transport-Security" not in app.test_client().get("/healthz").headers
