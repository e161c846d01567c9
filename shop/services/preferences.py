"""Which notifications a person wants by which channel (email, and Web Push when it is on).

Every switch is on until its owner turns it off. The order confirmation and a
cancellation are not switches: they are always emailed.
"""

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from shop.extensions import db
from shop.models import NotificationPreference, User
from shop.models.mail import EMAIL, PUSH
from shop.models.notification import BACK_IN_STOCK, LOW_STOCK, NEW_ORDER, ORDER_STATUS, PAYMENT_STATUS
from shop.realtime import publisher
from shop.services.errors import InvalidInput, NotFound
from shop.services.transaction import write_transaction

MESSAGE = "message"  # the order conversation's notifications
CHANNELS = (EMAIL, PUSH)


def active_channels() -> tuple[str, ...]:
    """The channels that work on this shop (push needs the VAPID settings)."""
    return CHANNELS if current_app.config["PUSH_ENABLED"] else (EMAIL,)


@dataclass(frozen=True)
class Topic:
    code: str
    label: str
    kinds: frozenset[str]
    admin_only: bool = False


TOPICS = (
    Topic("orders", "Order updates", frozenset({ORDER_STATUS, PAYMENT_STATUS})),
    Topic("back_in_stock", "Back in stock", frozenset({BACK_IN_STOCK})),
    Topic("messages", "Messages", frozenset({MESSAGE})),
    Topic("new_orders", "New orders", frozenset({NEW_ORDER}), admin_only=True),
    Topic("low_stock", "Low stock", frozenset({LOW_STOCK}), admin_only=True),
)
TOPIC_OF_KIND = {kind: topic.code for topic in TOPICS for kind in topic.kinds}
EVERYTHING = "all"  # an unsubscribe link of a digest that told of several topics


def topics_for(is_admin: bool) -> list[Topic]:
    return [topic for topic in TOPICS if is_admin or not topic.admin_only]


def settings_of(user_id: int, is_admin: bool, session: Session | None = None) -> dict[str, dict[str, bool]]:
    """channel -> topic -> on, for every topic this person has."""
    session = session or db.session
    off = {
        (row.channel, row.topic)
        for row in session.execute(
            select(NotificationPreference.channel, NotificationPreference.topic).where(
                NotificationPreference.user_id == user_id, ~NotificationPreference.enabled
            )
        )
    }
    return {
        channel: {topic.code: (channel, topic.code) not in off for topic in topics_for(is_admin)}
        for channel in CHANNELS
    }


def allowed_kinds(session: Session, user_id: int, is_admin: bool, channel: str = EMAIL) -> set[str]:
    """The notification kinds this person takes by ``channel``."""
    wanted = settings_of(user_id, is_admin, session)[channel]
    return {kind for topic in topics_for(is_admin) if wanted[topic.code] for kind in topic.kinds}


def save(user_id: int, channel: str, switched_on: set[str]) -> dict[str, dict[str, bool]]:
    """Set every switch of ``channel``: on for the topics in ``switched_on``, off for the rest."""
    return save_channels(user_id, {channel: switched_on})


def save_channels(user_id: int, choices: dict[str, set[str]]) -> dict[str, dict[str, bool]]:
    """Set every switch of each channel in ``choices`` (channel -> the topics on), in one
    transaction; every open tab of the person is told once."""
    if any(channel not in active_channels() for channel in choices):
        raise InvalidInput("That channel cannot be set yet.")
    with write_transaction() as session:
        is_admin = _is_admin(session, user_id)
        for channel, switched_on in choices.items():
            wanted = {topic.code: topic.code in switched_on for topic in topics_for(is_admin)}
            _write(session, user_id, channel, wanted)
        settings = settings_of(user_id, is_admin, session)
        publisher.queue_preferences(session, user_id, settings)
    return settings


def unsubscribe(token: str) -> tuple[str, list[str]]:
    """Turn off what an unsubscribe link names (no login: the signed token is the proof);
    the address it was for, and the labels of what was turned off."""
    try:
        claim = _serializer().loads(token)
        user_id, topic_code = int(claim["u"]), str(claim["t"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise NotFound("That unsubscribe link is not valid.") from None
    with write_transaction() as session:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound("That unsubscribe link is not valid.")
        topics = [t for t in topics_for(user.is_admin) if topic_code in (t.code, EVERYTHING)]
        _write(session, user_id, EMAIL, {topic.code: False for topic in topics})
        publisher.queue_preferences(session, user_id, settings_of(user_id, user.is_admin, session))
        return user.email, [topic.label for topic in topics]


def unsubscribe_token(user_id: int, topic_code: str) -> str:
    return _serializer().dumps({"u": user_id, "t": topic_code})


def _write(session: Session, user_id: int, channel: str, wanted: dict[str, bool]) -> None:
    condition = (
        (NotificationPreference.user_id == user_id)
        & (NotificationPreference.channel == channel)
        & NotificationPreference.topic.in_(list(wanted))
    )
    session.execute(delete(NotificationPreference).where(condition))
    rows = [
        {"user_id": user_id, "channel": channel, "topic": code, "enabled": False}
        for code, on in wanted.items()
        if not on
    ]
    if rows:
        session.execute(insert(NotificationPreference), rows)


def _is_admin(session: Session, user_id: int) -> bool:
    return bool(session.scalar(select(User.is_admin).where(User.id == user_id)))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe")
