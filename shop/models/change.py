from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import db
from shop.models.base import utcnow
from shop.models.types import UTCDateTime

ORDER, PRODUCT = "order", "product"


class AdminChange(db.Model):
    """One change to an order or a product, in the admins' feed of changes.

    ``position`` orders the feed with no gaps and in commit order (see
    shop/services/changes.py): an admin page holds the last position it
    showed and asks for what came after it. ``version`` is the entity's
    version after the change; ``data`` its state then, for pages to show.
    """

    __tablename__ = "admin_changes"
    __table_args__ = (Index("ix_admin_changes_entity", "kind", "entity_id", "version"),)

    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int]
    version: Mapped[int]
    # No foreign key: the feed's insert, under the feed lock, must take no lock on users.
    actor_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(120), default="")
    summary: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def to_payload(self) -> dict[str, Any]:
        """The ``admin_change`` event payload (and one entry of ``admin_sync``'s ``changes``)."""
        return {
            "position": self.position,
            "kind": self.kind,
            "id": self.entity_id,
            "version": self.version,
            "actor_id": self.actor_id,
            "actor": self.actor,
            "summary": self.summary,
            "data": self.data,
            "created_at": self.created_at.isoformat(),
        }
