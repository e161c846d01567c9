"""How money, moments and order statuses read on a page: the template filters.

This is the server's one place for these formats; ``static/js/live/format.js``
is the browser's, for values that arrive in pushes. The browser takes its
patterns from here too: a page's ``<template>`` is rendered from the same macro
as the server's own rows, with a :class:`Slot` where a value will go, and the
filters turn a slot into a token naming the format to apply, e.g.
``€{total_cents|amount}`` or ``{created_at|utc_time:%d %b, %H:%M}``.
"""

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from flask import Flask
from markupsafe import Markup, escape

CURRENCY_SYMBOL = "€"
# strftime patterns; format.js understands %d %b %Y %H %M and copies the rest.
TIME_FORMATS = {
    "long": "%d %b %Y, %H:%M UTC",
    "short": "%d %b, %H:%M",
    "date": "%d %b %Y",
}


@dataclass(frozen=True)
class Slot:
    """A value the browser fills in: renders as ``{name}``, ``{name?}`` (the element
    holding it is dropped when the value is empty) or ``{name|format:argument}``."""

    name: str
    optional: bool = False
    format: str = ""

    def formatted(self, format: str) -> "Slot":
        return replace(self, format=format)

    def __str__(self) -> str:
        mark = "?" if self.optional else ""
        format = f"|{self.format}" if self.format else ""
        return f"{{{self.name}{mark}{format}}}"

    def __html__(self) -> Markup:
        return escape(str(self))


def money(cents: int | Slot) -> str:
    """``€18.00`` from 1800 cents."""
    if isinstance(cents, Slot):
        return f"{CURRENCY_SYMBOL}{cents.formatted('amount')}"
    return f"{CURRENCY_SYMBOL}{cents / 100:.2f}"


def utc_time(moment: datetime | Slot, style: str = "long") -> str | Slot:
    """A moment in UTC in one of TIME_FORMATS: ``25 Nov 2026, 14:10 UTC`` (long),
    ``25 Nov, 14:10`` (short), ``25 Nov 2026`` (date)."""
    pattern = TIME_FORMATS[style]
    if isinstance(moment, Slot):
        return moment.formatted(f"utc_time:{pattern}")
    return moment.astimezone(UTC).strftime(pattern)


def isoformat(moment: datetime | Slot) -> str | Slot:
    """The machine-readable form, for ``<time datetime>``."""
    return moment if isinstance(moment, Slot) else moment.isoformat()


def status_label(status: str | Slot) -> str | Slot:
    """``Placed`` for ``placed``: how an order status reads, on a badge, a filter or a timeline."""
    if isinstance(status, Slot):
        return status.formatted("status_label")
    return status.capitalize()


def register_template_filters(app: Flask) -> None:
    """The filters above; ``slot()`` for <template>s; the statuses a status badge can show."""
    from shop.models.order import STATUSES

    for function in (money, utc_time, isoformat, status_label):
        app.add_template_filter(function)
    app.add_template_global(Slot, "slot")
    app.add_template_global(STATUSES, "order_statuses")
