"""Web Push: the devices a person turned push on for, the planner that decides what is
pushed, and the sender that claims due pushes with a lease (as email's does).

- ``subscribe`` / ``unsubscribe``: one browser's endpoint and keys, tied to its login
  session (that browser's sign-out deletes them through the foreign key).
- ``plan_pushes`` (background job) finds people with a notification unseen in every
  tab NOTIFY_PUSH_DELAY_SECONDS after it was written and, per person in one
  transaction under the person's row lock, writes a PushMessage for each device and
  each such notification that their push preferences take; ``users.pushed_seq``
  moves past what was decided. A later push of the same topic (one per order)
  replaces one of the device's that has not gone out yet.
- ``send_due`` (background job) claims one due push at a time (``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL; BEGIN IMMEDIATE on SQLite), checks once more that the
  person has not seen it meanwhile, encrypts and sends it off the event loop
  (pywebpush, with a TTL and PUSH_TIMEOUT), and records the outcome. A 404 or 410
  deletes the subscription; a sender killed mid-send leaves its lease to expire.
- ``mark_shown``: the device's service worker showed the push (a signed token in the
  payload is the proof): the email planner leaves that notification out.
- ``prune`` (background job) deletes subscriptions with no accepted push for
  PUSH_MAX_IDLE_DAYS.
"""

import json
import logging
import threading
from base64 import urlsafe_b64decode
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import ip_address
from secrets import token_hex
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, current_app
from itsdangerous import BadSignature, URLSafeSerializer
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from sqlalchemy import bindparam, case, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop import offload
from shop.extensions import db
from shop.models import Notification, Order, PushMessage, PushSubscription, User
from shop.models.base import utcnow
from shop.models.mail import PUSH
from shop.models.notification import (
    BACK_IN_STOCK,
    LOW_STOCK,
    MESSAGE,
    NEW_ORDER,
    ORDER_STATUS,
    PAYMENT_STATUS,
)
from shop.models.push import FAILED, MAX_ENDPOINT, PENDING, REPLACED, SEEN, SENT
from shop.models.user import MAX_USER_AGENT
from shop.services import leases, preferences
from shop.services.devices import describe_device
from shop.services.errors import InvalidInput, NotFound
from shop.services.transaction import write_transaction

log = logging.getLogger(__name__)
MAX_ERROR = 500
SENDS_PER_RUN = 100
PLANS_PER_RUN = 200
SUBSCRIPTIONS_PER_USER = 20
ICON = "/static/favicon.svg"
GONE = (404, 410)  # the subscription is no more
RETRYABLE = (408, 425, 429)  # and every 5xx


# -- subscriptions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    endpoint: str
    p256dh: str
    auth: str


def parse_subscription(payload: object) -> Keys:
    """A browser's PushSubscription.toJSON(), checked: an https endpoint, a P-256 public
    key and a 16-byte auth secret; anything else is InvalidInput."""
    if not isinstance(payload, dict) or not isinstance(payload.get("keys"), dict):
        raise InvalidInput("Send the browser's push subscription: endpoint and keys.")
    endpoint, keys = payload.get("endpoint"), payload["keys"]
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not all(isinstance(value, str) and value for value in (endpoint, p256dh, auth)):
        raise InvalidInput("The subscription needs an endpoint, a p256dh key and an auth secret.")
    _check_endpoint(endpoint)
    point, secret = _b64(p256dh), _b64(auth)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point or b"\0")
    except ValueError:
        raise InvalidInput("The p256dh key is not a P-256 public key.") from None
    if secret is None or len(secret) != 16 or len(p256dh) > 100:
        raise InvalidInput("The auth secret must be 16 bytes, base64url.")
    return Keys(endpoint, p256dh, auth)


def _check_endpoint(endpoint: str) -> None:
    """Only a push service's https URL: the server posts there, so an address inside its own
    network would let anyone make it send requests there (PUSH_ALLOW_LOCAL_ENDPOINTS: tests)."""
    parts = urlsplit(endpoint)
    if len(endpoint) > MAX_ENDPOINT or not parts.hostname:
        raise InvalidInput("That is not a push service's address.")
    if current_app.config["PUSH_ALLOW_LOCAL_ENDPOINTS"] and parts.scheme in ("http", "https"):
        return
    if parts.scheme != "https" or _is_local(parts.hostname):
        raise InvalidInput("A push endpoint must be a public https address.")


def _is_local(host: str) -> bool:
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")) or "." not in host:
        return True
    try:
        address = ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not address.is_global


