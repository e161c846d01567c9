"""Register, log in, log out, and where a login may send the browser next."""

import pytest
from sqlalchemy import select

from shop import create_app
from shop.extensions import db
from shop.models import LoginSession, User
from testing.apps import make_config
from testing.data import PASSWORD, count, make_user
from testing.shopper import Auth

WRONG_LOGIN = b"Wrong email or password."


def register(client, email="new@example.com", password="a long passphrase", confirm=None, name="Noor"):
    return client.post(
        "/auth/register",
        data={"name": name, "email": email, "password": password, "confirm": confirm or password},
    )


def test_register_creates_an_account_and_signs_in(client):
    assert client.get("/auth/register").status_code == 200

    response = register(client, email="New@Example.COM")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    user = db.session.scalar(select(User))
    assert user.email == "new@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert b"data-user-id" in client.get("/").data


def test_register_an_email_that_exists_answers_as_a_login_would(client, shopper):
    response = register(client, email="SHOPPER@example.com")
    assert response.status_code == 401
    assert WRONG_LOGIN in response.data
    assert count(User) == 1
    assert count(LoginSession) == 0

    response = register(client, email="shopper@example.com", password=PASSWORD)
    assert response.status_code == 302
    assert count(User) == 1
    assert count(LoginSession, LoginSession.user_id == shopper.id) == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"password": "short", "confirm": "short"}, b"between 8 and 256 characters"),
        ({"confirm": "something else"}, b"The passwords differ."),
        ({"email": "not-an-email"}, b"Invalid email"),
        ({"name": ""}, b"This field is required."),
    ],
)
def test_register_validation(client, fields, message):
    data = {"name": "Noor", "email": "new@example.com", "password": "a long passphrase"}
    data["confirm"] = data["password"]
    data.update(fields)
    response = client.post("/auth/register", data=data)
    assert response.status_code == 400
    assert message in response.data
    assert count(User) == 0


def test_login_and_logout(client, auth, shopper):
    assert client.get("/auth/login").status_code == 200

    response = auth.login()
    assert response.status_code == 302
    assert b"data-user-id" in client.get("/").data

    response = auth.logout()
    assert response.status_code == 302
    assert b"data-user-id" not in client.get("/").data
    assert count(LoginSession) == 0


def test_login_email_is_case_insensitive(auth, shopper):
    assert auth.login(email=" Shopper@EXAMPLE.com").status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [("nobody@example.com", PASSWORD), ("shopper@example.com", "wrong password")],
)
def test_unknown_email_and_wrong_password_get_the_same_answer(auth, shopper, email, password):
    response = auth.login(email, password)
    assert response.status_code == 401
    assert WRONG_LOGIN in response.data
    assert count(LoginSession) == 0


def test_logout_is_post_only(client, auth, shopper):
    auth.login()
    assert client.get("/auth/logout").status_code == 405
    assert count(LoginSession) == 1


def test_a_logged_out_cookie_cannot_be_replayed(app, client, auth, shopper):
    auth.login()
    cookie = client.get_cookie("session").value
    auth.logout()

    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/orders").status_code == 302


def test_login_starts_a_fresh_session(client, auth, shopper):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login()
    with client.session_transaction() as session:
        assert "planted" not in session


@pytest.mark.parametrize("target", ["/orders", "/products/1?x=1"])
def test_login_follows_a_local_next(client, shopper, target):
    response = client.post(
        "/auth/login", query_string={"next": target}, data={"email": shopper.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "//evil.com/orders",
        "http://evil.com",
        "https://evil.com/",
        "/\\evil.com",
        "\\\\evil.com",
        "javascript:alert(1)",
        "evil.com",
        "///evil.com",
    ],
)
def test_login_never_follows_next_off_site(client, shopper, target):
    response = client.post(
        "/auth/login", query_string={"next": target}, data={"email": shopper.email, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_page_offers_next_for_anonymous_visitors(client):
    response = client.get("/orders")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_session_cookie_is_httponly_and_lax(client, auth, shopper):
    response = auth.login()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_failed_logins_are_rate_limited():
    app = create_app(make_config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="2 per minute"))
    with app.app_context():
        db.create_all()
        make_user()
        auth = Auth(app.test_client())
        statuses = [auth.login(password="wrong password").status_code for _ in range(3)]
        refused = auth.login()
        db.session.remove()
    assert statuses == [401, 401, 429]
    assert refused.status_code == 429
    assert b"Slow down" in refused.data
