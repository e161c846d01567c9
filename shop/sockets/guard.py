"""The per-socket guard: what a namespace connection and its messages pass before a handler.

A cap per user, a token bucket per connection, the products it follows, the
ack envelope, payload checks, and the refusal of events a client may not send
(``connect``, ``disconnect``, and every name the contract does not have).
What a transport must pass before it gets this far is in ``transports``.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import request, session
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from shop.extensions import db, socketio
from shop.services.accounts import SocketIdentity
from shop.services.errors import DomainError, Forbidden, InvalidInput
from shop.sockets import logins
from shop.sockets.logins import CheckFailed
from shop.sockets.rate_limit import TokenBucket

log = logging.getLogger(__name__)

NAMESPACE = "/"
# Where Flask-Login keeps the user's get_id() in the session: here, the login session's token.
LOGIN_TOKEN_KEY = "_user_id"
MAX_PRODUCT_ROOMS = 100
BUSY = ("The server is busy; live updates will retry shortly.", {"code": "server_busy"})
MAX_INT = 2**31 - 1


class UnknownEvent(DomainError):
    code = "unknown_event"


class ReservedEvent(DomainError):
    code = "reserved_event"


@dataclass
class Connection:
    """What this worker keeps per namespace connection, beside Socket.IO's rooms.

    The products followed are counted here: Socket.IO's ``rooms()`` walks every
    room of the server (two per connection), which made each subscribe cost
    milliseconds with thousands connected."""

    user_id: int
    bucket: TokenBucket
    admin: bool = False
    products: set[int] = field(default_factory=set)


_connections: dict[str, Connection] = {}
_sids_of_user: dict[int, set[str]] = {}


def connection_count() -> int:
    return len(_connections)


def users_here() -> list[int]:
    """The users with a connection on this worker."""
    return list(_sids_of_user)


def is_connected(sid: str) -> bool:
    return sid in _connections


def demote_socket(sid: str) -> bool:
    """Whether the connection was in the admins room (it no longer counts as there)."""
    connection = _connections.get(sid)
    if connection is None or not connection.admin:
        return False
    connection.admin = False
    return True


def demote(user_id: int) -> list[str]:
    """The user is no admin any more: their connections here that were in the admins room."""
    sids = []
    for sid in _sids_of_user.get(user_id, ()):
        connection = _connections.get(sid)
        if connection is not None and connection.admin:
            connection.admin = False
            sids.append(sid)
    return sids


def client_limits(config) -> dict[str, float | int]:
    """What the browser must keep under, rendered on <body> for static/js/live/."""
    return {
        "socket_rate": config["SOCKET_EVENT_RATE"],
        "socket_burst": config["SOCKET_EVENT_BURST"],
        "max_products": MAX_PRODUCT_ROOMS,
        "typing_seconds": config["TYPING_SECONDS"],
    }


def identify() -> SocketIdentity:
    """The connect's login check, without Flask-Login's user object: batched with the other
    connects waiting (``logins``), no write.

    Refused as ``unauthorized`` (the browser stops) without a live login
    session, as ``server_busy`` (the browser tries again soon) while the
    database cannot answer.
    """
    token = session.get(LOGIN_TOKEN_KEY)
    try:
        identity = logins.identify(token) if isinstance(token, str) else None
    except CheckFailed as exc:
        if exc.__cause__ is not None and not unavailable(exc.__cause__):
            raise exc.__cause__ from None  # a fault, not the database away: handler_failed
        log.warning("refused a socket: the database did not answer its login check: %s", exc)
        raise ConnectionRefusedError(*BUSY) from None
    if identity is None:
        # Socket.IO's connect_error carries a message and a data object (err.data in
        # the browser): a single dict argument would arrive as its str() instead.
        raise ConnectionRefusedError("Log in to get live updates.", {"code": "unauthorized"})
    return identity


def unavailable(exc: BaseException) -> bool:
    """Whether a failure is the database being out of reach or out of connections (worth
    asking again shortly), not a fault in what was asked."""
    return isinstance(exc, PoolTimeout | OperationalError)


def handler_failed(exc: BaseException) -> None:
    """Flask-SocketIO's default error handler: a handler that raised (events have their own,
    ``guarded``). A failed connect is refused, never left half connected; the failure is
    logged as what it is, not as a malformed packet from the client."""
    db.session.rollback()
    event = getattr(request, "event", None) or {}
    log.error("socket handler for %s failed", event.get("message"), exc_info=exc)
    if event.get("message") == "connect":
        if unavailable(exc):
            raise ConnectionRefusedError(*BUSY)
        raise ConnectionRefusedError("Something went wrong on our side.", {"code": "server_error"})


def admit(sid: str, user_id: int, admin: bool, config) -> None:
    """Start guarding a new connection, or refuse it past the per-user cap."""
    sids = _sids_of_user.setdefault(user_id, set())
    if len(sids) >= config["SOCKETS_PER_USER"]:
        raise ConnectionRefusedError(
            "Too many live connections for your account: close some tabs.", {"code": "too_many_connections"}
        )
    sids.add(sid)
    _connections[sid] = Connection(
        user_id, TokenBucket(rate=config["SOCKET_EVENT_RATE"], burst=config["SOCKET_EVENT_BURST"]), admin
    )


def release(sid: str) -> None:
    connection = _connections.pop(sid, None)
    if connection is not None:
        sids = _sids_of_user.get(connection.user_id, set())
        sids.discard(sid)
        if not sids:
            _sids_of_user.pop(connection.user_id, None)


def follow(sid: str, product_id: int) -> None:
    """Count a product this connection follows, up to MAX_PRODUCT_ROOMS."""
    followed = _connections[sid].products
    if len(followed) >= MAX_PRODUCT_ROOMS and product_id not in followed:
        raise InvalidInput(f"Follow at most {MAX_PRODUCT_ROOMS} products at once.")
    followed.add(product_id)


def unfollow(sid: str, product_id: int) -> None:
    _connections[sid].products.discard(product_id)


def sent_by_client() -> bool:
    """Whether a connect or disconnect handler runs for an *event* the client named so.

    python-socketio runs those handlers for the real connect (the connection is
    still pending) and disconnect (already leaving), and also for a client's
    event of that name, which it only dispatches on a fully connected socket.
    """
    return socketio.server.manager.is_connected(request.sid, NAMESPACE)


def client_event(name: str):
    """Register a client event whose handler returns the ack's fields."""

    def decorator(handler: Callable[[dict], dict]):
        @socketio.on(name)
        @wraps(handler)
        def wrapper(payload: Any = None, *_ignored: Any) -> dict:
            return guarded(handler, payload)

        return wrapper

    return decorator


