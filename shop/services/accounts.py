"""Accounts and login sessions.

A login session is a row: the cookie names its secret token, and deleting the
row signs that browser out (its sockets are closed too, on whichever worker
holds them). A session ends when unused for LOGIN_SESSION_IDLE_SECONDS or
LOGIN_SESSION_MAX_SECONDS after sign-in, and an account keeps at most
MAX_LOGIN_SESSIONS: a new login signs out the least recently used beyond it.
"""

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import ColumnElement, Row, Select, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.extensions import db
from shop.models import LoginSession, SocketConnection, User, hash_password, normalize_email, verify_password
from shop.models.base import utcnow
from shop.models.user import MAX_USER_AGENT
from shop.realtime import publisher
from shop.realtime.rooms import ADMINS
from shop.services import notifications
from shop.services.devices import describe_device
from shop.services.errors import EmailTaken, InvalidCredentials, InvalidInput, NotFound, RateLimited
from shop.services.transaction import write_transaction

MIN_PASSWORD_LENGTH = 8
MAX_IP = 45


@dataclass(frozen=True)
class SessionRules:
    """How long login sessions live, how often "last seen" is written, how many an account keeps."""

    idle: timedelta
    lifetime: timedelta
    touch_every: timedelta
    per_account: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "SessionRules":
        return cls(
            idle=timedelta(seconds=config["LOGIN_SESSION_IDLE_SECONDS"]),
            lifetime=timedelta(seconds=config["LOGIN_SESSION_MAX_SECONDS"]),
            touch_every=timedelta(seconds=config["LOGIN_SESSION_TOUCH_SECONDS"]),
            per_account=max(1, config["MAX_LOGIN_SESSIONS"]),
        )

    def live(self, now: datetime) -> ColumnElement[bool]:
        """SQL: the session is neither unused too long nor too old."""
        return (LoginSession.last_seen_at > now - self.idle) & (LoginSession.created_at > now - self.lifetime)


@dataclass(frozen=True)
class SocketIdentity:
    """Who a socket is, as its connect checked it."""

    user_id: int
    is_admin: bool
    login_token: str


@dataclass(frozen=True)
class OpenSocket:
    """A socket connected on this worker, to be recorded."""

    sid: str
    user_id: int
    login_token: str
    admin: bool


@dataclass(frozen=True)
class RecordedSockets:
    ended: list[str]  # opened on a login session that has ended since: to close
    demoted: list[str]  # opened as an admin by a user who is no admin now: to take out of the admins room


@dataclass(frozen=True)
class SessionView:
    """One signed-in browser as the account page shows it (never its token)."""

    public_id: str
    device: str
    ip: str
    signed_in_at: datetime
    last_seen_at: datetime
    current: bool


def _anyone() -> bool:
    return True


def register(
    email: str, name: str, password: str, is_admin: bool = False, admit: Callable[[], bool] = _anyone
) -> User:
    """Create an account; ``admit`` is asked just before it is written (see sign_up)."""
    check_password(password)
    user = User(email=normalize_email(email), name=name.strip(), is_admin=is_admin)
    user.set_password(password)
    _check_admitted(admit)
    try:
        with write_transaction() as session:
            if session.scalar(select(User.id).where(User.email == user.email)):
                raise EmailTaken("That email address is already registered.")
            session.add(user)
    except IntegrityError:
        raise EmailTaken("That email address is already registered.") from None
    return user


def sign_up(email: str, name: str, password: str, admit: Callable[[], bool] = _anyone) -> User:
    """Create an account, answering for a registered email exactly as a login would.

    Without a confirmation email the form cannot hide that a brand-new address
    gets an account, but it does not tell a stranger that an address is taken:
    with that account's password it signs its owner in (as a new account
    would be), with any other password it fails with the login's
    InvalidCredentials. Both paths cost one argon2 computation.

    ``admit`` (the caller's cap on new accounts per client) is asked once the
    answer is a success, before anything is written or anyone signed in; when
    it says no, RateLimited. Both kinds of success ask it, so the cap does
    not tell them apart either, and a refusal costs nothing of it.
    """
    if db.session.scalar(select(User.id).where(User.email == normalize_email(email))):
        return _admitted(authenticate(email, password), admit)
    try:
        return register(email, name, password, admit=admit)
    except EmailTaken:  # registered by a concurrent request meanwhile
        return _admitted(authenticate(email, password), admit)


