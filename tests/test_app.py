"""The application as a whole: health, error pages, security headers, CSRF and configuration."""

import os
import re
import subprocess
import sys

import pytest

from config import ProductionConfig, config_from_env
from shop import create_app
from shop.extensions import db
from shop.models import CartItem, LoginSession, Notification, Order, Product, StockWatch
from testing.data import PASSWORD, count, fill_cart, make_order, make_product

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAFE_REFERRER_POLICIES = ("same-origin", "strict-origin-when-cross-origin", "no-referrer")
# Settings config.py reads at import time: the subprocess tests set their own.
CONFIG_ENV = ("SHOP_CONFIG", "SECRET_KEY", "DATABASE_URL", "SOCKETIO_MESSAGE_QUEUE")


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in directives}


# health and error pages ------------------------------------------------------------


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.parametrize(
    ("method", "url", "status", "heading"),
    [
        ("get", "/no-such-page", 404, b"Not found"),
        ("get", "/orders/abc", 404, b"Not found"),
        ("post", "/", 405, b"Not allowed"),
        ("get", "/auth/logout", 405, b"Not allowed"),
        ("get", "/cart/remove/1", 405, b"Not allowed"),
    ],
)
def test_error_pages(client, method, url, status, heading):
    response = getattr(client, method)(url)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert heading in response.data
    assert b"Back to the shop" in response.data


def test_an_unexpected_error_rolls_back_and_shows_500(app, client):
    def broken_view():
        db.session.add(Product(name="Half-made", price_cents=1))
        db.session.flush()
        raise RuntimeError("bug")

    app.add_url_rule("/broken", view_func=broken_view)

    response = client.get("/broken")

    assert response.status_code == 500
    assert b"Something broke" in response.data
    assert b"bug" not in response.data
    assert count(Product) == 0


# security headers ----------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/", "/products/1", "/auth/login", "/healthz", "/nope", "/orders", "/static/css/shop.css"]
)
def test_security_headers_on_every_response(client, url):
    make_product()
    response = client.get(url)

    csp = csp_directives(response)
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp.get("default-src", [])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] in (
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    )


def test_pages_carry_no_inline_script(client, auth, admin, shopper):
    order = make_order(shopper, make_product(stock=5))
    pages = ["/", "/products/1", "/auth/login", "/auth/register"]
    auth.login(admin.email)
    pages_as_admin = ["/cart", "/orders", "/notifications", f"/admin/orders/{order.id}", "/admin/products"]
    for url in pages + pages_as_admin:
        html = client.get(url).data.decode()
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", html), url
        assert not re.search(r"\son[a-z]+\s*=", html), url
        assert "javascript:" not in html, url


def test_logged_in_pages_are_not_cached(client, auth, shopper):
    auth.login()
    assert client.get("/orders").headers["Cache-Control"] == "no-store"


# CSRF ------------------------------------------------------------------------------


def csrf_token(client, url="/auth/login") -> str:
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', client.get(url).data)
    assert match, f"{url} has no CSRF token"
    return match.group(1).decode()


def login_with_token(client, email="shopper@example.com") -> str:
    token = csrf_token(client)
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return csrf_token(client, "/")


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_login_without_a_token_is_refused(client, shopper):
    response = client.post("/auth/login", data={"email": shopper.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"CSRF" in response.data
    assert count(LoginSession) == 0


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/cart/add/1", {"quantity": "1"}),
        ("/cart/update/1", {"quantity": "3"}),
        ("/cart/remove/1", {}),
        ("/checkout", {"idempotency_key": "abc"}),
        ("/orders/1/cancel", {}),
        ("/products/2/watch", {}),
        ("/notifications/read", {"up_to_seq": "9"}),
        ("/auth/logout", {}),
    ],
)
@pytest.mark.parametrize("token", [None, "forged-token"])
def test_posts_without_a_valid_token_change_nothing(client, shopper, admin, url, data, token):
    teapot = make_product("Teapot", stock=5)
    make_product("Sold out", stock=0)
    make_order(shopper, teapot, 1)
    make_order(admin, teapot, 1)
    fill_cart(shopper, teapot, 2)
    login_with_token(client)
    if token:
        data = {**data, "csrf_token": token}

    response = client.post(url, data=data)

    assert response.status_code == 400
    assert db.session.get(CartItem, 1).quantity == 2
    assert count(Order) == 2
    assert db.session.get(Order, 1).status == "placed"
    assert count(StockWatch) == 0
    assert count(Notification, Notification.read) == 0
    assert count(LoginSession) == 1


@pytest.mark.app_config(WTF_CSRF_ENABLED=True)
def test_the_same_post_with_the_token_goes_through(client, shopper):
    teapot = make_product("Teapot", stock=5)
    token = login_with_token(client)
    response = client.post(f"/cart/add/{teapot.id}", data={"quantity": "2", "csrf_token": token})
    assert response.status_code == 302
    assert count(CartItem) == 1


# configuration -----------------------------------------------------------------------


def test_production_refuses_to_start_without_a_secret_key():
    config = type(
        "NoSecret", (ProductionConfig,), {"SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config)


def test_production_session_cookie_is_secure():
    config = type(
        "Prod", (ProductionConfig,), {"SECRET_KEY": "s" * 32, "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    )
    app = create_app(config)
    cookie = app.test_client().get("/auth/login").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize(
    ("name", "expected"),
    [("development", "DevelopmentConfig"), ("testing", "TestingConfig"), ("production", "ProductionConfig")],
)
def test_shop_config_picks_the_class(monkeypatch, name, expected):
    monkeypatch.setenv("SHOP_CONFIG", name)
    assert config_from_env().__name__ == expected


def test_shop_config_defaults_to_development_and_rejects_typos(monkeypatch):
    monkeypatch.delenv("SHOP_CONFIG", raising=False)
    assert config_from_env().__name__ == "DevelopmentConfig"
    monkeypatch.setenv("SHOP_CONFIG", "prod")
    with pytest.raises(RuntimeError, match="SHOP_CONFIG must be one of"):
        config_from_env()


def run_app(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    """Build the app in a fresh interpreter, where config.py reads this environment."""
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_ENV}
    return subprocess.run(
        [sys.executable, "-c", f"from shop import create_app\napp = create_app()\n{code}"],
        cwd=ROOT,
        env={**clean, "SOCKETIO_ASYNC_MODE": "threading", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_database_url_overrides_the_default(tmp_path):
    path = tmp_path / "elsewhere.db"
    result = run_app(
        {"SHOP_CONFIG": "production", "SECRET_KEY": "x" * 32, "DATABASE_URL": f"sqlite:///{path}"},
        "from shop.extensions import db\n"
        "with app.app_context(): db.create_all()\n"
        "print(app.config['SQLALCHEMY_DATABASE_URI'], app.config['SESSION_COOKIE_SECURE'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [f"sqlite:///{path}", "True"]
    assert path.stat().st_size > 0


def test_production_from_the_environment_needs_a_secret_key(tmp_path):
    result = run_app({"SHOP_CONFIG": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}, "")
    assert result.returncode != 0
    assert "SECRET_KEY must be set in production" in result.stderr
