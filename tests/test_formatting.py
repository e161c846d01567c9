"""The template filters of shop/formatting.py: money, times, status labels, and slots for <template>s."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shop.formatting import Slot, money, status_label, utc_time


@pytest.mark.parametrize(
    ("cents", "shown"),
    [(1800, "€18.00"), (5, "€0.05"), (0, "€0.00"), (123456, "€1234.56"), (9470, "€94.70")],
)
def test_money(cents, shown):
    assert money(cents) == shown


def test_utc_time_shows_any_moment_in_utc_in_each_style():
    moment = datetime(2026, 11, 25, 16, 10, 59, tzinfo=timezone(timedelta(hours=2)))
    assert utc_time(moment) == "25 Nov 2026, 14:10 UTC"
    assert utc_time(moment, "short") == "25 Nov, 14:10"
    assert utc_time(moment, "date") == "25 Nov 2026"
    assert utc_time(datetime(2027, 1, 3, 9, 5, tzinfo=UTC)) == "03 Jan 2027, 09:05 UTC"


def test_status_labels():
    assert [status_label(s) for s in ("placed", "cancelled")] == ["Placed", "Cancelled"]


def test_a_slot_becomes_a_token_that_names_its_format():
    assert str(Slot("customer")) == "{customer}"
    assert str(Slot("note", optional=True)) == "{note?}"
    assert money(Slot("total_cents")) == "€{total_cents|amount}"
    assert str(utc_time(Slot("created_at"), "short")) == "{created_at|utc_time:%d %b, %H:%M}"
    assert str(status_label(Slot("status"))) == "{status|status_label}"
