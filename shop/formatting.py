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


def payment_label(status: str | Slot) -> str | Slot:
    """``Paid`` for ``paid``: how a payment status reads, on a badge, a filter or a timeline."""
    if isinstance(status, Slot):
        return status.formatted("payment_label")
    return status.capitalize()


def shipping_cost(cents: int) -> str:
    """A shipping cost: ``Free`` for nothing, else as money."""
    return "Free" if cents == 0 else money(cents)


def working_days(fewest: int, most: int) -> str:
    """How long a delivery takes: ``2–4 working days``, ``1 working day``."""
    if most == 0:
        return "the same working day"
    if fewest == most:
        return f"{most} working day{'s' if most != 1 else ''}"
    return f"{fewest}–{most} working days"


def register_template_filters(app: Flask) -> None:
    """The filters above; ``slot()`` for <template>s; the statuses a badge can show;
    and the names of countries and payment methods, and an order's totals."""
    from shop.models.order import PAYMENT_STATUSES, STATUSES
    from shop.services.addresses import country_name
    from shop.services.payment_methods import method_name
    from shop.services.totals import order_totals

    for function in (money, utc_time, isoformat, status_label, payment_label, shipping_cost, working_days):
        app.add_template_filter(function)
    app.add_template_filter(country_name)
    app.add_template_filter(method_name, "payment_method_name")
    app.add_template_filter(order_totals)
    app.add_template_global(Slot, "slot")
    app.add_template_global(STATUSES, "order_statuses")
    app.add_template_global(PAYMENT_STATUSES, "payment_statuses")
