"""Email: the decision to send (a MailDelivery row in the deciding transaction), the
digest planner, and the sender that claims due rows with a lease.

- ``queue_order_email`` and ``queue_reset_email`` join the caller's transaction:
  the row is due at once.
- ``plan_digests`` (background job) finds people with a notification unseen for
  NOTIFY_EMAIL_DELAY_SECONDS and, per person in one transaction under the
  person's row lock, decides one digest of every notification of theirs that is
  still unseen and that their preferences take by email; ``users.mailed_seq``
  moves past what was decided, so nothing is decided twice.
- ``send_due`` (background job) claims one due row at a time (``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL; SQLite's BEGIN IMMEDIATE serialises the claim), sends
  it off the event loop with MAIL_TIMEOUT, and records sent, or a retry after
  MAIL_RETRY_SECONDS, or failed once those are used up. A sender killed mid-send
  leaves its lease to expire; the retry carries the same Message-ID.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from secrets import token_hex

from flask import Flask, current_app
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from shop import offload
from shop.extensions import db, mail
from shop.models import MailDelivery, Notification, Order, User
from shop.models.base import utcnow
from shop.models.mail import CANCELLATION, CONFIRMATION, DIGEST, FAILED, PASSWORD_RESET, SENT
from shop.models.notification import ORDER_STATUS
from shop.models.order import CANCELLED
from shop.services import leases, preferences, push
from shop.services.transaction import write_transaction

log = logging.getLogger(__name__)
MAX_ERROR = 500
SENDS_PER_RUN = 100
PLANS_PER_RUN = 200


def queue_order_email(session: Session, order: Order, kind: str) -> None:
    """The confirmation or cancellation of ``order``, due now (no switch turns these off)."""
    user = order.user
    session.add(MailDelivery(user_id=user.id, kind=kind, to_address=user.email, order_id=order.id))


def queue_reset_email(session: Session, user: User, link: str) -> None:
    session.add(
        MailDelivery(user_id=user.id, kind=PASSWORD_RESET, to_address=user.email, data={"link": link})
    )


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


# -- seen ----------------------------------------------------------------------------


def seen_condition(up_to_seq: int):
    """UPDATE values: seen_seq moves up to ``up_to_seq`` (never past the last seq, never down)."""
    return case((User.last_seq < up_to_seq, User.last_seq), else_=up_to_seq)


def record_seen(session: Session, user_id: int, up_to_seq: int) -> None:
    session.execute(
        update(User)
        .where(User.id == user_id, User.seen_seq < up_to_seq)
        .values(seen_seq=seen_condition(up_to_seq))
        .execution_options(synchronize_session=False)
    )


def mark_seen(user_id: int, up_to_seq: int) -> int:
    """A visible tab showed everything up to ``up_to_seq``: none of it is emailed. The seen seq."""
    with write_transaction() as session:
        record_seen(session, user_id, up_to_seq)
        return session.scalar(select(User.seen_seq).where(User.id == user_id)) or 0


# -- planning digests -----------------------------------------------------------------


def plan_digests(now: datetime | None = None) -> int:
    """Decide the digests that are due; how many were written."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config["NOTIFY_EMAIL_DELAY_SECONDS"])
    due = leases.people_due(User.mailed_seq, cutoff, PLANS_PER_RUN)
    return sum(_plan_for(user_id, cutoff) for user_id in due)


def _plan_for(user_id: int, cutoff: datetime) -> int:
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update(skip_locked=True))
        if user is None:
            return 0  # another planner has the person (or a write does): next round
        start = max(user.mailed_seq, user.seen_seq)
        first = session.scalar(
            select(Notification.created_at).where(
                Notification.user_id == user_id, Notification.seq == start + 1
            )
        )
        if first is None or first > cutoff:
            return 0
        kinds = preferences.allowed_kinds(session, user_id, user.is_admin)
        rows = session.scalars(
            select(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.seq > start,
                Notification.seq <= user.last_seq,
                ~Notification.read,
                Notification.kind.in_(kinds),
                ~push.shown_on_a_device(),
            )
            .order_by(Notification.seq)
        ).all()
        seqs = [row.seq for row in rows if not _mailed_at_once(row)]
        user.mailed_seq = user.last_seq
        if not seqs:
            return 0
        session.add(MailDelivery(user_id=user_id, kind=DIGEST, to_address=user.email, data={"seqs": seqs}))
        return 1


