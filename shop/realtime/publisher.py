"""The only module that sends anything to Socket.IO clients.

Services call the ``queue_*`` functions while they work; nothing is sent
then. The pushes wait in the database session and go out only after that
session commits, so a change that rolls back tells nobody. Anything a client
misses (it was offline, or the message queue was down) it gets back from the
notification rows through the ``sync`` event.
"""

import logging
from datetime import datetime
from typing import Any

from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from shop import metrics
from shop.extensions import socketio
from shop.models.base import utcnow
from shop.realtime.queue import HEARTBEAT_ROOM
from shop.realtime.rooms import ADMINS, order_room, order_shop_room, product_room, user_room

log = logging.getLogger(__name__)

_PENDING = "shop.pending_pushes"
_DISCONNECTS = "shop.pending_disconnects"
_LEAVES = "shop.pending_room_leaves"
# Notification ids emitted after their commit, waiting to be marked pushed (shop/realtime/relay.py):
# kept in the app context they were emitted in (``g``), or here when there is none.
_emitted: list[int] = []
_EMITTED_HERE = "shop_emitted"


def queue_push(session: Session, event_name: str, payload: dict[str, Any], to: str | list[str]) -> None:
    session.info.setdefault(_PENDING, []).append((event_name, payload, to))


def queue_notification(session: Session, notification) -> None:
    queue_push(session, "notification", notification.to_payload(), user_room(notification.user_id))


def queue_order_status(session: Session, order, previous_status: str | None) -> None:
    payload = {
        "order_id": order.id,
        "status": order.status,
        "previous_status": previous_status,
        "updated_at": _iso(order.updated_at),
    }
    queue_push(session, "order_status", payload, user_room(order.user_id))
    queue_push(session, "order_status", payload, ADMINS)


def queue_payment_status(session: Session, order, previous: str, updated_at: datetime) -> None:
    """The order's payment status moved: its owner's pages and the admins' lists follow."""
    payload = {
        "order_id": order.id,
        "payment_status": order.payment_status,
        "previous": previous,
        "updated_at": _iso(updated_at),
    }
    queue_push(session, "payment_status", payload, user_room(order.user_id))
    queue_push(session, "payment_status", payload, ADMINS)


def queue_stock(session: Session, product_id: int, stock: int) -> None:
    """``updated_at`` is when the change was made, as in ``order_status``."""
    payload = {"product_id": product_id, "stock": stock, "in_stock": stock > 0, "updated_at": _iso(utcnow())}
    queue_push(session, "stock", payload, product_room(product_id))


def queue_admin_change(session: Session, change) -> None:
    """A change to an order or a product (shop/services/changes.py): every admin page follows it."""
    queue_push(session, "admin_change", change.to_payload(), ADMINS)


def queue_cart(session: Session, user_id: int, count: int) -> None:
    """Tell every tab and device of the user how many items their cart holds (nav badge)."""
    queue_push(session, "cart", {"count": count}, user_room(user_id))


def queue_unread(session: Session, user_id: int, unread: int) -> None:
    """Tell every tab and device of the user the new unread count (badge)."""
    queue_push(session, "unread", {"unread": unread}, user_room(user_id))


def queue_message(session: Session, message) -> None:
    """A new message of an order's thread: to the pages watching it, each side as it sees
    the author, and to the author's own other tabs and devices. A socket in several of
    the rooms of one emit gets it once."""
    customer_rooms = [order_room(message.order_id)]
    shop_rooms = [order_shop_room(message.order_id)]
    (shop_rooms if message.is_shop else customer_rooms).append(user_room(message.author_id))
    queue_push(session, "message", message.to_payload(for_shop=False), customer_rooms)
    queue_push(session, "message", message.to_payload(for_shop=True), shop_rooms)


def queue_messages_read(
    session: Session, order_id: int, owner_id: int, side: str, up_to_id: int, unread_threads: int
) -> None:
    """One side read the thread: the other side shows "Seen", the reader's other tabs (every
    admin's, for the shop) clear what they showed as unread; admins get the count of unread threads."""
    payload = {"order_id": order_id, "side": side, "up_to_id": up_to_id}
    queue_push(session, "messages_read", payload, [order_room(order_id), user_room(owner_id)])
    shop_payload = {**payload, "unread_threads": unread_threads}
    queue_push(session, "messages_read", shop_payload, [order_shop_room(order_id), ADMINS])


