"""Delivery addresses: the account's address book, and the columns an order copies."""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shop.extensions import db
from shop.models.base import utcnow
from shop.models.types import UTCDateTime

# Longest accepted value of each field (shop/services/addresses.py checks them with a message).
ADDRESS_LIMITS = {
    "name": 80,
    "line1": 120,
    "line2": 120,
    "postcode": 12,
    "city": 80,
    "country": 2,
    "phone": 30,
}


class AddressColumns:
    """Where a parcel goes: the fields of a saved address and of an order's copy of one."""

    name: Mapped[str] = mapped_column(String(ADDRESS_LIMITS["name"]))
    line1: Mapped[str] = mapped_column(String(ADDRESS_LIMITS["line1"]))
    line2: Mapped[str] = mapped_column(String(ADDRESS_LIMITS["line2"]), default="")
    postcode: Mapped[str] = mapped_column(String(ADDRESS_LIMITS["postcode"]))
    city: Mapped[str] = mapped_column(String(ADDRESS_LIMITS["city"]))
    country: Mapped[str] = mapped_column(String(ADDRESS_LIMITS["country"]))  # ISO 3166-1 alpha-2
    phone: Mapped[str] = mapped_column(String(ADDRESS_LIMITS["phone"]))


class Address(AddressColumns, db.Model):
    """One address of a user's address book."""

    __tablename__ = "addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