def _mailed_at_once(notification: Notification) -> bool:
    """A cancellation has its own email already."""
    return notification.kind == ORDER_STATUS and (notification.data or {}).get("status") == CANCELLED


# -- sending ----------------------------------------------------------------------------


def send_due(app: Flask | None = None) -> int:
    """Claim and send due emails one at a time until none is due, over one connection to
    the mail server (opened again after a failure); how many were sent."""
    app = app or current_app._get_current_object()
    if not leases.anything_due(MailDelivery):
        return 0
    owner = token_hex(8)
    sent = 0
    link = None
    try:
        for _ in range(SENDS_PER_RUN):
            delivery_id = claim_one(owner)
            if delivery_id is None:
                break
            link = link or connection(app.config)
            if deliver(app, delivery_id, owner, link):
                sent += 1
            else:
                offload.run_blocking(_close_quietly, link)
                link = None
    finally:
        if link is not None:
            offload.run_blocking(_close_quietly, link)
    return sent


def due_backlog(now: datetime | None = None) -> dict[str, tuple[int, datetime]]:
    """The emails due and claimed by nobody, by kind: how many, and since when the oldest is due."""
    rows = db.session.execute(
        select(MailDelivery.kind, func.count(MailDelivery.id), func.min(MailDelivery.next_attempt_at))
        .where(leases.due(MailDelivery, now or utcnow()))
        .group_by(MailDelivery.kind)
    )
    return {kind: (count, oldest) for kind, count, oldest in rows}


def _close_quietly(link) -> None:
    try:
        link.close()
    except Exception:  # a connection that broke is closed as far as it goes
        log.debug("closing the mail connection failed", exc_info=True)


def claim_one(owner: str, now: datetime | None = None) -> int | None:
    return leases.claim_one(MailDelivery, owner, current_app.config["MAIL_LEASE_SECONDS"], now)


def deliver(app: Flask, delivery_id: int, owner: str, link=None) -> int:
    """Send one claimed row (over ``link``, or a connection of its own) and record how it
    went; 1 when it was sent."""
    delivery = db.session.get(MailDelivery, delivery_id)
    try:
        message = compose(delivery)
        db.session.rollback()  # no transaction stays open while the mail server is talked to
        offload.run_blocking(_send_in_context, app, message, link or connection(app.config))
    except Exception as exc:  # the mail server refused, hung or was not there
        _record_failure(delivery_id, owner, describe(exc))
        return 0
    _finish(delivery_id, owner, status=SENT, sent_at=utcnow(), last_error="")
    if current_app.config["MAIL_BACKEND"] == "file":
        where = current_app.config["MAIL_FILE_PATH"]
        print(f"mail: {message.subject!r} to {message.to[0]} written under {where}", flush=True)
    return 1


