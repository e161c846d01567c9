"""Versions and the admins' feed of changes to orders and products.

Every change to an order or a product bumps its ``version`` with a guarded
UPDATE (``... WHERE id = :id AND version = :v`` when a form says which version
it was rendered from: a stale form changes nothing and gets StaleVersion) and
records one AdminChange row in the same transaction. An order's status change
checks the version on the row it has locked (``check_version``) and bumps it
in the UPDATE that moves the status.

The feed's positions are gap-free and in commit order: they are assigned in a
``before_commit`` hook, under a lock held until the commit (PostgreSQL: a
transaction-level advisory lock; SQLite: every write transaction begins
IMMEDIATE, so writers run one at a time). A writer therefore takes the next
position only once the one before it has committed, and a reader that sees
position N has seen every position below it: ``position > after`` misses
nothing. The lock is the last one a transaction takes, held for one insert,
so it adds no lock cycle.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from shop.extensions import db
from shop.models import AdminChange, User
from shop.models.base import utcnow
from shop.realtime import publisher
from shop.services.errors import DomainError

ADMIN_SYNC_LIMIT = 500
# Built once (each keeps its compiled form): every change of an order or a product runs both.
_HEAD = select(func.coalesce(func.max(AdminChange.position), 0))
_WRITE = insert(AdminChange.__table__)
# The feed's namespace for PostgreSQL advisory locks (beside the cart's, "cart").
FEED_LOCK = 0x66656564  # "feed"
_PENDING = "shop.pending_admin_changes"
NOBODY = "the command line"


class StaleVersion(DomainError):
    """A form rendered from an older version of what it changes: nothing was changed."""

    code = "stale_version"
    status = 409


@dataclass(frozen=True)
class Change:
    kind: str
    entity_id: int
    version: int
    actor_id: int | None
    summary: str
    data: dict[str, Any]
    actor: str | None = None  # the actor's name, when the caller has read it already


def bump_version(session: Session, entity: Any, expected: int | None = None) -> int:
    """Add one to ``entity``'s version in the database (only if it is ``expected``, when
    given) and return the new one; StaleVersion when the guard finds another version.

    Run it before reading what the change depends on: on PostgreSQL the UPDATE
    waits for a concurrent writer of the row and then sees its commit, so of two
    forms from one version exactly one passes."""
    table = type(entity).__table__
    statement = update(table).where(table.c.id == entity.id)
    if expected is not None:
        statement = statement.where(table.c.version == expected)
    bumped = statement.values(version=table.c.version + 1).returning(table.c.version)
    version = session.connection().execute(bumped).scalar_one_or_none()  # Core: no ORM bulk update
    if version is None:
        raise StaleVersion(stale_message(entity.id, table.name, expected or 0))
    set_committed_value(entity, "version", version)
    return version


def check_version(entity: Any, expected: int | None) -> None:
    """StaleVersion when a form rendered from version ``expected`` meets ``entity`` at
    another; ``entity`` is read under its row's lock (``locked_order``), so the version
    it has is the one this transaction changes."""
    if expected is not None and entity.version != expected:
        raise StaleVersion(stale_message(entity.id, type(entity).__table__.name, expected))


def stale_message(entity_id: int, table: str, expected: int) -> str:
    """What the refused admin is told: what changed since their page, by whom."""
    kind = "Order" if table == "orders" else "Product"
    label = f"{kind} #{entity_id}" if kind == "Order" else "This product"
    since = changes_of(kind.lower(), entity_id, expected)
    told = "; ".join(f"{c.actor}: {c.summary}" for c in since[-5:]) or "it was changed"
    return (
        f"{label} was changed since this page was loaded ({told}). Nothing was saved: "
        "the page now shows it as it is; check it and submit again."
    )


def changes_of(kind: str, entity_id: int, after_version: int) -> list[AdminChange]:
    """The committed changes of one order or product after ``after_version``, oldest first."""
    return list(
        db.session.scalars(
            select(AdminChange)
            .where(
                AdminChange.kind == kind,
                AdminChange.entity_id == entity_id,
                AdminChange.version > after_version,
            )
            .order_by(AdminChange.position)
        )
    )


def record(session: Session, change: Change) -> None:
    """Queue ``change`` for the feed: written (and pushed to admins) as the transaction commits."""
    session.info.setdefault(_PENDING, []).append(change)


def head() -> int:
    """The feed's last position: read before a page's data, it is where the page's socket
    catches up from (what came after may be on the page already, never missing)."""
    return db.session.scalar(_HEAD)


def page_position(*shown: Any) -> int:
    """The feed's head for a page that shows ``shown`` (already loaded): read first, and
    ``shown`` is read again after it, so the page is never older than its position."""
    position = head()
    for entity in shown:
        db.session.expire(entity)
    return position


def since(after: int) -> dict[str, Any]:
    """What ``admin_sync`` answers: the changes after ``after`` (oldest first, at most
    ADMIN_SYNC_LIMIT, ``more`` when there are more) and the position they reach."""
    rows = list(
        db.session.scalars(
            select(AdminChange)
            .where(AdminChange.position > after)
            .order_by(AdminChange.position)
            .limit(ADMIN_SYNC_LIMIT)
        )
    )
    top = head()
    reached = rows[-1].position if rows else min(after, top)
    return {
        "changes": [row.to_payload() for row in rows],
        "position": reached,
        "head": top,
        "more": reached < top,
    }


def _actor_name(session: Session, actor_id: int | None) -> str:
    if actor_id is None:
        return NOBODY
    return session.connection().scalar(select(User.name).where(User.id == actor_id)) or NOBODY


def _lock_feed(session: Session) -> None:
    if session.get_bind().dialect.name != "sqlite":
        session.execute(select(func.pg_advisory_xact_lock(FEED_LOCK, 0)))


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    _lock_feed(session)
    connection = session.connection()
    position = connection.scalar(_HEAD)
    actors = {change.actor_id: change.actor or _actor_name(session, change.actor_id) for change in pending}
    now = utcnow()
    rows = [
        {
            "position": position + number,
            "kind": change.kind,
            "entity_id": change.entity_id,
            "version": change.version,
            "actor_id": change.actor_id,
            "actor": actors[change.actor_id],
            "summary": change.summary[:300],
            "data": change.data,
            "created_at": now,
        }
        for number, change in enumerate(pending, start=1)
    ]
    # One INSERT for all of them, on the transaction's connection (never changed after: no flush).
    connection.execute(_WRITE, rows)
    for row in rows:
        publisher.queue_admin_change(session, AdminChange(**row))


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
