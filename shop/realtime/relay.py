"""The outbox relay: every committed notification is emitted, even when the worker that
committed it died before its emit (or the emit failed).

The publisher emits after the commit and remembers the ids it emitted; this job
(on the background runner, every OUTBOX_RELAY_SECONDS in every worker) first
marks those pushed in one UPDATE, then claims the notifications still not
pushed OUTBOX_GRACE_SECONDS after they were written (``FOR UPDATE SKIP
LOCKED``: two workers never relay the same row), emits them and marks them.
A row emitted but not yet marked when its worker died is emitted again: the
client drops it by ``seq``. What an app context emitted is handed to this
process's relay when that context ends; a process that runs no relay (the
CLI, a script) marks it pushed there and then.
"""

import logging
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import func, select, update

from shop import background
from shop.extensions import db
from shop.models import Notification
from shop.models.base import utcnow
from shop.realtime import publisher
from shop.realtime.rooms import user_room
from shop.services.transaction import write_transaction

BATCH = 500


JOB = "outbox.relay"
log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.teardown_appcontext(_mark_here)


def _mark_here(_exc: BaseException | None) -> None:
    emitted = publisher.emitted_here()
    if not emitted:
        return
    if background.running(current_app, JOB):
        publisher.hand_over(emitted)  # the relay marks them in one UPDATE a round
        return
    try:
        mark_pushed(emitted)
    except Exception:  # unmarked, they are relayed again: a duplicate, never a loss
        log.exception("marking %d notifications pushed failed", len(emitted))


def run(app: Flask) -> int:
    """One round: mark what was emitted, relay what was not; how many were relayed."""
    mark_pushed(publisher.take_emitted() + publisher.emitted_here())
    return relay_unpushed()


def mark_pushed(ids: list[int]) -> None:
    for start in range(0, len(ids), BATCH):
        with write_transaction() as session:
            session.execute(
                update(Notification)
                .where(Notification.id.in_(ids[start : start + BATCH]))
                .values(pushed=True)
                .execution_options(synchronize_session=False)
            )


def relay_unpushed(now: datetime | None = None) -> int:
    cutoff = (now or utcnow()) - timedelta(seconds=current_app.config["OUTBOX_GRACE_SECONDS"])
    waiting = select(Notification.id).where(~Notification.pushed, Notification.created_at <= cutoff)
    if db.session.scalar(waiting.limit(1)) is None:
        db.session.rollback()
        return 0  # a plain read: an idle relay takes no write lock
    with write_transaction() as session:
        rows = session.scalars(
            select(Notification)
            .where(~Notification.pushed, Notification.created_at <= cutoff)
            .order_by(Notification.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        sent = [row.id for row in rows if _emit(row)]
        if sent:
            session.execute(
                update(Notification)
                .where(Notification.id.in_(sent))
                .values(pushed=True)
                .execution_options(synchronize_session=False)
            )
    return len(sent)


def _emit(row: Notification) -> bool:
    return publisher.send("notification", row.to_payload(), user_room(row.user_id))


def backlog() -> tuple[int, datetime | None]:
    """How many committed notifications are not marked pushed yet, and when the oldest was
    written. Emitted rows wait for the next round's mark, so a short backlog is normal."""
    count, oldest = db.session.execute(
        select(func.count(Notification.id), func.min(Notification.created_at)).where(~Notification.pushed)
    ).one()
    return count, oldest