def authenticate(email: str, password: str) -> User:
    """Return the user, or raise one message for unknown email and wrong password alike."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        _dummy_user().check_password(password)  # same cost as a wrong password
        raise InvalidCredentials("Wrong email or password.")
    if not user.check_password(password):
        raise InvalidCredentials("Wrong email or password.")
    return user


def start_session(user_id: int, user_agent: str = "", ip: str = "") -> str:
    """Open a login session and return its token (what the cookie will name).

    On the way the account's expired sessions are deleted, and the least
    recently used ones beyond MAX_LOGIN_SESSIONS are signed out, sockets and all.
    """
    rules, now = _rules(), utcnow()
    with write_transaction() as session:
        # One login of an account at a time, so that two cannot both take the
        # cap's last place (PostgreSQL; SQLite's BEGIN IMMEDIATE already waits).
        session.execute(select(User.id).where(User.id == user_id).with_for_update())
        end_sessions(session, (LoginSession.user_id == user_id) & ~rules.live(now))
        login = LoginSession(
            user_id=user_id,
            user_agent=_printable(user_agent)[:MAX_USER_AGENT],
            ip=ip[:MAX_IP],
            created_at=now,
            last_seen_at=now,
        )
        session.add(login)
        session.flush()
        beyond_the_cap = session.scalars(
            select(LoginSession.token)
            .where(LoginSession.user_id == user_id, LoginSession.token != login.token)
            .order_by(LoginSession.last_seen_at.desc(), LoginSession.created_at.desc())
            .offset(rules.per_account - 1)
        ).all()
        if beyond_the_cap:
            end_sessions(session, LoginSession.token.in_(beyond_the_cap))
        token = login.token
    return token


@dataclass(frozen=True, eq=False)
class SessionUser(UserMixin):
    """Who a live login session signs in, as a request or socket event needs it.

    Read with one Core statement rather than loading the ORM User: every
    request and socket event asks for it, and nothing they do with the
    signed-in user needs more than these (routes that change the account
    load it by id in their own transaction).
    """

    id: int
    name: str
    is_admin: bool
    login_token: str

    def get_id(self) -> str:
        return self.login_token


# SessionRules.live with parameters; each statement built once (it keeps its compiled form and cache key).
_SESSION_USER = (
    select(User.id, User.name, User.is_admin, LoginSession.last_seen_at)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        LoginSession.token == bindparam("token"),
        LoginSession.last_seen_at > bindparam("idle_since"),
        LoginSession.created_at > bindparam("born_since"),
    )
)


@cache
def _session_user_with(columns: tuple) -> Select:
    return _SESSION_USER.add_columns(*columns)


def load_session_user(token: str) -> SessionUser | None:
    """The user of a live login session: one query, asked on every request and socket event."""
    row = session_row(token)
    return None if row is None else session_user(row, token)


def session_row(token: str, columns: tuple = ()) -> Row | None:
    """A live login session's user (id, name, is_admin) and ``columns`` of that User, in one query.

    An expired session signs nobody in. "Last seen" is written only once it is
    LOGIN_SESSION_TOUCH_SECONDS old, so a busy browser writes a few times an
    hour, not on every request. The query runs on the request's own
    connection and transaction (what it reads next sees the same database).
    """
    rules, now = _rules(), utcnow()
    statement = _session_user_with(columns) if columns else _SESSION_USER
    bounds = {"token": token, "idle_since": now - rules.idle, "born_since": now - rules.lifetime}
    row = db.session.connection().execute(statement, bounds).first()
    if row is not None and now - row.last_seen_at >= rules.touch_every:
        with write_transaction() as session:
            session.execute(
                update(LoginSession)
                .where(LoginSession.token == token, LoginSession.last_seen_at <= now - rules.touch_every)
                .values(last_seen_at=now)
                .execution_options(synchronize_session=False)
            )
    return row


def session_user(row: Row, token: str) -> SessionUser:
    return SessionUser(row.id, row.name, row.is_admin, token)


def end_session(token: str) -> None:
    """Sign one browser out and close its sockets, on whichever worker they are."""
    with write_transaction() as session:
        end_sessions(session, LoginSession.token == token)


def change_password(user_id: int, keep_token: str, current: str, new: str) -> None:
    """Change the password and sign out every other session of the user.

    Both argon2 computations run before the write transaction, which on
    SQLite would keep every other writer waiting for them; the UPDATE checks
    that the hash is still the one the current password was checked against.
    """
    check_password(new)
    old_hash = db.session.scalar(select(User.password_hash).where(User.id == user_id))
    if old_hash is None or not verify_password(old_hash, current):
        raise InvalidCredentials("Your current password is not right.")
    new_hash = hash_password(new)
    with write_transaction() as session:
        changed = session.execute(
            update(User)
            .where(User.id == user_id, User.password_hash == old_hash)
            .values(password_hash=new_hash)
        ).rowcount
        if not changed:  # changed meanwhile by another browser
            raise InvalidCredentials("Your current password is not right.")
        end_sessions(session, (LoginSession.user_id == user_id) & (LoginSession.token != keep_token))


def list_sessions(user_id: int, current_token: str) -> list[SessionView]:
    """The account's live sessions: this browser's first, then the most recently used."""
    rules, now = _rules(), utcnow()
    rows = db.session.scalars(
        select(LoginSession)
        .where(LoginSession.user_id == user_id, rules.live(now))
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.created_at.desc())
    ).all()
    views = [
        SessionView(
            public_id=row.public_id,
            device=describe_device(row.user_agent),
            ip=row.ip or "unknown",
            signed_in_at=row.created_at,
            last_seen_at=row.last_seen_at,
            current=row.token == current_token,
        )
        for row in rows
    ]
    return sorted(views, key=lambda view: not view.current)


def sign_out_session(user_id: int, public_id: str, current_token: str) -> bool:
    """Sign out one session of the account and close its sockets; True if it was this browser's."""
    with write_transaction() as session:
        token = session.scalar(
            select(LoginSession.token).where(
                LoginSession.user_id == user_id, LoginSession.public_id == public_id
            )
        )
        if token is None:  # another account's, or signed out already
            raise NotFound("That session is not signed in.")
        end_sessions(session, LoginSession.token == token)
    return token == current_token


