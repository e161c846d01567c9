"""Notification rows: written in the caller's transaction, pushed after it commits."""

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shop import metrics
from shop.extensions import db
from shop.models import Notification, User
from shop.models.notification import ADMIN_KINDS
from shop.realtime import publisher
from shop.services.mail import record_seen
from shop.services.transaction import write_transaction

SYNC_LIMIT = 500


def notify(
    session: Session,
    user_id: int,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    data: dict[str, Any] | None = None,
) -> Notification:
    """Write one notification with the user's next seq and queue its push."""
    seq = session.execute(
        update(User)
        .where(User.id == user_id)
        .values(last_seq=User.last_seq + 1)
        .returning(User.last_seq)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    notification = Notification(
        user_id=user_id, seq=seq, kind=kind, title=title, body=body, url=url, data=data or {}
    )
    session.add(notification)
    session.flush()
    publisher.queue_notification(session, notification)
    return notification


def notify_admins(session: Session, kind: str, title: str, **fields: Any) -> None:
    admin_ids = session.scalars(select(User.id).where(User.is_admin).order_by(User.id)).all()
    for admin_id in admin_ids:
        notify(session, admin_id, kind, title, **fields)


def catch_up(user_id: int, after_seq: int, is_admin: bool) -> dict[str, Any]:
    """What ``sync`` answers: everything after ``after_seq`` that the user may still see
    (oldest first, up to SYNC_LIMIT rows looked at, ``more`` when there is more), the
    position it covers (``up_to_seq``, past rows filtered out, so that a client never
    asks for them again), the last seq, the inbox epoch and the unread count."""
    rows = list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.seq > after_seq)
            .order_by(Notification.seq)
            .limit(SYNC_LIMIT)
        )
    )
    epoch, last, unread = _position_and_unread(user_id)
    visible = [n.to_payload() for n in rows if is_admin or n.kind not in ADMIN_KINDS]
    metrics.SYNC_CALLS.inc()
    metrics.SYNC_ROWS.inc(len(visible))
    return {
        "notifications": visible,
        "up_to_seq": rows[-1].seq if rows else min(after_seq, last),
        "last_seq": last,
        "epoch": epoch,
        "more": bool(rows) and rows[-1].seq < last,
        "unread": unread,
    }


def _position_and_unread(user_id: int) -> tuple[str, int, int]:
    """``position`` and the unread count in one query (``sync`` is asked on every reconnect)."""
    unread = select(func.count()).where(Notification.user_id == user_id, ~Notification.read).scalar_subquery()
    row = db.session.execute(
        select(User.inbox_epoch, User.last_seq, unread).where(User.id == user_id)
    ).one_or_none()
    return (row[0], row[1], row[2]) if row else ("", 0, 0)


def position(user_id: int) -> tuple[str, int]:
    """The user's inbox epoch and top seq: read before a page's data, it is where the page's
    socket catches up from (what came after may be on the page already, never missing)."""
    row = db.session.execute(select(User.inbox_epoch, User.last_seq).where(User.id == user_id)).one_or_none()
    return (row.inbox_epoch, row.last_seq) if row else ("", 0)


def positions(user_ids: list[int]) -> dict[int, tuple[str, int, bool]]:
    """Each user's inbox epoch, top seq and whether they are an admin, in one query per 500."""
    found = {}
    for start in range(0, len(user_ids), 500):
        chunk = user_ids[start : start + 500]
        rows = db.session.execute(
            select(User.id, User.inbox_epoch, User.last_seq, User.is_admin).where(User.id.in_(chunk))
        )
        found.update({row.id: (row.inbox_epoch, row.last_seq, row.is_admin) for row in rows})
    return found


def forget_admin_news(session: Session, user_id: int) -> None:
    """Mark what only admins are told as read for a user who is no admin any more."""
    session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.kind.in_(ADMIN_KINDS), ~Notification.read)
        .values(read=True)
        .execution_options(synchronize_session=False)
    )
    publisher.queue_unread(session, user_id, _unread_count(session, user_id))


def recent_notifications(user_id: int, limit: int = 50) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.seq.desc())
            .limit(limit)
        )
    )


def unread_count(user_id: int) -> int:
    return _unread_count(db.session, user_id)


def last_seq(user_id: int) -> int:
    return db.session.scalar(select(User.last_seq).where(User.id == user_id)) or 0


def mark_read(user_id: int, up_to_seq: int) -> int:
    """Mark everything up to ``up_to_seq`` read (and so seen); return the unread count left."""
    with write_transaction() as session:
        record_seen(session, user_id, up_to_seq)
        session.execute(
            update(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.seq <= up_to_seq,
                ~Notification.read,
            )
            .values(read=True)
            .execution_options(synchronize_session=False)
        )
        unread = _unread_count(session, user_id)
        publisher.queue_unread(session, user_id, unread)
    return unread


def _unread_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).where(Notification.user_id == user_id, ~Notification.read))
