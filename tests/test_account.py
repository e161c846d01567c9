"""The account page: the live login sessions, signing one out, signing out everywhere."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from shop.extensions import db
from shop.models import LoginSession
from shop.models.base import utcnow
from shop.services.devices import describe_device
from testing.data import PASSWORD, count, make_user, set_session_times
from testing.shopper import client_from, session_token

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
SESSION_ROW = re.compile(rb'<tr data-session-id="([^"]+)"( data-current-session)?')


def browser(app, address="127.0.0.1", user_agent=FIREFOX_LINUX, email="shopper@example.com"):
    client = client_from(app, address)
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    response = client.post("/auth/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def signed_in(client) -> bool:
    response = client.get("/orders")
    return response.status_code == 200 and b"data-user-id" in response.data


def public_id(token: str) -> str:
    return db.session.scalar(select(LoginSession.public_id).where(LoginSession.token == token))


def rows(page: bytes) -> list[tuple[str, bool]]:
    """(public id, is this browser) for each session listed."""
    return [(match[1].decode(), bool(match[2])) for match in SESSION_ROW.finditer(page)]


def test_the_page_lists_the_live_sessions_this_one_first_and_marked(app, shopper):
    laptop = browser(app, "10.0.0.7", FIREFOX_LINUX)
    phone = browser(app, "10.0.0.8", CHROME_ANDROID)
    expired = session_token(browser(app, "10.0.0.9"))
    set_session_times(expired, last_seen_at=utcnow() - timedelta(days=15))

    response = phone.get("/account")

    assert response.status_code == 200
    page = response.data
    assert rows(page) == [(public_id(session_token(phone)), True), (public_id(session_token(laptop)), False)]
    for shown in (b"Firefox on Linux", b"10.0.0.7", b"Chrome on Android", b"10.0.0.8", b"Last seen"):
        assert shown in page
    assert b"10.0.0.9" not in page
    # the secret tokens appear nowhere, only the public ids
    for token in db.session.scalars(select(LoginSession.token)):
        assert token.encode() not in page


def test_every_signed_in_page_links_to_the_account_page(app, client, shopper):
    assert b'href="/account"' not in client.get("/").data
    signed_in_page = browser(app).get("/").data
    assert b'href="/account"' in signed_in_page


def test_the_account_page_needs_a_login(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_signing_out_another_session(app, shopper):
    here, there = browser(app), browser(app, "10.0.0.2")

    response = here.post("/account/sessions/sign-out", data={"session_id": public_id(session_token(there))})

    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    assert b"That session is signed out." in here.get("/account").data
    assert not signed_in(there)
    assert signed_in(here)
    assert count(LoginSession) == 1


def test_signing_out_this_session_signs_this_browser_out(app, shopper):
    here, there = browser(app), browser(app, "10.0.0.2")

    response = here.post("/account/sessions/sign-out", data={"session_id": public_id(session_token(here))})

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    assert not signed_in(here)
    assert signed_in(there)


@pytest.mark.parametrize(
    ("session_id", "status"),
    [("someone else's", 404), ("no-such-session", 404), ("a token", 400), ("", 400), (None, 400)],
)
def test_only_a_session_of_ones_own_account_can_be_signed_out(app, shopper, session_id, status):
    other = make_user("other@example.com", "Oz")
    theirs = browser(app, "10.0.0.3", email=other.email)
    here = browser(app)
    values = {"someone else's": public_id(session_token(theirs)), "a token": session_token(here)}
    data = {} if session_id is None else {"session_id": values.get(session_id, session_id)}
    before = set(db.session.scalars(select(LoginSession.token)))

    response = here.post("/account/sessions/sign-out", data=data)

    assert response.status_code == status
    assert b'class="flash flash-error"' in response.data
    assert set(db.session.scalars(select(LoginSession.token))) == before
    assert signed_in(theirs) and signed_in(here)


def test_signing_out_everywhere_ends_every_session_of_the_account_only(app, shopper):
    other = make_user("other@example.com", "Oz")
    theirs = browser(app, email=other.email)
    here, phone, laptop = browser(app), browser(app, "10.0.0.2"), browser(app, "10.0.0.3")

    response = here.post("/account/sessions/sign-out-everywhere")

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    assert b"You are signed out everywhere (3 sessions)." in here.get("/auth/login").data
    assert not any(signed_in(client) for client in (here, phone, laptop))
    assert count(LoginSession, LoginSession.user_id == shopper.id) == 0
    assert signed_in(theirs)


def test_the_sign_out_forms_name_sessions_by_public_id(app, shopper):
    here = browser(app)
    browser(app, "10.0.0.2")
    page = here.get("/account").data.decode()

    named = re.findall(r'name="session_id" value="([^"]+)"', page)
    public_ids = set(db.session.scalars(select(LoginSession.public_id)))
    assert sorted(named) == sorted(public_ids)
    assert 'action="/account/sessions/sign-out-everywhere" method="post"' in page
    assert page.count('name="csrf_token"') == len(named) + 2  # each form, and the header's log out


@pytest.mark.parametrize(
    ("user_agent", "device"),
    [
        (FIREFOX_LINUX, "Firefox on Linux"),
        (CHROME_ANDROID, "Chrome on Android"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iPhone",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.5 Safari/605.1.15",
            "Safari on macOS",
        ),
        ("python-requests/2.34.2", "python-requests"),
        ("", "Unknown browser"),
    ],
)
def test_the_device_is_named_from_the_user_agent(user_agent, device):
    assert describe_device(user_agent) == device
