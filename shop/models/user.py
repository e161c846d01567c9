from datetime import datetime
from secrets import token_hex, token_urlsafe

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import db
from shop.models.base import utcnow
from shop.models.types import UTCDateTime
from shop.offload import run_cpu_bound

# Argon2id with argon2-cffi's defaults (t=3, m=64 MiB, p=4): above OWASP's
# minimum (m=19 MiB, t=2, p=1). Each hash or check takes tens of milliseconds
# of CPU: it runs through shop.offload, off the event loop.
PASSWORDS = PasswordHasher()
MAX_USER_AGENT = 300


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Last notification seq handed out: bumped with a guarded UPDATE so that
    # seqs are 1, 2, 3 ... with no gaps, even under concurrent writers.
    last_seq: Mapped[int] = mapped_column(default=0)
    # Names this run of seqs: a re-created database or a reset of the seqs gives a
    # new one, so that a client holding a position from before starts again.
    inbox_epoch: Mapped[str] = mapped_column(String(16), default=lambda: token_hex(8))
    # The highest seq the person has been shown (a visible tab said so, or they read it),
    # and the highest seq the email planner has decided about: what lies above both,
    # once NOTIFY_EMAIL_DELAY_SECONDS old, is emailed.
    seen_seq: Mapped[int] = mapped_column(default=0)
    mailed_seq: Mapped[int] = mapped_column(default=0)
    # The highest seq the push planner has decided about (as mailed_seq is for email).
    pushed_seq: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The login session this object was loaded for (not a column): Flask-Login
    # stores get_id() in the cookie, so the cookie names a revocable session.
    login_token = None

    def set_password(self, password: str) -> None:
        self.password_hash = hash_password(password)

    def check_password(self, password: str) -> bool:
        return verify_password(self.password_hash, password)

    def get_id(self) -> str | None:
        return self.login_token

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class LoginSession(db.Model):
    """One signed-in browser; deleting the row signs that browser out.

    ``token`` is the secret its cookie names. ``public_id`` names the session
    on the account page and in its forms: it signs nobody in.
    """

    __tablename__ = "login_sessions"

    token: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: token_urlsafe(32))
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: token_urlsafe(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written at most every LOGIN_SESSION_TOUCH_SECONDS, not on every request.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(MAX_USER_AGENT), default="")
    ip: Mapped[str] = mapped_column(String(45), default="")  # at sign-in; 45: the longest IPv6 text

    user: Mapped[User] = relationship()


class SocketConnection(db.Model):
    """An open Socket.IO connection, so that any worker can close it on logout."""

    __tablename__ = "socket_connections"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    login_token: Mapped[str] = mapped_column(String(64), index=True)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def hash_password(password: str) -> str:
    return run_cpu_bound(PASSWORDS.hash, password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return run_cpu_bound(PASSWORDS.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def normalize_email(email: str) -> str:
    return email.strip().lower()


__all__ = ["User", "LoginSession", "SocketConnection", "hash_password", "normalize_email", "verify_password"]