def _b64(text: str) -> bytes | None:
    try:
        return urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None


def subscribe(user_id: int, login_token: str, keys: Keys, user_agent: str) -> PushSubscription:
    """Turn push on for this browser (again: its endpoint moves to this person and session).
    Nothing written before now is pushed to it."""
    for attempt in range(2):
        try:
            return _subscribe(user_id, login_token, keys, user_agent[:MAX_USER_AGENT])
        except IntegrityError:  # the same endpoint inserted at once by another request
            if attempt:
                raise
    raise AssertionError("unreachable")


def _subscribe(user_id: int, login_token: str, keys: Keys, user_agent: str) -> PushSubscription:
    with write_transaction() as session:
        row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == keys.endpoint))
        if row is not None and row.user_id != user_id:
            session.delete(row)  # another person's before: none of their pushes may go out here
            session.flush()
            row = None
        if row is None:
            row = PushSubscription(endpoint=keys.endpoint)
            session.add(row)
        row.user_id, row.login_token = user_id, login_token
        row.p256dh, row.auth = keys.p256dh, keys.auth
        row.user_agent, row.device = user_agent, describe_device(user_agent)[:80]
        row.created_at = utcnow()
        row.last_success_at = None
        session.execute(
            update(User)
            .where(User.id == user_id)
            .values(pushed_seq=case((User.pushed_seq < User.last_seq, User.last_seq), else_=User.pushed_seq))
            .execution_options(synchronize_session=False)
        )
        session.flush()
        _keep_newest(session, user_id)
    return row


def _keep_newest(session: Session, user_id: int) -> None:
    ids = session.scalars(
        select(PushSubscription.id)
        .where(PushSubscription.user_id == user_id)
        .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
        .offset(SUBSCRIPTIONS_PER_USER)
    ).all()
    if ids:
        session.execute(delete(PushSubscription).where(PushSubscription.id.in_(ids)))


def unsubscribe(user_id: int, endpoint: str | None = None, subscription_id: int | None = None) -> None:
    """Turn push off for one of this person's devices (by its endpoint, or the device list's id)."""
    condition = (
        PushSubscription.endpoint == endpoint
        if endpoint is not None
        else PushSubscription.id == subscription_id
    )
    with write_transaction() as session:
        done = session.execute(
            delete(PushSubscription).where(PushSubscription.user_id == user_id, condition)
        ).rowcount
    if not done:
        raise NotFound("Push is not on for that device.")


def offers_push(user_id: int) -> bool:
    """Whether an order page offers push: once, after a shopper's first order, while push is
    on for none of their devices (the browser keeps it from coming back once answered)."""
    if not current_app.config["PUSH_ENABLED"]:
        return False
    row = db.session.connection().execute(_OFFER_FACTS, {"user_id": user_id}).one()
    return row.orders == 1 and not row.devices


# Built once (it keeps its compiled form): asked on every order page. Orders counted up to two.
_OFFER_FACTS = select(
    select(func.count())
    .select_from(select(Order.id).where(Order.user_id == bindparam("user_id")).limit(2).subquery())
    .scalar_subquery()
    .label("orders"),
    exists().where(PushSubscription.user_id == bindparam("user_id")).label("devices"),
)


def devices_of(user_id: int) -> list[PushSubscription]:
    return list(
        db.session.scalars(
            select(PushSubscription)
            .where(PushSubscription.user_id == user_id)
            .order_by(PushSubscription.created_at.desc(), PushSubscription.id.desc())
        )
    )


# -- planning ----------------------------------------------------------------------------------


