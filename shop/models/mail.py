"""Email: what was decided to be sent, to whom and why, and how its sending went.

A MailDelivery row is written in the transaction that decides the email (an
order placed, a digest of what a person has not seen, a reset asked for), so
the decision is as durable as the change; the background runner claims due
rows with a lease and records the outcome on the same row.
"""

from secrets import token_hex
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import db
from shop.models.leased import FAILED, PENDING, SENT, LeasedWorkColumns

MAIL_STATUSES = (PENDING, SENT, FAILED)
# What an email is about.
CONFIRMATION, CANCELLATION, DIGEST, PASSWORD_RESET = (
    "confirmation",
    "cancellation",
    "digest",
    "password_reset",
)
EMAIL, PUSH = "email", "push"


def new_message_id() -> str:
    return f"<{token_hex(16)}@shop>"


class MailDelivery(LeasedWorkColumns, db.Model):
    __tablename__ = "mail_deliveries"
    __table_args__ = (Index("ix_mail_deliveries_due", "status", "next_attempt_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    to_address: Mapped[str] = mapped_column(String(254))
    # The same on every retry, so that a receiver can drop a second copy.
    message_id: Mapped[str] = mapped_column(String(100), unique=True, default=new_message_id)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    # A digest: the seqs of the notifications it tells of; a reset: its link.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class NotificationPreference(db.Model):
    """A switch a person turned off (a row with ``enabled`` false) or back on; no row: on."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)
    topic: Mapped[str] = mapped_column(String(30), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
