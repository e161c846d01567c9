"""Accounts and login sessions."""

from functools import cache

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from shop.extensions import db
from shop.models import LoginSession, SocketConnection, User, hash_password, normalize_email, verify_password
from shop.realtime import publisher
from shop.services.errors import EmailTaken, InvalidCredentials, InvalidInput
from shop.services.transaction import write_transaction

MIN_PASSWORD_LENGTH = 8


def register(email: str, name: str, password: str, is_admin: bool = False) -> User:
    _check_password(password)
    user = User(email=normalize_email(email), name=name.strip(), is_admin=is_admin)
    user.set_password(password)
    try:
        with write_transaction() as session:
            if session.scalar(select(User.id).where(User.email == user.email)):
                raise EmailTaken("That email address is already registered.")
            session.add(user)
    except IntegrityError:
        raise EmailTaken("That email address is already registered.") from None
    return user


def sign_up(email: str, name: str, password: str) -> User:
    """Create an account, answering for a registered email exactly as a login would.

    Without a confirmation email the form cannot hide that a brand-new address
    gets an account, but it does not tell a stranger that an address is taken:
    with that account's password it signs its owner in (as a new account
    would be), with any other password it fails with the login's
    InvalidCredentials. Both paths cost one argon2 computation.
    """
    if db.session.scalar(select(User.id).where(User.email == normalize_email(email))):
        return authenticate(email, password)
    try:
        return register(email, name, password)
    except EmailTaken:  # registered by a concurrent request meanwhile
        return authenticate(email, password)


def authenticate(email: str, password: str) -> User:
    """Return the user, or raise one message for unknown email and wrong password alike."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        _dummy_user().check_password(password)  # same cost as a wrong password
        raise InvalidCredentials("Wrong email or password.")
    if not user.check_password(password):
        raise InvalidCredentials("Wrong email or password.")
    return user


def start_session(user_id: int) -> str:
    """Open a login session and return its token (what the cookie will name)."""
    with write_transaction() as session:
        login = LoginSession(user_id=user_id)
        session.add(login)
        session.flush()
        token = login.token
    return token


def load_session_user(token: str) -> User | None:
    """The user a login session belongs to: one query, asked on every request and socket connect."""
    user = db.session.scalar(
        select(User).join(LoginSession, LoginSession.user_id == User.id).where(LoginSession.token == token)
    )
    if user is None:
        return None
    user.login_token = token
    return user


def end_session(token: str) -> None:
    """Sign one browser out and close its sockets, on whichever worker they are."""
    with write_transaction() as session:
        _close_sockets(session, SocketConnection.login_token == token)
        session.execute(delete(LoginSession).where(LoginSession.token == token))


def change_password(user_id: int, keep_token: str, current: str, new: str) -> None:
    """Change the password and sign out every other session of the user.

    Both argon2 computations run before the write transaction, which on
    SQLite would keep every other writer waiting for them; the UPDATE checks
    that the hash is still the one the current password was checked against.
    """
    _check_password(new)
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
        others = (SocketConnection.user_id == user_id) & (SocketConnection.login_token != keep_token)
        _close_sockets(session, others)
        session.execute(
            delete(LoginSession).where(LoginSession.user_id == user_id, LoginSession.token != keep_token)
        )


def make_admin(email: str) -> User:
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.email == normalize_email(email)))
        if user is None:
            raise InvalidInput(f"No user with email {email}.")
        user.is_admin = True
    return user


def record_socket(sid: str, user_id: int, login_token: str) -> None:
    """Remember an open socket (one INSERT: every sid is new, so no merge's SELECT first)."""
    with write_transaction() as session:
        session.execute(insert(SocketConnection).values(sid=sid, user_id=user_id, login_token=login_token))


def forget_socket(sid: str) -> None:
    with write_transaction() as session:
        session.execute(delete(SocketConnection).where(SocketConnection.sid == sid))


def session_is_live(token: str | None) -> bool:
    return bool(token) and db.session.get(LoginSession, token) is not None


def _close_sockets(session, condition) -> None:
    sids = session.scalars(select(SocketConnection.sid).where(condition)).all()
    session.execute(delete(SocketConnection).where(condition))
    publisher.queue_disconnect(session, list(sids))


@cache
def _dummy_user() -> User:
    user = User()
    user.set_password("no such user")
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