def plan_pushes(now: datetime | None = None) -> int:
    """Decide the pushes that are due; how many were written."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config["NOTIFY_PUSH_DELAY_SECONDS"])
    with_devices = exists().where(PushSubscription.user_id == User.id)
    due = leases.people_due(User.pushed_seq, cutoff, PLANS_PER_RUN, with_devices)
    return sum(_plan_for(user_id, cutoff) for user_id in due)


def _plan_for(user_id: int, cutoff: datetime) -> int:
    with write_transaction() as session:
        user = session.scalar(select(User).where(User.id == user_id).with_for_update(skip_locked=True))
        if user is None:
            return 0  # another planner has the person (or a write does): next round
        rows = session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.seq > max(user.pushed_seq, user.seen_seq))
            .order_by(Notification.seq)
        ).all()
        decided = []
        for row in rows:
            if row.created_at > cutoff:
                break  # its own delay has not passed yet
            decided.append(row)
        if not decided:
            return 0
        user.pushed_seq = decided[-1].seq
        kinds = preferences.allowed_kinds(session, user_id, user.is_admin, PUSH)
        latest = {topic_of(row): row for row in decided if not row.read and row.kind in kinds}
        devices = session.scalars(
            select(PushSubscription.id).where(PushSubscription.user_id == user_id)
        ).all()
        for topic, notification in latest.items():
            _replace_waiting(session, devices, topic)
            for device in devices:
                session.add(
                    PushMessage(
                        subscription_id=device,
                        user_id=user_id,
                        notification_id=notification.id,
                        topic=topic,
                        urgency=urgency_of(notification),
                    )
                )
        return len(latest) * len(devices)


def _replace_waiting(session: Session, devices: list[int], topic: str) -> None:
    """A push of ``topic`` not yet out (and not being sent now) is stale: drop it."""
    now = utcnow()
    session.execute(
        update(PushMessage)
        .where(
            PushMessage.subscription_id.in_(devices),
            PushMessage.topic == topic,
            PushMessage.status == PENDING,
            or_(PushMessage.lease_until.is_(None), PushMessage.lease_until < now),
        )
        .values(status=REPLACED)
        .execution_options(synchronize_session=False)
    )


def topic_of(notification: Notification) -> str:
    """The Topic header: one per order, so that a later status replaces an undelivered one."""
    data = notification.data or {}
    if notification.kind in (ORDER_STATUS, PAYMENT_STATUS) and data.get("order_id"):
        return f"order-{data['order_id']}"
    if notification.kind == MESSAGE and data.get("order_id"):
        return f"order-{data['order_id']}-messages"
    if notification.kind in (BACK_IN_STOCK, LOW_STOCK) and data.get("product_id"):
        return f"{notification.kind.replace('_', '-')[:10]}-{data['product_id']}"
    return f"n-{notification.id}"


def urgency_of(notification: Notification) -> str:
    return "high" if notification.kind in (MESSAGE, NEW_ORDER) else "normal"


# -- sending ---------------------------------------------------------------------------------------


def send_due(app: Flask | None = None) -> int:
    """Claim and send due pushes one at a time until none is due; how many were accepted."""
    app = app or current_app._get_current_object()
    if not leases.anything_due(PushMessage):
        return 0
    owner = token_hex(8)
    sent = 0
    for _ in range(SENDS_PER_RUN):
        push_id = claim_one(owner)
        if push_id is None:
            break
        sent += deliver(app, push_id, owner)
    return sent


def claim_one(owner: str, now: datetime | None = None) -> int | None:
    return leases.claim_one(PushMessage, owner, current_app.config["PUSH_LEASE_SECONDS"], now)


@dataclass(frozen=True)
class Outgoing:
    subscription: dict
    data: str
    headers: dict


def deliver(app: Flask, push_id: int, owner: str) -> int:
    """Send one claimed push and record how it went; 1 when the push service accepted it."""
    outgoing = _compose(push_id)
    db.session.rollback()  # no transaction stays open while the push service is talked to
    if outgoing is None:
        _finish(push_id, owner, status=SEEN)
        return 0
    try:
        offload.run_blocking(send, app.config, outgoing)
    except WebPushException as exc:
        return _refused(push_id, owner, exc)
    except requests.RequestException as exc:  # no answer in PUSH_TIMEOUT, or no connection
        _retry_or_fail(push_id, owner, f"{type(exc).__name__}: {exc}")
        return 0
    _finish(push_id, owner, status=SENT, sent_at=utcnow(), last_error="")
    return 1


def _compose(push_id: int) -> Outgoing | None:
    """What to send for a claimed push; None when the person has seen or read it meanwhile."""
    row = db.session.execute(
        select(PushMessage, PushSubscription, Notification, User.seen_seq)
        .join(PushSubscription, PushSubscription.id == PushMessage.subscription_id)
        .join(Notification, Notification.id == PushMessage.notification_id)
        .join(User, User.id == PushMessage.user_id)
        .where(PushMessage.id == push_id)
    ).one_or_none()
    if row is None:
        return None
    message, subscription, notification, seen_seq = row
    if notification.read or notification.seq <= seen_seq:
        return None
    payload = {
        "title": notification.title,
        "body": notification.body,
        "url": notification.url or "/notifications",
        "icon": ICON,
        "tag": message.topic,
        "seq": notification.seq,
        "shown": shown_token(message.id),
    }
    return Outgoing(
        subscription={
            "endpoint": subscription.endpoint,
            "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        },
        data=json.dumps(payload, separators=(",", ":")),
        headers={"Topic": message.topic, "Urgency": message.urgency},
    )


_http = threading.local()


def send(config, outgoing: Outgoing) -> requests.Response:
    """In an OS thread: encrypt (aes128gcm) and POST one push, signed with the VAPID key.
    Each thread keeps its own HTTP session, so the push service's connection is reused."""
    if not hasattr(_http, "session"):
        _http.session = requests.Session()
    return webpush(
        outgoing.subscription,
        outgoing.data,
        vapid_private_key=Vapid.from_raw(config["VAPID_PRIVATE_KEY"].encode()),
        vapid_claims={"sub": config["VAPID_SUBJECT"]},  # a fresh dict: webpush writes aud and exp into it
        ttl=config["PUSH_TTL_SECONDS"],
        timeout=config["PUSH_TIMEOUT"],
        headers=outgoing.headers,
        requests_session=_http.session,
    )


