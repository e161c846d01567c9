"""The order conversation: messages between a shopper and the shop, and each side's read state."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import db
from shop.models.base import utcnow
from shop.models.order import Order
from shop.models.types import UTCDateTime
from shop.models.user import User

SHOP_NAME = "Hearth & Bean"  # how shoppers see every admin's message: the shop speaks as one
CUSTOMER, SHOP = "customer", "shop"  # the two sides of a thread


class OrderMessage(db.Model):
    """One message of an order's thread, by its owner or by an admin (``is_shop``).

    ``client_id`` is the id the sender's client made for it: the same id twice
    from one author is one message (a retry, a double click)."""

    __tablename__ = "order_messages"
    __table_args__ = (
        UniqueConstraint("author_id", "client_id", name="uq_order_messages_author_client"),
        Index("ix_order_messages_order_id_id", "order_id", "id"),
        Index("ix_order_messages_author_created", "author_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    is_shop: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    client_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()

    def author_name(self, for_shop: bool) -> str:
        """Shoppers see the shop as one author; admins see which admin wrote."""
        if self.is_shop and not for_shop:
            return SHOP_NAME
        return self.author.name if self.author else "(deleted account)"

    def to_payload(self, for_shop: bool) -> dict:
        """The ``message`` event of the contract, as one side sees it."""
        return {
            "order_id": self.order_id,
            "id": self.id,
            "client_id": self.client_id,
            "author": {"name": self.author_name(for_shop), "is_shop": self.is_shop},
            "body": self.body,
            "created_at": self.created_at.isoformat(),
        }


class OrderThread(db.Model):
    """An order's conversation as a whole: the last message of each side and how far
    each side has read (the shop is one side, whichever admin read)."""

    __tablename__ = "order_threads"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    last_customer_message_id: Mapped[int] = mapped_column(default=0)
    last_shop_message_id: Mapped[int] = mapped_column(default=0)
    customer_last_read: Mapped[int] = mapped_column(default=0)
    shop_last_read: Mapped[int] = mapped_column(default=0)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    order: Mapped[Order] = relationship()

    # Hybrid: the same rule on a loaded row and in a query (shop/services/order_page.py).
    @hybrid_property
    def unread_for_shop(self) -> bool:
        return self.last_customer_message_id > self.shop_last_read

    @hybrid_property
    def unread_for_customer(self) -> bool:
        return self.last_shop_message_id > self.customer_last_read
