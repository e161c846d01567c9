from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.extensions import db
from shop.models.address import AddressColumns
from shop.models.base import utcnow
from shop.models.types import Cents, UTCDateTime
from shop.models.user import User

if TYPE_CHECKING:
    from shop.models.message import OrderThread

PLACED, PROCESSING, SHIPPED, DELIVERED, CANCELLED = (
    "placed",
    "processing",
    "shipped",
    "delivered",
    "cancelled",
)
STATUSES = (PLACED, PROCESSING, SHIPPED, DELIVERED, CANCELLED)
NEXT_STATUSES = {
    PLACED: (PROCESSING, CANCELLED),
    PROCESSING: (SHIPPED, CANCELLED),
    SHIPPED: (DELIVERED,),
    DELIVERED: (),
    CANCELLED: (),
}

# How the order is paid stands beside how far it got (the fulfilment status above).
UNPAID, PAID, REFUNDED = "unpaid", "paid", "refunded"
PAYMENT_STATUSES = (UNPAID, PAID, REFUNDED)
NEXT_PAYMENT_STATUSES = {
    UNPAID: (PAID,),
    PAID: (REFUNDED, UNPAID),  # back to unpaid: marked paid by mistake
    REFUNDED: (),
}


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("user_id", "idempotency_key", name="uq_orders_user_idempotency_key"),
        Index("ix_orders_status_created", "status", "created_at"),
        Index("ix_orders_payment_status_created", "payment_status", "created_at"),
        CheckConstraint("total_cents = items_cents + shipping_cents", name="total_is_items_and_shipping"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=PLACED)
    # The totals as charged (shop/services/totals.py computed them): items, shipping, both.
    items_cents: Mapped[Cents]
    shipping_cents: Mapped[Cents] = mapped_column(default=0)
    total_cents: Mapped[Cents]
    payment_method: Mapped[str] = mapped_column(String(30))  # a code of shop/services/payment_methods.py
    payment_status: Mapped[str] = mapped_column(String(20), default=UNPAID)
    idempotency_key: Mapped[str] = mapped_column(String(64))
    # Bumped by every change (status, payment): the admin's forms carry the one they showed.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()
    items: Mapped[list["OrderItem"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )
    events: Mapped[list["OrderEvent"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderEvent.id"
    )
    payment_events: Mapped[list["OrderPaymentEvent"]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderPaymentEvent.id"
    )
    # None for orders placed before checkout asked where to deliver.
    delivery: Mapped["OrderDelivery | None"] = relationship(
        back_populates="order", cascade="all, delete-orphan", uselist=False
    )
    # Its conversation's row, written with its first message (shop/services/messages.py); read only.
    thread: Mapped["OrderThread | None"] = relationship(uselist=False, viewonly=True)

    @property
    def next_statuses(self) -> tuple[str, ...]:
        return NEXT_STATUSES[self.status]

    @property
    def next_payment_statuses(self) -> tuple[str, ...]:
        return NEXT_PAYMENT_STATUSES[self.payment_status]

    @property
    def item_count(self) -> int:
        return sum(item.quantity for item in self.items)


class OrderItem(db.Model):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(120))
    unit_price_cents: Mapped[Cents]
    quantity: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="items")

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


class TimelineStepColumns:
    """A step from one status to another, by whom and why: the fields of both timelines."""

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderEvent(TimelineStepColumns, db.Model):
    """One step of an order's timeline."""

    __tablename__ = "order_events"

    order: Mapped[Order] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class OrderDelivery(AddressColumns, db.Model):
    """Where and how an order goes, copied when it was placed: a later edit of
    the address book or of the shipping methods does not change it."""

    __tablename__ = "order_deliveries"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True)
    shipping_code: Mapped[str] = mapped_column(String(30))
    shipping_name: Mapped[str] = mapped_column(String(60))
    shipping_min_days: Mapped[int]
    shipping_max_days: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="delivery")


class OrderPaymentEvent(TimelineStepColumns, db.Model):
    """One step of an order's payment timeline (beside the status timeline)."""

    __tablename__ = "order_payment_events"

    order: Mapped[Order] = relationship(back_populates="payment_events")
    actor: Mapped[User | None] = relationship()