def _refused(push_id: int, owner: str, exc: WebPushException) -> int:
    status = exc.response.status_code if exc.response is not None else None
    error = f"{status} {getattr(exc.response, 'text', '')}".strip()[:MAX_ERROR] if status else str(exc)
    if status in GONE:
        log.info("push subscription gone (%s): deleting it", status)
        with write_transaction() as session:
            session.execute(
                delete(PushSubscription).where(
                    PushSubscription.id
                    == select(PushMessage.subscription_id).where(PushMessage.id == push_id).scalar_subquery()
                )
            )
    elif status is None or status in RETRYABLE or status >= 500:
        _retry_or_fail(push_id, owner, error)
    else:
        _finish(push_id, owner, status=FAILED, last_error=error)
    return 0


def _retry_or_fail(push_id: int, owner: str, error: str) -> None:
    log.warning("push %s not sent: %s", push_id, error)
    attempts = db.session.scalar(select(PushMessage.attempts).where(PushMessage.id == push_id)) or 0
    db.session.rollback()
    retries = current_app.config["PUSH_RETRY_SECONDS"]
    if attempts <= len(retries):
        retry_at = utcnow() + timedelta(seconds=retries[attempts - 1])
        _finish(push_id, owner, next_attempt_at=retry_at, last_error=error[:MAX_ERROR])
    else:
        _finish(push_id, owner, status=FAILED, last_error=error[:MAX_ERROR])


def _finish(push_id: int, owner: str, **values) -> None:
    """Record an outcome, if this sender still holds the row (a push accepted: its
    subscription's last success too, in the same transaction)."""
    with write_transaction() as session:
        held = leases.release(session, PushMessage, push_id, owner, **values)
        if held and values.get("status") == SENT:
            subscription = select(PushMessage.subscription_id).where(PushMessage.id == push_id)
            session.execute(
                update(PushSubscription)
                .where(PushSubscription.id == subscription.scalar_subquery())
                .values(last_success_at=values["sent_at"])
                .execution_options(synchronize_session=False)
            )


# -- shown on the device, and pruning -----------------------------------------------------------------


def shown_token(push_id: int) -> str:
    return _serializer().dumps(push_id)


def mark_shown(token: str) -> None:
    """The service worker showed the push that carried ``token``: its notification counts as
    seen for the email planner."""
    try:
        push_id = int(_serializer().loads(token))
    except (BadSignature, TypeError, ValueError):
        raise NotFound("That push is not known.") from None
    with write_transaction() as session:
        done = session.execute(
            update(PushMessage)
            .where(PushMessage.id == push_id, PushMessage.shown_at.is_(None))
            .values(shown_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if not done and session.get(PushMessage, push_id) is None:
            raise NotFound("That push is not known.")


def shown_on_a_device():
    """A condition on Notification: a push of it was shown on one of the person's devices."""
    return exists().where(PushMessage.notification_id == Notification.id, PushMessage.shown_at.is_not(None))


def prune(now: datetime | None = None) -> int:
    """Delete subscriptions with no accepted push for PUSH_MAX_IDLE_DAYS; how many."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["PUSH_MAX_IDLE_DAYS"])
    with write_transaction() as session:
        return session.execute(
            delete(PushSubscription).where(
                func.coalesce(PushSubscription.last_success_at, PushSubscription.created_at) < cutoff
            )
        ).rowcount


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="push-shown")
