"""The columns of work that background senders claim with a lease (emails, pushes)."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shop.models.base import utcnow
from shop.models.types import UTCDateTime

PENDING, SENT, FAILED = "pending", "sent", "failed"


class LeasedWorkColumns:
    """Its state, its next attempt, and who holds it: a sender killed mid-send leaves
    its claim to be taken over once ``lease_until`` has passed (shop/services/leases.py)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
