from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import db
from shop.models.base import utcnow
from shop.models.types import UTCDateTime

ORDER_STATUS, NEW_ORDER, LOW_STOCK, BACK_IN_STOCK, PAYMENT_STATUS, MESSAGE = (
    "order_status",
    "new_order",
    "low_stock",
    "back_in_stock",
    "payment_status",
    "message",
)
# What only admins are told: a user who is no admin any more no longer gets these.
ADMIN_KINDS = frozenset({NEW_ORDER, LOW_STOCK})


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "seq", name="uq_notifications_user_seq"),
        Index("ix_notifications_unpushed", "pushed", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read: Mapped[bool] = mapped_column(default=False)
    # Emitted after its commit (marked a moment later): the outbox relay emits what is
    # not marked after a grace period, e.g. when its worker died between commit and emit.
    pushed: Mapped[bool] = mapped_column(default=False)

    def to_payload(self) -> dict[str, Any]:
        """The `notification` event payload of DESIGN.md."""
        return {
            "seq": self.seq,
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "data": self.data,
            "created_at": self.created_at.isoformat(),
            "read": self.read,
        }
