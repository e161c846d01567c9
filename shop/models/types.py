"""Column types shared by the models: timezone-aware UTC datetimes on every
backend (SQLite stores them naive), and money."""

from datetime import UTC, datetime
from typing import Annotated

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.orm import mapped_column
from sqlalchemy.types import TypeDecorator

# Money in integer cents, as a BIGINT: a 32-bit INTEGER stops at 2**31 - 1 cents
# (about €21.5 million), which a basket of a few dear things passes.
Cents = Annotated[int, mapped_column(BigInteger)]


class UTCDateTime(TypeDecorator):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use shop.models.base.utcnow()")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
