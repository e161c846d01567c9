"""Accounts and sessions: renewal at login, revocation at logout and password
change, cookie flags, no account enumeration, failed-login limits, passwords."""

import re
import threading
import time
from pathlib import Path

import pytest
from argon2 import Type, extract_parameters
from sqlalchemy import func, select

from config import Config, ProductionConfig
from shop import create_app
from shop.extensions import db
from shop.models import LoginSession, User
from testing.apps import ShopClient, make_config
from testing.data import PASSWORD, count, make_user
from testing.server import start_server
from testing.shopper import Auth, Shopper, client_from

CSRF_INPUT = re.compile(rb'<input id="csrf_token" name="csrf_token" type="hidden" value="[^"]*">')
SESSION_COOKIE = "session"


def signed_in(client) -> bool:
    """The test's own check: a page of this user, not the login page."""
    response = client.get("/orders")
    return response.status_code == 200 and b"data-user-id" in response.data


def cookie_of(client) -> str:
    return client.get_cookie(SESSION_COOKIE).value


def client_with_cookie(app, value: str):
    replay = app.test_client()
    replay.set_cookie(SESSION_COOKIE, value)
    return replay


def test_a_cookie_from_before_login_is_not_signed_in_after_it(csrf_app):
    """The pre-login session (it holds a CSRF token) is replaced, not upgraded."""
    make_user()
    client = csrf_app.test_client()
    page = client.get("/auth/login").data
    before = cookie_of(client)
    token = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1).decode()

    response = client.post(
        "/auth/login", data={"csrf_token": token, "email": "shopper@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    after = cookie_of(client)

    assert after != before
    assert signed_in(client)
    replay = client_with_cookie(csrf_app, before)
    assert not signed_in(replay)
    # nor is the old CSRF token good for the signed-in session
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 400


def test_a_cookie_replayed_after_logout_is_sent_to_login(app, client, auth, shopper):
    auth.login()
    stolen = cookie_of(client)
    replay = client_with_cookie(app, stolen)
    assert signed_in(replay)  # the control: the copy works while the session lives

    auth.logout()

    response = replay.get("/orders")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert b"data-user-id" not in replay.get("/").data
    assert count(LoginSession) == 0


def test_session_cookie_is_httponly_and_lax_and_not_secure_in_development(client, auth, shopper):
    header = auth.login().headers["Set-Cookie"]
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert "Secure" not in header  # plain http://127.0.0.1 in development


def test_session_cookie_is_secure_under_production_config():
    config = type(
        "Production",
        (ProductionConfig,),
        {
            "SECRET_KEY": "production-test-secret",
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SOCKETIO_ASYNC_MODE": "threading",
            "WTF_CSRF_ENABLED": False,
        },
    )
    app = create_app(config)
    app.test_client_class = ShopClient
    with app.app_context():
        db.create_all()
        make_user()
        client = app.test_client()
        response = Auth(client).login()
        db.session.remove()
    assert response.status_code == 302
    flags = {part.strip().split("=")[0] for part in response.headers["Set-Cookie"].split(";")}
    assert {"Secure", "HttpOnly", "SameSite"} <= flags
    assert "SameSite=Lax" in response.headers["Set-Cookie"]


def test_production_refuses_to_start_without_a_secret_key():
    config = type("NoSecret", (ProductionConfig,), {"SECRET_KEY": None})
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config)


# -- password change (real server, real sockets) ---------------------------------


def test_password_change_signs_out_the_other_sessions_and_closes_their_sockets(live_server):
    here = Shopper(live_server.url).register("Pat")
    there = Shopper(live_server.url).login(here.email)
    third = Shopper(live_server.url).login(here.email)
    here_socket, there_socket, third_socket = here.connect(), there.connect(), third.connect()
    try:
        here.change_password("a brand new pass")

        there_socket.wait_disconnected()
        third_socket.wait_disconnected()
        for other in (there, third):
            page = other.get("/orders", allow_redirects=False)
            assert page.status_code == 302
            assert "/auth/login" in page.headers["Location"]
        # the browser that changed it stays signed in, socket and all
        assert here.get("/orders", allow_redirects=False).status_code == 200
        assert here_socket.call("sync", {"after_seq": 0})["ok"] is True
        assert here_socket.client.connected
        # and the new password is the one that works
        Shopper(live_server.url).login(here.email, "a brand new pass")
    finally:
        for sock in (here_socket, there_socket, third_socket):
            sock.close()


# -- no account enumeration ------------------------------------------------------


def normalized(body: bytes, email: str) -> bytes:
    """The page without what legitimately differs: the CSRF token and the echoed email."""
    return CSRF_INPUT.sub(b"<csrf>", body).replace(email.encode(), b"<email>")


def error_flashes(body: bytes) -> list[bytes]:
    return re.findall(rb'<div class="flash flash-error" role="alert">([^<]*)</div>', body)


def test_unknown_email_and_wrong_password_answer_alike(client, shopper):
    unknown = client.post("/auth/login", data={"email": "nobody@example.com", "password": PASSWORD})
    wrong = client.post("/auth/login", data={"email": shopper.email, "password": "not the password"})

    assert unknown.status_code == wrong.status_code == 401
    assert normalized(unknown.data, "nobody@example.com") == normalized(wrong.data, shopper.email)
    assert error_flashes(unknown.data) == [b"Wrong email or password."]


def register_form(email: str, password: str, name: str = "Mallory") -> dict:
    return {"name": name, "email": email, "password": password, "confirm": password}


def test_registering_a_taken_email_answers_as_a_failed_login(client, shopper):
    login_failure = client.post("/auth/login", data={"email": "nobody@example.com", "password": PASSWORD})
    taken = client.post("/auth/register", data=register_form(shopper.email, "a guessed password"))

    assert taken.status_code == login_failure.status_code == 401
    assert error_flashes(taken.data) == error_flashes(login_failure.data) == [b"Wrong email or password."]
    assert count(User) == 1
    assert not signed_in(client)
    # the refused registration did not touch the account
    assert db.session.scalar(select(User.name).where(User.id == shopper.id)) == "Sam"


def test_registering_a_taken_email_with_its_password_answers_as_a_new_account(app, client, shopper):
    new = app.test_client().post("/auth/register", data=register_form("new@example.com", PASSWORD))
    taken = client.post("/auth/register", data=register_form(shopper.email.upper(), PASSWORD))

    assert taken.status_code == new.status_code == 302
    assert taken.headers["Location"] == new.headers["Location"]
    assert taken.data == new.data
    assert signed_in(client)
    assert count(User) == 2
    assert db.session.scalar(select(User.name).where(User.id == shopper.id)) == "Sam"


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_section(title: str) -> str:
    """One section of the README, its lines joined by single spaces."""
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return " ".join(text[start : end if end != -1 else None].split())


def test_the_readme_claims_only_what_the_sign_up_form_does(client, shopper):
    """Sign-up tells a stranger that an email was free (it gets an account): the
    README must not promise "no account enumeration", and must name the cap."""
    free = client.post("/auth/register", data=register_form("free@example.com", "a guessed password"))
    assert free.status_code == 302
    assert count(User) == 2

    security = readme_section("Security")
    assert "no account enumeration" not in security.lower()
    assert "a new account, and that new account is itself the answer" in security
    assert f"(`SIGNUP_RATE_LIMIT`, {Config.SIGNUP_RATE_LIMIT};" in security
    # and the figures it gives are the defaults
    assert f"failure budget of {Config.LOGIN_RATE_LIMIT} per client" in security
    assert f"counts against {Config.AUTH_ATTEMPT_RATE_LIMIT} per client" in security
    days = 24 * 3600
    assert f"after {Config.LOGIN_SESSION_IDLE_SECONDS // days} days unused" in security
    assert f"or {Config.LOGIN_SESSION_MAX_SECONDS // days} days after sign-in" in security
    assert f"keeps at most {Config.MAX_LOGIN_SESSIONS}," in security


# -- failed logins are limited per client -------------------------------------------

WINDOW_SECONDS = 3


def test_the_default_limit_is_ten_failed_logins_a_minute():
    assert Config.LOGIN_RATE_LIMIT == "10 per minute"


def test_eleven_failed_logins_get_429_and_the_password_works_after_the_window():
    app = create_app(make_config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT=f"10 per {WINDOW_SECONDS} second"))
    app.test_client_class = ShopClient
    with app.app_context():
        db.create_all()
        user = make_user()
        client = app.test_client()

        def attempt(password, forwarded_for):
            # A forged X-Forwarded-For must not give each attempt a new budget.
            return client.post(
                "/auth/login",
                data={"email": user.email, "password": password},
                headers={"X-Forwarded-For": forwarded_for},
            ).status_code

        failures = [attempt("wrong password", f"10.0.0.{n}") for n in range(10)]
        eleventh = attempt("wrong password", "10.0.0.99")
        right_during_window = attempt(PASSWORD, "10.0.1.1")
        also_register = client.post(
            "/auth/register", data=register_form("someone@example.com", PASSWORD)
        ).status_code
        time.sleep(WINDOW_SECONDS + 0.5)
        right_after_window = attempt(PASSWORD, "10.0.1.2")
        db.session.remove()

    assert failures == [401] * 10
    assert eleventh == 429
    assert right_during_window == 429
    assert also_register == 429  # the sign-up form shares the budget
    assert right_after_window == 302


