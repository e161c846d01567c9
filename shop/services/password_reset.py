"""Forgotten passwords: a signed link by email that sets a new password once, within
RESET_MAX_AGE_SECONDS.

The link's token signs the account and a fingerprint of its password hash:
any password change (this reset included: argon2 salts every hash) makes
every earlier link invalid, so a link works once without a table of used
tokens. A reset signs out every session of the account and closes their
sockets, as the logout does.
"""

import hashlib
from collections.abc import Callable

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from shop.extensions import db
from shop.models import LoginSession, User, hash_password, normalize_email
from shop.services import accounts, mail
from shop.services.errors import InvalidInput
from shop.services.transaction import write_transaction

INVALID = "That reset link has expired or was used already. Ask for a new one."


def request_reset(email: str, allowed: Callable[[str], bool]) -> None:
    """Email a reset link to ``email`` if it has an account and ``allowed(address)`` says
    this address may have another; the caller answers the same in every case."""
    address = normalize_email(email)
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.email == address))
        if user is None or not allowed(address):
            return
        mail.queue_reset_email(session, user, mail.public_url(f"/auth/reset/{_token(user)}"))


def user_for(token: str) -> User:
    """The account a still valid link is for; InvalidInput otherwise."""
    try:
        claim = _serializer().loads(token, max_age=current_app.config["RESET_MAX_AGE_SECONDS"])
        user_id, fingerprint = int(claim["u"]), str(claim["p"])
    except (SignatureExpired, BadSignature, KeyError, TypeError, ValueError):
        raise InvalidInput(INVALID) from None
    user = db.session.get(User, user_id)
    if user is None or _fingerprint(user.password_hash) != fingerprint:
        raise InvalidInput(INVALID)
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set the new password (once: the link dies with the old hash) and sign out every
    session of the account, closing their sockets."""
    accounts.check_password(new_password)
    user = user_for(token)
    old_hash = user.password_hash
    new_hash = hash_password(new_password)  # before the write transaction, as change_password
    with write_transaction() as session:
        changed = session.execute(
            update(User)
            .where(User.id == user.id, User.password_hash == old_hash)
            .values(password_hash=new_hash)
        ).rowcount
        if not changed:  # used meanwhile by another request
            raise InvalidInput(INVALID)
        accounts.end_sessions(session, LoginSession.user_id == user.id)
    return user


def _token(user: User) -> str:
    return _serializer().dumps({"u": user.id, "p": _fingerprint(user.password_hash)})


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:20]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")
