"""Notification rows: written in the caller's transaction, pushed after it commits."""

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shop.extensions import db
from shop.models import Notification, User
from shop.realtime import publisher
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


def catch_up(user_id: int, after_seq: int) -> dict[str, Any]:
    """What ``sync`` answers: everything after ``after_seq`` (oldest first, up to
    SYNC_LIMIT, ``more`` when there is more), the last seq and the unread count."""
    missed = list(
        db.session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.seq > after_seq)
            .order_by(Notification.seq)
            .limit(SYNC_LIMIT)
        )
    )
    last = last_seq(user_id)
    return {
        "notifications": [n.to_payload() for n in missed],
        "last_seq": last,
        "more": bool(missed) and missed[-1].seq < last,
        "unread": unread_count(user_id),
    }


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
    """Mark everything up to ``up_to_seq`` read; return the unread count left."""
    with write_transaction() as session:
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
