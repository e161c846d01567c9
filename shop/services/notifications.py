"""Notification rows: written in the caller's transaction, pushed after it commits."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from shop import metrics
from shop.extensions import db
from shop.models import Notification, User
from shop.models.base import utcnow
from shop.models.notification import ADMIN_KINDS
from shop.realtime import publisher
from shop.services.mail import record_seen
from shop.services.transaction import write_transaction

SYNC_LIMIT = 500
NOTIFY_BATCH = 500  # users per statement: well under SQLite's limit of bound parameters


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
    return notify_many(session, [user_id], kind, title, body, url, data)[0]


def notify_many(
    session: Session,
    user_ids: list[int],
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    data: dict[str, Any] | None = None,
) -> list[Notification]:
    """The same notification for each of ``user_ids`` (a product's watchers, the admins),
    each with that user's next seq, its push queued: two statements per NOTIFY_BATCH people,
    not two per person (5,000 watchers took seconds of one writer's time, on SQLite the
    whole event loop's). On PostgreSQL the users are locked in id order first, as one
    ``notify`` after another in that order would, so two of these never deadlock."""
    ordered = sorted(set(user_ids))
    written: list[Notification] = []
    for start in range(0, len(ordered), NOTIFY_BATCH):
        batch = ordered[start : start + NOTIFY_BATCH]
        written += _notify_batch(session, batch, kind, title, body, url, data or {})
    return written


def _notify_batch(
    session: Session, user_ids: list[int], kind: str, title: str, body: str, url: str, data: dict[str, Any]
) -> list[Notification]:
    connection = session.connection()
    if len(user_ids) > 1 and connection.dialect.name != "sqlite":
        connection.execute(select(User.id).where(User.id.in_(user_ids)).order_by(User.id).with_for_update())
    seqs = dict(connection.execute(_NEXT_SEQS, {"user_ids": user_ids}).all())
    now = utcnow()
    rows = [
        {
            "user_id": user_id,
            "seq": seqs[user_id],
            "kind": kind,
            "title": title,
            "body": body,
            "url": url,
            "data": dict(data),
            "created_at": now,
            "read": False,
            "pushed": False,
        }
        for user_id in user_ids
        if user_id in seqs
    ]
    # INSERTs on the transaction's connection, not the unit of work's flush: the rows are
    # never changed in this transaction, and the objects returned are the rows as written.
    # Each row's id is matched by its user (one row per user here): asking RETURNING for the
    # parameters' order would make SQLite insert them one at a time.
    ids = dict(connection.execute(_WRITE, rows).all())
    notifications = [Notification(id=ids[row["user_id"]], **row) for row in rows]
    for notification in notifications:
        publisher.queue_notification(session, notification)
    return notifications


# Built once, run on the transaction's connection (not the ORM's bulk UPDATE: every status
# change and message runs it): each user's next seq.
_USERS = User.__table__
_NEXT_SEQS = (
    update(_USERS)
    .where(_USERS.c.id.in_(bindparam("user_ids", expanding=True)))
    .values(last_seq=_USERS.c.last_seq + 1)
    .returning(_USERS.c.id, _USERS.c.last_seq)
)
_NOTIFICATIONS = Notification.__table__
_WRITE = insert(_NOTIFICATIONS).returning(_NOTIFICATIONS.c.user_id, _NOTIFICATIONS.c.id)


def notify_admins(session: Session, kind: str, title: str, **fields: Any) -> None:
    admin_ids = session.scalars(select(User.id).where(User.is_admin)).all()
    notify_many(session, admin_ids, kind, title, **fields)


def catch_up(user_id: int, after_seq: int, is_admin: bool) -> dict[str, Any]:
    """What ``sync`` answers: everything after ``after_seq`` that the user may still see
    (oldest first, up to SYNC_LIMIT rows looked at, ``more`` when there is more), the
    position it covers (``up_to_seq``, past rows filtered out, so that a client never
    asks for them again), the last seq, the inbox epoch and the unread count."""
    return catch_up_many([SyncAsk(user_id, after_seq, is_admin)])[0]


@dataclass(frozen=True)
class SyncAsk:
    user_id: int
    after_seq: int
    is_admin: bool


def catch_up_many(asks: list[SyncAsk]) -> list[dict[str, Any]]:
    """``catch_up`` for many asks at once (a reconnect storm's syncs) in three queries,
    whatever their number; each ask's rows are read before its position, as alone.

    Rows are read for every user from the lowest seq asked after and cut per ask;
    a first read of the positions bounds that (seqs have no gaps): an ask more
    than SYNC_LIMIT behind is read alone.
    """
    users = {ask.user_id for ask in asks}
    tops = {user_id: top for user_id, (_, top, _) in _positions_and_unread(users).items()}
    near = [ask for ask in asks if tops.get(ask.user_id, 0) - ask.after_seq <= SYNC_LIMIT]
    rows = _rows_after(near)
    far = {ask: _rows_after([ask]) for ask in asks if ask not in near}
    positions = _positions_and_unread(users)
    answers = []
    for ask in asks:
        found = far.get(ask, rows)
        mine = [n for n in found.get(ask.user_id, []) if n.seq > ask.after_seq][:SYNC_LIMIT]
        answers.append(_answer(ask, mine, positions.get(ask.user_id, ("", 0, 0))))
    metrics.SYNC_CALLS.inc(len(asks))
    return answers


def _rows_after(asks: list[SyncAsk]) -> dict[int, list[Notification]]:
    """Each user's notifications after the lowest seq asked after, oldest first."""
    if not asks:
        return {}
    lowest: dict[int, int] = {}
    for ask in asks:
        lowest[ask.user_id] = min(ask.after_seq, lowest.get(ask.user_id, ask.after_seq))
    after_lowest = [(Notification.user_id == user) & (Notification.seq > seq) for user, seq in lowest.items()]
    statement = (
        select(Notification).where(or_(*after_lowest)).order_by(Notification.user_id, Notification.seq)
    )
    if len(lowest) == 1:
        statement = statement.limit(SYNC_LIMIT)
    found: dict[int, list[Notification]] = {}
    for notification in db.session.scalars(statement):
        found.setdefault(notification.user_id, []).append(notification)
    return found


def _answer(ask: SyncAsk, rows: list[Notification], position: tuple[str, int, int]) -> dict[str, Any]:
    epoch, last, unread = position
    visible = [n.to_payload() for n in rows if ask.is_admin or n.kind not in ADMIN_KINDS]
    metrics.SYNC_ROWS.inc(len(visible))
    return {
        "notifications": visible,
        "up_to_seq": rows[-1].seq if rows else min(ask.after_seq, last),
        "last_seq": last,
        "epoch": epoch,
        "more": bool(rows) and rows[-1].seq < last,
        "unread": unread,
    }


def _positions_and_unread(user_ids: set[int]) -> dict[int, tuple[str, int, int]]:
    """Each user's ``position`` and unread count, in one query."""
    unread = (
        select(func.count())
        .where(Notification.user_id == User.id, ~Notification.read)
        .correlate(User)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(User.id, User.inbox_epoch, User.last_seq, unread).where(User.id.in_(list(user_ids)))
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


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