def sign_out_everywhere(user_id: int) -> int:
    """Sign out every session of the account, this browser's too, and close their sockets."""
    with write_transaction() as session:
        return end_sessions(session, LoginSession.user_id == user_id)


def prune_sessions() -> int:
    """Delete every expired login session (closing any socket still open on one); how many."""
    rules, now = _rules(), utcnow()
    with write_transaction() as session:
        return end_sessions(session, ~rules.live(now))


def ensure_admin(email: str, name: str, password: str) -> User:
    """Make the account with ``email`` an admin, creating it when there is none."""
    if db.session.scalar(select(User.id).where(User.email == normalize_email(email))) is None:
        return register(email, name, password, is_admin=True)
    return make_admin(email)


def admin_id(email: str | None = None) -> int:
    """The id of the admin with ``email``, or of the first admin; NotFound when there is none."""
    statement = select(User.id).where(User.is_admin).order_by(User.id)
    if email:
        statement = statement.where(User.email == normalize_email(email))
    found = db.session.scalar(statement)
    if found is None:
        raise NotFound("No such admin; create one with flask create-admin.")
    return found


def make_admin(email: str) -> User:
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.email == normalize_email(email)))
        if user is None:
            raise InvalidInput(f"No user with email {email}.")
        user.is_admin = True
    return user


def demote_admin(email: str) -> User:
    """Take admin rights away, at once: the user's sockets leave the admins room on every
    worker, and what only admins are told no longer counts as unread for them."""
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.email == normalize_email(email)))
        if user is None:
            raise InvalidInput(f"No user with email {email}.")
        user.is_admin = False
        sids = session.scalars(select(SocketConnection.sid).where(SocketConnection.user_id == user.id)).all()
        publisher.queue_leave_room(session, list(sids), ADMINS)
        notifications.forget_admin_news(session, user.id)
    return user


