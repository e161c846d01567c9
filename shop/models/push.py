"""Web Push: the browsers a person turned push on in, and each push decided for one.

A PushSubscription is one browser's push endpoint and keys, tied to the login
session it was made in (that browser's sign-out deletes it). A PushMessage is
written when the push planner decides that a notification goes to a device; the
background runner claims due rows with a lease and records the outcome on the
same row, as it does for email.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import db
from shop.models.base import utcnow
from shop.models.leased import FAILED, PENDING, SENT, LeasedWorkColumns
from shop.models.types import UTCDateTime

# What became of a push: waiting or being sent; accepted by the push service; refused for
# good; replaced by a later push of the same topic before it went out; dropped because the
# person saw the notification on the site first.
REPLACED, SEEN = "replaced", "seen"
PUSH_STATUSES = (PENDING, SENT, FAILED, REPLACED, SEEN)
MAX_ENDPOINT = 1000


class PushSubscription(db.Model):
    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The browser's login session: signing that browser out deletes its subscriptions.
    login_token: Mapped[str] = mapped_column(
        ForeignKey("login_sessions.token", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(MAX_ENDPOINT), unique=True)
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(50))
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    device: Mapped[str] = mapped_column(String(80), default="")  # "Chrome on Android"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The push service's last 2xx: one silent for PUSH_MAX_IDLE_DAYS is pruned (some
    # services answer 200 for subscriptions that are gone).
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PushMessage(LeasedWorkColumns, db.Model):
    __tablename__ = "push_messages"
    __table_args__ = (
        Index("ix_push_messages_due", "status", "next_attempt_at"),
        Index("ix_push_messages_topic", "subscription_id", "topic"),
    )

    subscription_id: Mapped[int] = mapped_column(ForeignKey("push_subscriptions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    # The Topic header (one per order): the push service keeps only the latest undelivered one.
    topic: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    # The device's service worker said it showed this push: its notification is not emailed.
    shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
