"""Shipping methods, as admins configure them."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import db
from shop.models.base import utcnow
from shop.models.types import Cents, UTCDateTime


class ShippingMethod(db.Model):
    """A way to deliver: its price, the cart value from which it is free, and
    how many working days it takes. Orders copy what they used (OrderDelivery)."""

    __tablename__ = "shipping_methods"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("free_from_cents IS NULL OR free_from_cents >= 0", name="free_from_not_negative"),
        CheckConstraint("min_days >= 0 AND max_days >= min_days", name="days_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    price_cents: Mapped[Cents]
    # Free when the items come to at least this much; None: never free.
    free_from_cents: Mapped[int | None] = mapped_column(BigInteger)
    min_days: Mapped[int]
    max_days: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)  # the order methods are offered in
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<ShippingMethod {self.code} {self.price_cents}>"