def socket_identities(tokens: Collection[str]) -> dict[str, SocketIdentity]:
    """Who each of these login sessions signs in (the live ones), for sockets' connects: one
    Core query on a connection of its own, returned at once, no ORM object, no write
    ("last seen" is the pages' and the events' to touch)."""
    rules, now = _rules(), utcnow()
    bounds = {"tokens": list(tokens), "seen_after": now - rules.idle, "signed_in_after": now - rules.lifetime}
    with db.engine.connect() as connection:
        rows = connection.execute(_IDENTITIES, bounds).all()
    return {row.token: SocketIdentity(row.id, row.is_admin, row.token) for row in rows}


_IDENTITIES = (
    select(LoginSession.token, User.id, User.is_admin)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        LoginSession.token.in_(bindparam("tokens", expanding=True)),
        LoginSession.last_seen_at > bindparam("seen_after"),
        LoginSession.created_at > bindparam("signed_in_after"),
    )
)


def record_sockets(opened: Sequence[OpenSocket]) -> RecordedSockets:
    """Remember sockets opened since the last call, in one transaction (after their connect).

    The login sessions they were opened on are locked first (FOR SHARE), as a
    sign-out locks the sessions it ends (FOR UPDATE) before it looks for their
    sockets, so each sees the other whole: a socket whose session ended meanwhile
    is not recorded and is in ``ended`` (its worker closes it), one opened as an
    admin by a user who no longer is one is in ``demoted``.
    """
    if not opened:
        return RecordedSockets([], [])
    rules, now = _rules(), utcnow()
    with write_transaction() as session:
        live = dict(
            session.execute(
                select(LoginSession.token, User.is_admin)
                .join(User, User.id == LoginSession.user_id)
                .where(LoginSession.token.in_({socket.login_token for socket in opened}), rules.live(now))
                .with_for_update(read=True)
            ).all()
        )
        kept = [socket for socket in opened if socket.login_token in live]
        if kept:
            session.execute(
                insert(SocketConnection),
                [{"sid": s.sid, "user_id": s.user_id, "login_token": s.login_token} for s in kept],
            )
    return RecordedSockets(
        ended=[socket.sid for socket in opened if socket.login_token not in live],
        demoted=[socket.sid for socket in kept if socket.admin and not live[socket.login_token]],
    )


def forget_sockets(sids: Collection[str]) -> None:
    """Forget closed sockets, in one transaction."""
    if sids:
        with write_transaction() as session:
            session.execute(delete(SocketConnection).where(SocketConnection.sid.in_(list(sids))))


def _rules() -> SessionRules:
    return SessionRules.from_config(current_app.config)


def end_sessions(session: Session, condition: ColumnElement[bool]) -> int:
    """In the caller's transaction: delete the login sessions matching ``condition``
    and close their sockets; how many."""
    # Locked before their sockets are looked for: a batch of new sockets being
    # recorded on them (record_sockets) is then either seen whole or waits.
    ending = session.scalars(select(LoginSession.token).where(condition).with_for_update()).all()
    if not ending:
        return 0
    _close_sockets(session, SocketConnection.login_token.in_(ending))
    session.execute(
        delete(LoginSession)
        .where(LoginSession.token.in_(ending))
        .execution_options(synchronize_session=False)
    )
    return len(ending)


def _close_sockets(session, condition) -> None:
    sids = session.scalars(select(SocketConnection.sid).where(condition)).all()
    session.execute(delete(SocketConnection).where(condition))
    publisher.queue_disconnect(session, list(sids))


def _check_admitted(admit: Callable[[], bool]) -> None:
    if not admit():
        raise RateLimited("Too many new accounts from your address. Please try again later.")


def _admitted(user: User, admit: Callable[[], bool]) -> User:
    _check_admitted(admit)
    return user


@cache
def _dummy_user() -> User:
    user = User()
    user.set_password("no such user")
    return user


def check_password(password: str) -> None:
    """InvalidInput for a password too short to be taken."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")


def _printable(text: str) -> str:
    """A header as text to store and show: no NUL (PostgreSQL refuses it) or other control characters."""
    return "".join(character for character in text if character.isprintable())