def queue_preferences(session: Session, user_id: int, settings: dict[str, dict[str, bool]]) -> None:
    """Every open tab of the user shows the switches as they now are."""
    queue_push(session, "preferences", {"preferences": settings}, user_room(user_id))


def queue_disconnect(session: Session, sids: list[str]) -> None:
    """Close these sockets (on whichever worker holds them) after the commit."""
    session.info.setdefault(_DISCONNECTS, []).extend(sids)


def queue_leave_room(session: Session, sids: list[str], room: str) -> None:
    """Take these sockets out of ``room`` (on whichever worker holds them) after the commit."""
    session.info.setdefault(_LEAVES, []).extend((sid, room) for sid in sids)


def send(event_name: str, payload: dict[str, Any], to: str | list[str], skip_sid: str | None = None) -> bool:
    """Emit now; whether it went. Never raises: the database already holds the truth (and
    what is sent without a commit, presence and typing, is gone in seconds anyway)."""
    try:
        socketio.emit(event_name, payload, to=to, skip_sid=skip_sid)
        metrics.PUSHES.labels(event_name).inc()
        return True
    except Exception:  # a broken queue must not fail a committed change
        metrics.PUSH_FAILURES.labels(event_name).inc()
        log.exception("push of %s to %s failed", event_name, to)
        return False


def take_emitted() -> list[int]:
    """The notification ids handed over since the last call (to be marked pushed)."""
    taken = _emitted[:]
    del _emitted[: len(taken)]
    return taken


def emitted_here() -> list[int]:
    """The notification ids emitted in this app context, taken out of it."""
    return g.pop(_EMITTED_HERE, []) if has_app_context() else []


def hand_over(ids: list[int]) -> None:
    """Leave ``ids`` for the next take_emitted (the relay's round)."""
    _emitted.extend(ids)


def _note_emitted(notification_id: int) -> None:
    if has_app_context():
        g.setdefault(_EMITTED_HERE, []).append(notification_id)
    else:
        _emitted.append(notification_id)


def send_here(event_name: str, payload: dict[str, Any], to: str) -> None:
    """Emit to this worker's sockets only (every worker tells its own), never raising."""
    try:
        socketio.emit(event_name, payload, to=to, ignore_queue=True)
        metrics.PUSHES.labels(event_name).inc()
    except Exception:
        log.exception("push of %s to %s failed", event_name, to)


def send_position(user_id: int, epoch: str, top_seq: int) -> None:
    """Tell this worker's sockets of a user where their inbox stands (not through the
    queue: every worker tells its own), so that a client behind catches up even when
    the push it missed was the last one."""
    send_here("position", {"epoch": epoch, "top_seq": top_seq}, user_room(user_id))


def send_admin_position(position: int) -> None:
    """Tell this worker's admin sockets where the feed of changes stands (every worker
    tells its own), so that a page that missed the last ``admin_change`` catches up."""
    send_here("admin_position", {"position": position}, ADMINS)


def leave_room_here(sid: str, room: str) -> None:
    socketio.server.manager.leave_room(sid, "/", room)


def heartbeat() -> None:
    """A message to nobody through the queue: proof, when it comes back, that this worker hears."""
    send("heartbeat", {}, HEARTBEAT_ROOM)


def leave_room(sid: str, room: str) -> None:
    try:
        socketio.server.leave_room(sid, room, namespace="/")
    except Exception:
        log.exception("taking %s out of %s failed", sid, room)


def disconnect(sid: str) -> None:
    try:
        socketio.server.disconnect(sid, namespace="/")
    except Exception:
        log.exception("disconnect of %s failed", sid)


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pushes = session.info.pop(_PENDING, [])
    sids = session.info.pop(_DISCONNECTS, [])
    leaves = session.info.pop(_LEAVES, [])
    if socketio.server is None:  # the app was built without the socket server
        return
    for event_name, payload, to in pushes:
        if send(event_name, payload, to) and event_name == "notification":
            _note_emitted(payload["id"])
    for sid, room in leaves:
        leave_room(sid, room)
    for sid in sids:
        disconnect(sid)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    for key in (_PENDING, _DISCONNECTS, _LEAVES):
        session.info.pop(key, None)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