def describe(exc: Exception) -> str:
    """What went wrong, for the admin page: an SMTP reply as the server gave it."""
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = (
            exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        return f"{exc.smtp_code} {reply}"
    return f"{type(exc).__name__}: {exc}"


def _send_in_context(app: Flask, message: EmailMultiAlternatives, link) -> None:
    """In an OS thread: open ``link`` if it is not (it stays open for the next message)."""
    with app.app_context():
        link.open()
        message.connection = link
        message.send()


def connection(config):
    """A connection as the MAIL_* settings say now (Flask-Mailman reads them once, at start)."""
    options = {"backend": config["MAIL_BACKEND"], "timeout": config["MAIL_TIMEOUT"]}
    if config["MAIL_BACKEND"] == "smtp":
        options.update(
            host=config["MAIL_SERVER"],
            port=config["MAIL_PORT"],
            username=config["MAIL_USERNAME"],
            password=config["MAIL_PASSWORD"],
            use_tls=config["MAIL_USE_TLS"],
            use_ssl=config["MAIL_USE_SSL"],
        )
    elif config["MAIL_BACKEND"] == "file":
        options["file_path"] = config["MAIL_FILE_PATH"]
    return mail.get_connection(**options)


def _record_failure(delivery_id: int, owner: str, error: str) -> None:
    log.warning("mail %s not sent: %s", delivery_id, error)
    attempts = db.session.scalar(select(MailDelivery.attempts).where(MailDelivery.id == delivery_id)) or 0
    retries = current_app.config["MAIL_RETRY_SECONDS"]
    if attempts <= len(retries):
        retry_at = utcnow() + timedelta(seconds=retries[attempts - 1])
        _finish(delivery_id, owner, next_attempt_at=retry_at, last_error=error[:MAX_ERROR])
    else:
        _finish(delivery_id, owner, status=FAILED, last_error=error[:MAX_ERROR])


def _finish(delivery_id: int, owner: str, **values) -> None:
    """Record an outcome, if this sender still holds the row."""
    with write_transaction() as session:
        leases.release(session, MailDelivery, delivery_id, owner, **values)


# -- composing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Letter:
    subject: str
    template: str
    context: dict
    topic: str | None  # what its unsubscribe link turns off; None: no such link


def compose(delivery: MailDelivery) -> EmailMultiAlternatives:
    letter = LETTERS[delivery.kind](delivery)
    context = {**letter.context, "public_url": public_url, "unsubscribe_url": None}
    headers = {"Message-ID": delivery.message_id}
    if letter.topic:
        token = preferences.unsubscribe_token(delivery.user_id, letter.topic)
        context["unsubscribe_url"] = public_url(f"/unsubscribe/{token}")
        headers["List-Unsubscribe"] = f"<{context['unsubscribe_url']}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message = EmailMultiAlternatives(
        subject=letter.subject,
        body=_render(f"email/{letter.template}.txt", context),
        to=[delivery.to_address],
        headers=headers,
    )
    message.attach_alternative(_render(f"email/{letter.template}.html", context), "text/html")
    return message


def _render(name: str, context: dict) -> str:
    """A template with the app's filters and nothing of a request's (there is none)."""
    return current_app.jinja_env.get_template(name).render(**context)


def _order_letter(delivery: MailDelivery) -> Letter:
    order = db.session.get(Order, delivery.order_id)
    if delivery.kind == CONFIRMATION:
        subject = f"Your order #{order.id} is placed"
    else:
        subject = f"Your order #{order.id} is cancelled"
    return Letter(subject, delivery.kind, {"order": order, "name": order.user.name}, "orders")


def _digest_letter(delivery: MailDelivery) -> Letter:
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.user_id == delivery.user_id, Notification.seq.in_(delivery.data["seqs"]))
        .order_by(Notification.seq)
    ).all()
    topics = {preferences.TOPIC_OF_KIND.get(row.kind, preferences.EVERYTHING) for row in rows}
    topic = topics.pop() if len(topics) == 1 else preferences.EVERYTHING
    subject = rows[0].title if len(rows) == 1 else f"{len(rows)} updates from the shop"
    name = db.session.scalar(select(User.name).where(User.id == delivery.user_id))
    return Letter(subject, "digest", {"notifications": rows, "name": name}, topic)


def _reset_letter(delivery: MailDelivery) -> Letter:
    name = db.session.scalar(select(User.name).where(User.id == delivery.user_id))
    return Letter(
        "Reset your password", "password_reset", {"link": delivery.data["link"], "name": name}, None
    )


LETTERS = {
    CONFIRMATION: _order_letter,
    CANCELLATION: _order_letter,
    DIGEST: _digest_letter,
    PASSWORD_RESET: _reset_letter,
}


# -- the admin page -----------------------------------------------------------------------------


def recent_deliveries(status: str | None, limit: int = 100) -> list[MailDelivery]:
    statement = (
        select(MailDelivery).order_by(MailDelivery.created_at.desc(), MailDelivery.id.desc()).limit(limit)
    )
    if status:
        statement = statement.where(MailDelivery.status == status)
    return list(db.session.scalars(statement))


def delivery_counts() -> dict[str, int]:
    rows = db.session.execute(select(MailDelivery.status, func.count()).group_by(MailDelivery.status))
    return {status: count for status, count in rows}
