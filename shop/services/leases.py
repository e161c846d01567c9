"""Claiming background work with a lease: what the mail and push senders share.

A sender claims one due row at a time (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, BEGIN IMMEDIATE on SQLite), so two workers never take the same
row; the lease lets another take it over once it has passed (a sender killed
mid-send); an outcome is recorded only by the sender that still holds it.
"""

from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from shop.extensions import db
from shop.models import Notification, User
from shop.models.base import utcnow
from shop.models.leased import PENDING
from shop.services.transaction import write_transaction


def people_due(decided, cutoff: datetime, limit: int, *conditions) -> list[int]:
    """The people (oldest first) with a notification after both ``decided`` (the User
    column of what a planner already decided on) and what they saw, written before
    ``cutoff``: a plain read, the planner then locks each person."""
    decided_up_to = case((decided > User.seen_seq, decided), else_=User.seen_seq)
    due = db.session.scalars(
        select(User.id)
        .join(Notification, (Notification.user_id == User.id) & (Notification.seq == decided_up_to + 1))
        .where(
            User.last_seq > decided,
            User.last_seq > User.seen_seq,
            Notification.created_at <= cutoff,
            *conditions,
        )
        .order_by(Notification.created_at)
        .limit(limit)
    ).all()
    db.session.rollback()
    return list(due)


def due(model, now: datetime):
    """The rows of ``model`` (a LeasedWorkColumns model) a sender may claim at ``now``."""
    return (
        (model.status == PENDING)
        & (model.next_attempt_at <= now)
        & or_(model.lease_until.is_(None), model.lease_until < now)
    )


def anything_due(model) -> bool:
    """Whether a row is due: a plain read, so that an idle runner takes no write lock."""
    found = db.session.scalar(select(model.id).where(due(model, utcnow())).limit(1)) is not None
    db.session.rollback()
    return found


def claim_one(model, owner: str, lease_seconds: float, now: datetime | None = None) -> int | None:
    """Claim the next due row for ``owner`` for ``lease_seconds``; its id, or None."""
    now = now or utcnow()
    with write_transaction() as session:
        row_id = session.scalar(
            select(model.id)
            .where(due(model, now))
            .order_by(model.next_attempt_at, model.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if row_id is None:
            return None
        session.execute(
            update(model)
            .where(model.id == row_id)
            .values(
                lease_until=now + timedelta(seconds=lease_seconds),
                lease_owner=owner,
                attempts=model.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
    return row_id


def release(session: Session, model, row_id: int, owner: str, **values) -> bool:
    """Record an outcome (``values``) and drop the lease, if ``owner`` still holds the row."""
    return bool(
        session.execute(
            update(model)
            .where(model.id == row_id, model.lease_owner == owner)
            .values(lease_until=None, lease_owner=None, **values)
            .execution_options(synchronize_session=False)
        ).rowcount
    )
