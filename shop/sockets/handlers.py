"""The Socket.IO handlers: check the login, join server-chosen rooms, answer acks.

No business rules live here: every handler calls a service, and the guard
turns its result or DomainError into ``{"ok": true, ...}`` or
``{"ok": false, "error": {"code", "message"}}``.
"""

import logging
from typing import Any

from flask import current_app, request
from flask_login import current_user
from flask_socketio import join_room, leave_room

from shop.extensions import socketio
from shop.realtime.rooms import ADMINS, order_room, order_shop_room, product_room, user_room
from shop.services import catalog, changes, mail, messages, notifications
from shop.services.accounts import SocketIdentity
from shop.services.messages import Reader
from shop.services.notifications import SyncAsk
from shop.sockets import guard, logins, transports
from shop.sockets.presence import presence
from shop.sockets.records import records

log = logging.getLogger(__name__)


@socketio.on("connect")
def on_connect(auth: Any = None) -> dict | None:
    if guard.sent_by_client():
        return guard.refused_event(guard.ReservedEvent("connect is not an event a client may send."))
    who = guard.identify()
    guard.admit(request.sid, who.user_id, who.is_admin, current_app.config)
    join_room(user_room(who.user_id))
    if who.is_admin:
        join_room(ADMINS)
    records().note_open(request.sid, who.user_id, who.login_token, who.is_admin)
    presence().connected(request.sid, who.user_id, who.is_admin)
    return None


@socketio.on("disconnect")
def on_disconnect(reason: Any = None) -> dict | None:
    if guard.sent_by_client():
        return guard.refused_event(guard.ReservedEvent("disconnect is not an event a client may send."))
    guard.release(request.sid)
    transports.close_transport_of(request.sid)
    records().note_closed(request.sid)
    try:
        presence().disconnected(request.sid)
    except Exception:  # the store is down: its entries expire by themselves
        log.exception("could not take socket %s out of presence", request.sid)
    return None


socketio.on_error_default(guard.handler_failed)


@socketio.on("*")
def on_unknown_event(event: str, payload: Any = None, *_ignored: Any) -> dict:
    """Any event the contract does not name (``join``, ``subscribe`` to a room ...)."""
    return guard.refused_event(guard.UnknownEvent(f"There is no event {str(event)[:50]!r}."))


@guard.identified_event("sync")
def on_sync(who: SocketIdentity, payload: dict) -> dict:
    return logins.catch_up(SyncAsk(who.user_id, guard.int_field(payload, "after_seq"), who.is_admin))


@guard.client_event("admin_sync")
def on_admin_sync(payload: dict) -> dict:
    guard.require_admin()
    return changes.since(guard.int_field(payload, "after"))


@guard.client_event("subscribe_product")
def on_subscribe_product(payload: dict) -> dict:
    product = catalog.get_product(guard.int_field(payload, "product_id"))
    guard.follow(request.sid, product.id)
    join_room(product_room(product.id))
    return {"product_id": product.id, "stock": product.stock, "in_stock": product.stock > 0}


@guard.client_event("unsubscribe_product")
def on_unsubscribe_product(payload: dict) -> dict:
    product_id = guard.int_field(payload, "product_id")
    leave_room(product_room(product_id))
    guard.unfollow(request.sid, product_id)
    return {}


@guard.client_event("mark_read")
def on_mark_read(payload: dict) -> dict:
    return {"unread": notifications.mark_read(current_user.id, guard.int_field(payload, "up_to_seq"))}


@guard.client_event("send_message")
def on_send_message(payload: dict) -> dict:
    order_id, limit = guard.int_field(payload, "order_id"), current_app.config["MESSAGES_PER_MINUTE"]
    body, client_id = payload.get("body"), payload.get("client_id")
    return {"message": messages.send_message(Reader.of(current_user), order_id, body, client_id, limit)}


@guard.client_event("read_messages")
def on_read_messages(payload: dict) -> dict:
    order_id, up_to_id = guard.int_field(payload, "order_id"), guard.int_field(payload, "up_to_id")
    return {"unread": messages.read_messages(Reader.of(current_user), order_id, up_to_id)}


@guard.client_event("watch_order")
def on_watch_order(payload: dict) -> dict:
    watch = messages.watch_of(
        Reader.of(current_user), current_user.name, guard.int_field(payload, "order_id")
    )
    join_room(order_shop_room(watch.order_id) if watch.for_shop else order_room(watch.order_id))
    missed = messages.messages_after(watch, guard.int_field({"after_id": 0, **payload}, "after_id"))
    return {"presence": presence().watch(request.sid, watch), "messages": missed}


@guard.client_event("unwatch_order")
def on_unwatch_order(payload: dict) -> dict:
    order_id = guard.int_field(payload, "order_id")
    leave_room(order_room(order_id))
    leave_room(order_shop_room(order_id))
    presence().unwatch(request.sid, order_id)
    return {}


@guard.client_event("typing")
def on_typing(payload: dict) -> dict:
    presence().typing(request.sid, guard.int_field(payload, "order_id"))
    return {}


@guard.client_event("seen")
def on_seen(payload: dict) -> dict:
    return {"seen_seq": mail.mark_seen(current_user.id, guard.int_field(payload, "up_to_seq"))}
