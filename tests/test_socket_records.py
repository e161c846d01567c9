"""Socket rows written in batches after the connect (shop/sockets/records.py) against
sign-outs, on a SQLite file and on PostgreSQL (every test runs on both).

A sign-out finds the sockets to close by their rows. A batch being written and
a sign-out being made at the same moment must each see the other whole: the
batch waits for a sign-out that holds the session and then leaves that socket
out (to be closed), a sign-out waits for a batch that holds the session and
then finds its rows. On PostgreSQL each side's lock is what makes the other
wait; SQLite has one writer at a time.
"""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import delete, insert, select

from shop.extensions import db
from shop.models import LoginSession, SocketConnection
from shop.services import accounts
from shop.services.accounts import OpenSocket
from testing.apps import in_background
from testing.data import make_user
from testing.processes import wait_until
from testing.services import waiting_on_a_lock


def rows() -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(select(SocketConnection.sid)))


def signed_in(admin: bool = False) -> tuple[int, str]:
    user = make_user(admin=admin)
    return user.id, accounts.start_session(user.id)


def wait_until_blocked(app) -> None:
    """On PostgreSQL, until the other transaction waits for a lock; SQLite's writer just queues."""
    if db.engine.dialect.name == "postgresql":
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        wait_until(lambda: waiting_on_a_lock(url) == 1, "the other transaction to wait for the session")


def test_a_batch_records_the_sockets_of_live_sessions(db_app):
    user_id, token = signed_in()
    recorded = accounts.record_sockets([OpenSocket("tab-1", user_id, token, False)])
    assert recorded.ended == [] and recorded.demoted == []
    assert rows() == {"tab-1"}

    accounts.end_session(token)  # and a sign-out then finds it

    assert rows() == set()


def test_a_socket_of_a_session_ended_before_its_batch_is_not_recorded_but_to_close(db_app):
    user_id, token = signed_in()
    other = accounts.start_session(user_id)  # the same account in another browser
    accounts.end_session(token)

    recorded = accounts.record_sockets(
        [OpenSocket("gone", user_id, token, False), OpenSocket("kept", user_id, other, False)]
    )

    assert recorded.ended == ["gone"]
    assert rows() == {"kept"}


def test_an_admin_socket_of_a_user_demoted_before_its_batch_is_to_leave_the_admins_room(db_app):
    user_id, token = signed_in(admin=True)
    accounts.demote_admin("shopper@example.com")

    recorded = accounts.record_sockets([OpenSocket("admin-tab", user_id, token, True)])

    assert recorded.demoted == ["admin-tab"] and recorded.ended == []
    assert rows() == {"admin-tab"}


def test_a_batch_waits_for_a_sign_out_in_progress_and_leaves_its_socket_out(db_app):
    user_id, token = signed_in()
    with db.engine.connect() as sign_out, ThreadPoolExecutor(1) as pool:
        # A sign-out holds the session's row from before it looks for sockets until it
        # commits (end_sessions locks it first; here its DELETE does: on SQLite a write
        # is what makes the other writer wait).
        sign_out.execute(delete(LoginSession).where(LoginSession.token == token))
        batch = in_background(
            pool, db_app, lambda: accounts.record_sockets([OpenSocket("late", user_id, token, False)])
        )
        wait_until_blocked(db_app)
        sign_out.commit()
        recorded = batch.result(timeout=60)

    assert recorded.ended == ["late"]
    assert rows() == set()


def test_a_sign_out_waits_for_a_batch_in_progress_and_finds_its_socket(db_app):
    user_id, token = signed_in()
    with db.engine.connect() as batch, ThreadPoolExecutor(1) as pool:
        # What record_sockets does: lock the session (shared), then insert the row.
        batch.execute(
            select(LoginSession.token).where(LoginSession.token == token).with_for_update(read=True)
        )
        batch.execute(insert(SocketConnection).values(sid="early", user_id=user_id, login_token=token))
        sign_out = in_background(pool, db_app, lambda: accounts.end_session(token))
        wait_until_blocked(db_app)
        batch.commit()
        sign_out.result(timeout=60)

    assert rows() == set()
    assert db.session.scalar(select(LoginSession.token).where(LoginSession.token == token)) is None
