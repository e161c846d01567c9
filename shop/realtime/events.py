"""Socket.IO handlers: check the login, join server-chosen rooms, answer acks.

No business rules live here: every handler calls a service and turns its
result or DomainError into ``{"ok": true, ...}`` or
``{"ok": false, "error": {"code", "message"}}``.
"""

import logging
import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, join_room, leave_room

from shop.extensions import db, socketio
from shop.realtime import guard
from shop.realtime.compression import without_websocket_compression
from shop.realtime.rooms import ADMINS, product_room, user_room
from shop.services import accounts, catalog, notifications
from shop.services.errors import InvalidInput

log = logging.getLogger(__name__)


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
    guard.install_transport_guard(app)
    app.wsgi_app = without_websocket_compression(app.wsgi_app)
    app.context_processor(lambda: {"live_limits": guard.client_limits(app.config)})


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
def on_connect(auth: Any = None) -> dict | None:
    if guard.sent_by_client():
        return guard.refused_event(guard.ReservedEvent("connect is not an event a client may send."))
    if not current_user.is_authenticated:
        # Socket.IO's connect_error carries a message and a data object (err.data in
        # the browser): a single dict argument would arrive as its str() instead.
        raise ConnectionRefusedError("Log in to get live updates.", {"code": "unauthorized"})
    guard.admit(request.sid, current_user.id, current_app.config)
    join_room(user_room(current_user.id))
    if current_user.is_admin:
        join_room(ADMINS)
    accounts.record_socket(request.sid, current_user.id, current_user.login_token)
    return None


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> dict | None:
    if guard.sent_by_client():
        return guard.refused_event(guard.ReservedEvent("disconnect is not an event a client may send."))
    guard.release(request.sid)
    guard.close_transport_of(request.sid)
    try:
        accounts.forget_socket(request.sid)
    except Exception:  # python-socketio must still take the socket out of its rooms
        log.exception("could not forget socket %s", request.sid)
    return None


def client_event(name: str):
    """Register a client event whose handler returns the ack's fields."""

    def decorator(handler: Callable[[dict], dict]):
        @socketio.on(name)
        @wraps(handler)
        def wrapper(payload: Any = None, *_ignored: Any) -> dict:
            return guard.guarded(handler, payload)

        return wrapper

    return decorator


@socketio.on("*")
def on_unknown_event(event: str, payload: Any = None, *_ignored: Any) -> dict:
    """Any event the contract does not name (``join``, ``subscribe`` to a room ...)."""
    return guard.refused_event(guard.UnknownEvent(f"There is no event {str(event)[:50]!r}."))


@client_event("sync")
def on_sync(payload: dict) -> dict:
    user_id = current_user.id
    missed = notifications.notifications_after(db.session, user_id, guard.int_field(payload, "after_seq"))
    last = notifications.last_seq(db.session, user_id)
    return {
        "notifications": [n.to_payload() for n in missed],
        "last_seq": last,
        "more": bool(missed) and missed[-1].seq < last,
        "unread": notifications.unread_count(db.session, user_id),
    }


@client_event("subscribe_product")
def on_subscribe_product(payload: dict) -> dict:
    product = catalog.get_product(guard.int_field(payload, "product_id"))
    followed = guard.followed_products(request.sid)
    if len(followed) >= guard.MAX_PRODUCT_ROOMS and product.id not in followed:
        raise InvalidInput(f"Follow at most {guard.MAX_PRODUCT_ROOMS} products at once.")
    join_room(product_room(product.id))
    followed.add(product.id)
    return {"product_id": product.id, "stock": product.stock, "in_stock": product.stock > 0}


@client_event("unsubscribe_product")
def on_unsubscribe_product(payload: dict) -> dict:
    product_id = guard.int_field(payload, "product_id")
    leave_room(product_room(product_id))
    guard.followed_products(request.sid).discard(product_id)
    return {}


@client_event("mark_read")
def on_mark_read(payload: dict) -> dict:
    return {"unread": notifications.mark_read(current_user.id, guard.int_field(payload, "up_to_seq"))}
