"""Column helpers shared by the models."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
