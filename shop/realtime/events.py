"""Socket.IO handlers: check the login, join server-chosen rooms, answer acks.

No business rules live here: every handler calls a service and turns its
result or DomainError into ``{"ok": true, ...}`` or
``{"ok": false, "error": {"code", "message"}}``.
"""

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Flask, current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect, join_room, leave_room

from shop.extensions import db, socketio
from shop.realtime.compression import without_websocket_compression
from shop.realtime.rate_limit import TokenBucket
from shop.realtime.rooms import ADMINS, product_room, user_room
from shop.services import accounts, catalog, notifications
from shop.services.errors import DomainError, InvalidInput

log = logging.getLogger(__name__)

MAX_PRODUCT_ROOMS = 100
MAX_INT = 2**31 - 1


@dataclass
class Connection:
    """What this worker keeps per open socket, beside Socket.IO's rooms.

    The products followed are counted here: Socket.IO's ``rooms()`` walks every
    room of the server (two per connection), which made each subscribe cost
    milliseconds with thousands connected."""

    bucket: TokenBucket
    products: set[int] = field(default_factory=set)


_connections: dict[str, Connection] = {}


def init_realtime(app: Flask) -> None:
    config = app.config
    # eventlet's deprecation notice is known and answered in DESIGN.md: keep logs clean.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    socketio.init_app(
        app,
        async_mode=config["SOCKETIO_ASYNC_MODE"],
        message_queue=config["SOCKETIO_MESSAGE_QUEUE"],
        channel=config["SOCKETIO_CHANNEL"],
        cors_allowed_origins=origin_checker(config["ALLOWED_ORIGINS"]),
        cors_credentials=True,
        max_http_buffer_size=config["SOCKETIO_MAX_HTTP_BUFFER_SIZE"],
        # Handle a connection's events in its own reader, one at a time, rather
        # than in a new green thread per event: a client sending faster than we
        # answer then slows down itself instead of piling up threads, and the
        # rate limit below can cut it off before its backlog is read.
        async_handlers=False,
        logger=False,
        engineio_logger=False,
    )
    app.wsgi_app = without_websocket_compression(app.wsgi_app)


def origin_checker(extra_origins: list[str]) -> Callable[[str, dict], bool]:
    """Allow the app's own origin and ALLOWED_ORIGINS, nothing else.

    Unlike Engine.IO's default, X-Forwarded-Host and X-Forwarded-Proto are not
    trusted here: they count only when PROXY_COUNT makes ProxyFix rewrite the
    environ from a proxy we know.
    """
    allowed = frozenset(origin.rstrip("/") for origin in extra_origins)

    def origin_allowed(origin: str, environ: dict) -> bool:
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin == own or origin in allowed

    return origin_allowed


@socketio.on("connect")
def on_connect(auth: Any = None) -> None:
    if not current_user.is_authenticated:
        # Socket.IO's connect_error carries a message and a data object (err.data in
        # the browser): a single dict argument would arrive as its str() instead.
        raise ConnectionRefusedError("Log in to get live updates.", {"code": "unauthorized"})
    join_room(user_room(current_user.id))
    if current_user.is_admin:
        join_room(ADMINS)
    accounts.record_socket(request.sid, current_user.id, current_user.login_token)
    config = current_app.config
    _connections[request.sid] = Connection(
        TokenBucket(rate=config["SOCKET_EVENT_RATE"], burst=config["SOCKET_EVENT_BURST"])
    )


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> None:
    _connections.pop(request.sid, None)
    accounts.forget_socket(request.sid)


def client_event(name: str):
    """Register a client event whose handler returns the ack's fields."""

    def decorator(handler: Callable[[dict], dict]):
        @socketio.on(name)
        @wraps(handler)
        def wrapper(payload: Any = None, *_ignored: Any) -> dict:
            return guarded(handler, payload)

        return wrapper

    return decorator


def guarded(handler: Callable[[Any], dict], payload: Any) -> dict:
    """Rate limit (checked first: it costs no query), login check, error acks."""
    try:
        refused = _refuse_if_flooding()
        if refused:
            return refused
        if not current_user.is_authenticated:  # signed out since connecting
            disconnect()
            return error("unauthorized", "Your session has ended; log in again.")
        if not isinstance(payload, dict):
            return error("invalid_payload", "Send a JSON object.")
        return {"ok": True, **handler(payload)}
    except DomainError as exc:
        return error(exc.code, exc.message)
    except Exception:
        db.session.rollback()
        log.exception("socket event %s failed", getattr(handler, "__name__", handler))
        return error("server_error", "Something went wrong on our side.")
    finally:
        socketio.sleep(0)  # one event at a time: let the other connections have their turn


def _refuse_if_flooding() -> dict | None:
    connection = _connections.get(request.sid)
    if connection is None or connection.bucket.take():
        return None
    bucket = connection.bucket
    if bucket.flooding:
        log.warning("closing socket %s: it kept sending after %s refusals", request.sid, bucket.burst)
        _close_connection()
    return error("rate_limited", "Too many messages; slow down.")


def _close_connection() -> None:
    """Close the Engine.IO connection itself, not only the namespace: a client
    that ignores the disconnect packet would otherwise go on sending."""
    eio_sid = socketio.server.manager.eio_sid_from_sid(request.sid, "/")
    disconnect()
    if eio_sid is not None:
        socketio.server.eio.disconnect(eio_sid)


class UnknownEvent(DomainError):
    code = "unknown_event"


@socketio.on("*")
def on_unknown_event(event: str, payload: Any = None, *_ignored: Any) -> dict:
    """Any event the contract does not name (``join``, ``subscribe`` to a room ...)."""
    return guarded(_unknown_event(event), payload)


def _unknown_event(event: str) -> Callable[[Any], dict]:
    def refuse(_payload: Any) -> dict:
        raise UnknownEvent(f"There is no event {str(event)[:50]!r}.")

    return refuse


def error(code: str, message: str) -> dict:
    return {"ok": False, "error": {"code": code, "message": message}}


def int_field(payload: dict, name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise InvalidInput(f"{name} must be a whole number from 0 to {MAX_INT}.")
    return value


@client_event("sync")
def on_sync(payload: dict) -> dict:
    user_id = current_user.id
    missed = notifications.notifications_after(db.session, user_id, int_field(payload, "after_seq"))
    last = notifications.last_seq(db.session, user_id)
    return {
        "notifications": [n.to_payload() for n in missed],
        "last_seq": last,
        "more": bool(missed) and missed[-1].seq < last,
        "unread": notifications.unread_count(db.session, user_id),
    }


@client_event("subscribe_product")
def on_subscribe_product(payload: dict) -> dict:
    product = catalog.get_product(int_field(payload, "product_id"))
    followed = _connections[request.sid].products
    if len(followed) >= MAX_PRODUCT_ROOMS and product.id not in followed:
        raise InvalidInput(f"Follow at most {MAX_PRODUCT_ROOMS} products at once.")
    join_room(product_room(product.id))
    followed.add(product.id)
    return {"product_id": product.id, "stock": product.stock, "in_stock": product.stock > 0}


@client_event("unsubscribe_product")
def on_unsubscribe_product(payload: dict) -> dict:
    product_id = int_field(payload, "product_id")
    leave_room(product_room(product_id))
    _connections[request.sid].products.discard(product_id)
    return {}


@client_event("mark_read")
def on_mark_read(payload: dict) -> dict:
    return {"unread": notifications.mark_read(current_user.id, int_field(payload, "up_to_seq"))}