def identified_event(name: str):
    """Register a client event whose handler takes the socket's identity (a batched login
    check, no Flask-Login user: ``sync`` on every reconnect) and returns the ack's fields."""

    def decorator(handler: Callable[[SocketIdentity, dict], dict]):
        @socketio.on(name)
        @wraps(handler)
        def wrapper(payload: Any = None, *_ignored: Any) -> dict:
            return guarded(lambda checked: handler(_still_signed_in(), checked), payload, name, check=False)

        return wrapper

    return decorator


def _still_signed_in() -> SocketIdentity:
    token = session.get(LOGIN_TOKEN_KEY)
    identity = logins.identify(token) if isinstance(token, str) else None
    if identity is None:
        disconnect()
        raise SignedOut("Your session has ended; log in again.")
    return identity


class SignedOut(DomainError):
    code = "unauthorized"


def guarded(handler: Callable[[Any], dict], payload: Any, name: str = "", check: bool = True) -> dict:
    """Rate limit (checked first: it costs no query), login check, error acks."""
    try:
        refused = _refuse_if_flooding()
        if refused:
            return refused
        if check and not current_user.is_authenticated:  # signed out since connecting
            disconnect()
            return error("unauthorized", "Your session has ended; log in again.")
        if not isinstance(payload, dict):
            return error("invalid_payload", "Send a JSON object.")
        return {"ok": True, **handler(payload)}
    except DomainError as exc:
        return error(exc.code, exc.message)
    except CheckFailed as exc:
        log.warning("socket event %s: the database did not answer: %s", name, exc)
        return error("server_busy", "The server is busy; trying again shortly.")
    except Exception as exc:
        db.session.rollback()
        name = name or getattr(handler, "__name__", handler)
        if unavailable(exc):
            log.warning("socket event %s: the database did not answer: %r", name, exc)
            return error("server_busy", "The server is busy; trying again shortly.")
        log.exception("socket event %s failed", name)
        return error("server_error", "Something went wrong on our side.")
    finally:
        db.session.rollback()  # the connection back to the pool before the yield: a burst shares a few
        socketio.sleep(0)  # one event at a time: let the other connections have their turn


def refused_event(refusal_error: DomainError) -> dict:
    """The ack of an event no handler serves; it costs the client a token like any other."""
    return _refuse_if_flooding() or error(refusal_error.code, refusal_error.message)


def _refuse_if_flooding() -> dict | None:
    connection = _connections.get(request.sid)
    if connection is None or connection.bucket.take():
        return None
    if connection.bucket.flooding:
        log.warning(
            "closing socket %s: it kept sending after %s refusals", request.sid, connection.bucket.burst
        )
        disconnect()  # the disconnect handler closes the transport too
    return error("rate_limited", "Too many messages; slow down.")


def error(code: str, message: str) -> dict:
    return {"ok": False, "error": {"code": code, "message": message}}


def require_admin() -> None:
    """Refuse an admin-only event to anyone who is not an admin now (read per event, so a
    demotion counts at once)."""
    if not current_user.is_admin:
        raise Forbidden("Only admins may ask for that.")


def int_field(payload: dict, name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise InvalidInput(f"{name} must be a whole number from 0 to {MAX_INT}.")
    return value
