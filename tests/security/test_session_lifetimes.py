"""Login sessions end on the server: after an idle time, after an absolute
lifetime (OWASP ASVS 7.3.1, 7.3.2), and beyond a cap per account; expired
rows are pruned at login; "last seen" is written every few minutes, never on
every request."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from config import Config
from shop.extensions import db
from shop.models import LoginSession, SocketConnection
from shop.models.base import utcnow
from shop.realtime import publisher
from testing.apps import statements_run
from testing.data import count, make_user, set_session_times
from testing.shopper import Auth, session_token

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def signed_in(client) -> bool:
    response = client.get("/orders")
    return response.status_code == 200 and b"data-user-id" in response.data


def browser(app, email="shopper@example.com"):
    """A new browser signed in through the login form."""
    client = app.test_client()
    assert Auth(client).login(email).status_code == 302
    return client


def writes(seen: list[str]) -> list[str]:
    return [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def test_the_default_lifetimes_and_cap():
    assert Config.LOGIN_SESSION_IDLE_SECONDS == 14 * 24 * 3600
    assert Config.LOGIN_SESSION_MAX_SECONDS == 30 * 24 * 3600
    assert Config.MAX_LOGIN_SESSIONS == 20
    assert 60 <= Config.LOGIN_SESSION_TOUCH_SECONDS <= 15 * 60


def test_a_session_unused_for_the_idle_time_signs_nobody_in(app, shopper):
    client = browser(app)
    token = session_token(client)

    set_session_times(token, last_seen_at=utcnow() - 13 * DAY)
    assert signed_in(client)  # the control: not idle long enough yet

    set_session_times(token, last_seen_at=utcnow() - 14 * DAY - MINUTE)
    response = client.get("/orders")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_a_session_past_its_lifetime_signs_nobody_in_however_recently_used(app, shopper):
    client = browser(app)
    token = session_token(client)

    set_session_times(token, created_at=utcnow() - 29 * DAY, last_seen_at=utcnow())
    assert signed_in(client)

    set_session_times(token, created_at=utcnow() - 30 * DAY - MINUTE, last_seen_at=utcnow())
    assert not signed_in(client)


@pytest.mark.app_config(LOGIN_SESSION_IDLE_SECONDS=60, LOGIN_SESSION_MAX_SECONDS=3600)
def test_the_lifetimes_are_settings(app, shopper):
    client = browser(app)
    set_session_times(session_token(client), last_seen_at=utcnow() - 2 * MINUTE)
    assert not signed_in(client)


def test_last_seen_is_written_every_few_minutes_not_on_every_request(app, shopper):
    client = browser(app)
    token = session_token(client)
    touch_every = timedelta(seconds=app.config["LOGIN_SESSION_TOUCH_SECONDS"])

    with statements_run() as seen:
        for _ in range(5):
            assert signed_in(client)
    assert writes(seen) == []

    stale = utcnow() - touch_every - MINUTE
    set_session_times(token, last_seen_at=stale)
    with statements_run() as seen:
        for _ in range(5):
            assert signed_in(client)
    [touch] = writes(seen)
    assert touch.lstrip().upper().startswith("UPDATE LOGIN_SESSIONS")
    db.session.rollback()
    last_seen = db.session.scalar(select(LoginSession.last_seen_at).where(LoginSession.token == token))
    assert utcnow() - last_seen < MINUTE


def test_a_login_prunes_that_accounts_expired_sessions(app, shopper):
    other = make_user("other@example.com", "Oz")
    idle, old, live = (session_token(browser(app)) for _ in range(3))
    others_idle = session_token(browser(app, other.email))
    set_session_times(idle, last_seen_at=utcnow() - 15 * DAY)
    set_session_times(old, created_at=utcnow() - 31 * DAY)
    set_session_times(others_idle, last_seen_at=utcnow() - 15 * DAY)

    new = session_token(browser(app))

    tokens = set(db.session.scalars(select(LoginSession.token)))
    assert tokens == {live, new, others_idle}  # the other account's wait for its own login (or the CLI)


@pytest.mark.app_config(MAX_LOGIN_SESSIONS=3)
def test_a_login_beyond_the_cap_signs_out_the_least_recently_used(app, shopper, monkeypatch):
    closed = []
    monkeypatch.setattr(publisher, "disconnect", closed.append)
    first, second, third = (browser(app) for _ in range(3))
    now = utcnow()
    # the first browser was used a moment ago, the second not for an hour
    set_session_times(session_token(first), last_seen_at=now - MINUTE)
    set_session_times(session_token(second), last_seen_at=now - 60 * MINUTE)
    set_session_times(session_token(third), last_seen_at=now - 30 * MINUTE)
    db.session.add(SocketConnection(sid="second-tab", user_id=shopper.id, login_token=session_token(second)))
    db.session.add(SocketConnection(sid="first-tab", user_id=shopper.id, login_token=session_token(first)))
    db.session.commit()

    fourth = browser(app)

    assert count(LoginSession, LoginSession.user_id == shopper.id) == 3
    assert not signed_in(second)
    assert all(signed_in(client) for client in (first, third, fourth))
    assert closed == ["second-tab"]
    assert set(db.session.scalars(select(SocketConnection.sid))) == {"first-tab"}


@pytest.mark.app_config(MAX_LOGIN_SESSIONS=2)
def test_the_cap_is_per_account(app, shopper):
    other = make_user("other@example.com", "Oz")
    for _ in range(2):
        browser(app, other.email)
    mine = [browser(app) for _ in range(2)]

    assert count(LoginSession, LoginSession.user_id == other.id) == 2
    assert all(signed_in(client) for client in mine)