def test_successful_logins_do_not_use_up_the_budget():
    app = create_app(make_config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute"))
    app.test_client_class = ShopClient
    with app.app_context():
        db.create_all()
        make_user()
        statuses = [Auth(app.test_client()).login().status_code for _ in range(6)]
        db.session.remove()
    assert statuses == [302] * 6


def test_refused_registrations_count_as_failed_logins():
    app = create_app(make_config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute"))
    app.test_client_class = ShopClient
    with app.app_context():
        db.create_all()
        user = make_user()
        client = app.test_client()
        probes = [
            client.post("/auth/register", data=register_form(user.email, f"guess number {n}")).status_code
            for n in range(3)
        ]
        login_after = Auth(client).login().status_code
        db.session.remove()
    assert probes == [401, 401, 401]
    assert login_after == 429


# -- every login and sign-up is limited, and so are new accounts -----------------------


def test_the_default_budgets():
    assert Config.AUTH_ATTEMPT_RATE_LIMIT == "20 per minute"
    assert Config.SIGNUP_RATE_LIMIT == "5 per hour"


@pytest.mark.app_config(RATELIMIT_ENABLED=True, AUTH_ATTEMPT_RATE_LIMIT="4 per minute")
def test_logins_and_sign_ups_share_a_budget_per_client_successful_or_not(app, shopper):
    logins = [Auth(app.test_client()).login().status_code for _ in range(2)]
    invalid = app.test_client().post("/auth/register", data={"email": "not an email"}).status_code
    sign_up = app.test_client().post("/auth/register", data=register_form("new@example.com", PASSWORD))

    login_after = Auth(app.test_client()).login()
    sign_up_after = app.test_client().post("/auth/register", data=register_form("more@example.com", PASSWORD))
    elsewhere = Auth(client_from(app, "10.0.0.2")).login().status_code

    assert logins == [302, 302]
    assert invalid == 400
    assert sign_up.status_code == 302
    assert login_after.status_code == sign_up_after.status_code == 429
    assert b"Slow down" in login_after.data
    assert count(User) == 2  # the shopper and new@
    assert elsewhere == 302  # the budget is the client's


@pytest.mark.app_config(RATELIMIT_ENABLED=True, SIGNUP_RATE_LIMIT="3 per hour")
def test_a_client_may_open_only_so_many_accounts(app, shopper):
    def sign_up(email, password=PASSWORD, client=None, **headers):
        client = client or app.test_client()
        return client.post("/auth/register", data=register_form(email, password), headers=headers).status_code

    refused = [sign_up("bad", "x"), sign_up(shopper.email, "a wrong password")]
    opened = [
        sign_up("one@example.com"),
        # signing in through the sign-up form counts as an account opened: it
        # answers as a new account would, so it must cost the same
        sign_up(shopper.email, PASSWORD),
        sign_up("two@example.com"),
    ]
    capped = app.test_client().post(
        "/auth/register",
        data=register_form("three@example.com", PASSWORD),
        headers={"X-Forwarded-For": "10.9.9.9"},
    )
    elsewhere = sign_up("four@example.com", client=client_from(app, "10.0.0.3"))

    assert refused == [400, 401]  # refusals open nothing and use none of the cap
    assert opened == [302, 302, 302]
    assert capped.status_code == 429
    assert b"Slow down" in capped.data  # the error page, as for every limit
    assert elsewhere == 302
    emails = set(db.session.scalars(select(User.email)))
    assert emails == {shopper.email, "one@example.com", "two@example.com", "four@example.com"}


PARALLEL_SIGN_UPS = 8


def test_sign_ups_sent_in_parallel_open_no_more_accounts_than_the_cap(tmp_path_factory):
    """A real server, eight sign-ups from one client at once, a cap of three."""
    server = start_server(tmp_path_factory, SIGNUP_RATE_LIMIT="3 per hour")
    try:
        browsers = [Shopper(server.url) for _ in range(PARALLEL_SIGN_UPS)]
        forms = [
            {
                "csrf_token": browser.csrf_token("/auth/register"),
                **register_form(f"p{n}@example.com", PASSWORD),
            }
            for n, browser in enumerate(browsers)
        ]
        start = threading.Barrier(PARALLEL_SIGN_UPS)
        statuses = []

        def sign_up(browser, form):
            start.wait(10)
            response = browser.http.post(
                server.url + "/auth/register", data=form, timeout=60, allow_redirects=False
            )
            statuses.append(response.status_code)

        threads = [threading.Thread(target=sign_up, args=pair) for pair in zip(browsers, forms, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        with server.database() as session:
            opened = session.scalar(
                select(func.count()).select_from(User).where(User.email.like("p%@example.com"))
            )
    finally:
        server.stop()

    assert sorted(statuses) == [302] * 3 + [429] * (PARALLEL_SIGN_UPS - 3)
    assert opened == 3


# -- the password change shares the failure budget, per client and per account ---------


def change_password(client, current: str):
    form = {"current": current, "password": "a new passphrase", "confirm": "a new passphrase"}
    return client.post("/auth/password", data=form)


@pytest.mark.app_config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
def test_wrong_current_passwords_use_up_the_clients_failure_budget(app, shopper):
    browser = app.test_client()
    assert Auth(browser).login().status_code == 302

    guesses = [change_password(browser, f"guess number {n}").status_code for n in range(3)]
    right = change_password(browser, PASSWORD)
    login_here = Auth(app.test_client()).login()

    assert guesses == [401, 401, 401]
    assert right.status_code == 429
    assert b"Slow down" in right.data
    assert login_here.status_code == 429  # one budget with the login form
    db.session.expire_all()
    assert db.session.get(User, shopper.id).check_password(PASSWORD)


@pytest.mark.app_config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
def test_failed_logins_count_against_the_password_change_too(app, shopper):
    browser = app.test_client()
    assert Auth(browser).login().status_code == 302
    failures = [Auth(app.test_client()).login(password="wrong password").status_code for _ in range(3)]
    assert failures == [401, 401, 401]
    assert change_password(browser, PASSWORD).status_code == 429


@pytest.mark.app_config(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
def test_wrong_current_passwords_use_up_the_accounts_budget_from_every_address(app, shopper):
    clients = [client_from(app, f"10.0.1.{n}") for n in range(4)]
    for client in clients:
        assert Auth(client).login().status_code == 302

    guesses = [change_password(client, "a guessed password").status_code for client in clients[:3]]
    from_a_fourth_address = change_password(clients[3], PASSWORD)

    assert guesses == [401, 401, 401]
    assert from_a_fourth_address.status_code == 429
    # the control: that address's own budget is whole, its login form works
    assert Auth(client_from(app, "10.0.1.3")).login().status_code == 302
    # and another account's password change is not held up
    other = make_user("other@example.com", "Oz")
    other_browser = client_from(app, "10.0.2.1")
    assert Auth(other_browser).login(other.email).status_code == 302
    assert change_password(other_browser, PASSWORD).status_code == 302


# -- passwords -------------------------------------------------------------------

PASSWORDS = [
    "x" * 64,
    "pässwörd-ünïcødé-密码-пароль",
    "🔑 emoji and spaces  ",
    "ﬃ ligature and Ω vs Ω",  # not NFKC-folded: what you type is what counts
    "\u00e9 composed",
]


@pytest.mark.parametrize("password", PASSWORDS)
def test_long_and_non_ascii_passwords_round_trip(client, password):
    response = client.post("/auth/register", data=register_form("round@example.com", password))
    assert response.status_code == 302
    client.post("/auth/logout")

    assert Auth(client).login("round@example.com", password).status_code == 302
    client.post("/auth/logout")
    assert Auth(client).login("round@example.com", password[:-1] + "?").status_code == 401
    if password != password.encode("ascii", "replace").decode():
        ascii_lookalike = password.encode("ascii", "replace").decode()
        assert Auth(client).login("round@example.com", ascii_lookalike).status_code == 401


def test_decomposed_unicode_is_a_different_password(client):
    client.post("/auth/register", data=register_form("nfc@example.com", "caf\u00e9 au lait"))
    client.post("/auth/logout")
    assert Auth(client).login("nfc@example.com", "cafe\u0301 au lait").status_code == 401
    assert Auth(client).login("nfc@example.com", "caf\u00e9 au lait").status_code == 302


def test_stored_hash_is_argon2id_at_or_above_owasp_minimum(client):
    client.post("/auth/register", data=register_form("kdf@example.com", "a decent passphrase"))
    stored = db.session.scalar(select(User.password_hash).where(User.email == "kdf@example.com"))

    parameters = extract_parameters(stored)
    assert parameters.type is Type.ID
    # OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1 at least.
    assert parameters.memory_cost >= 19 * 1024
    assert parameters.time_cost >= 2
    assert parameters.parallelism >= 1
    assert parameters.salt_len >= 16
    assert "a decent passphrase" not in stored
