"""Presence kept in memory (the embedded single process) on a clock the test moves:
entries expire unless refreshed, viewers are named to the shop only, and typing is
throttled per socket and order. The Redis store is exercised by tests/scaleout."""

import pytest

from shop.services.errors import InvalidInput
from shop.services.messages import Watch
from shop.sockets import presence as presence_module
from shop.sockets.presence import MAX_WATCHED_ORDERS, TYPING_EVERY_SECONDS, MemoryStore, Presence

TTL = 45


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    """What presence would push, instead of pushing it (no socket server here)."""
    pushed = []
    monkeypatch.setattr(presence_module.publisher, "send", lambda *a, **k: pushed.append(("send", *a)))
    monkeypatch.setattr(presence_module.publisher, "send_here", lambda *a, **k: pushed.append(("here", *a)))
    return pushed


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def here(clock) -> Presence:
    return Presence(MemoryStore(clock), TTL)


def test_a_socket_counts_until_it_leaves_or_its_entry_expires(here, clock, sent):
    here.connected("owner-tab", 7, False)
    here.connected("admin-tab", 1, True)
    assert here.store.user_online(7) and here.store.shop_online()

    here.disconnected("owner-tab")
    assert not here.store.user_online(7)

    clock.now += TTL + 1  # the admin's worker stopped refreshing (killed)
    assert not here.store.shop_online()
    here.tick(refresh=True)  # a live worker refreshes its own
    assert here.store.shop_online()


def test_the_shop_sees_who_views_and_the_customer_does_not(here, sent):
    here.connected("owner-tab", 7, False)
    here.connected("ada-tab", 1, True)
    customer = here.watch("owner-tab", Watch(5, 7, 7, "Olga", False))
    shop = here.watch("ada-tab", Watch(5, 7, 1, "Ada", True))

    assert "viewing" not in customer
    assert shop == {"order_id": 5, "customer_online": True, "shop_online": True, "viewing": ["Ada"]}
    here.disconnected("ada-tab")
    assert here.payloads(5, 7)[1]["viewing"] == []


def test_a_tick_tells_only_what_changed(here, clock, sent):
    here.connected("ada-tab", 1, True)
    here.watch("ada-tab", Watch(5, 7, 1, "Ada", True))
    sent.clear()
    here.tick(refresh=False)
    assert sent == []
    here.connected("owner-elsewhere", 7, False)  # on another page: online, not viewing
    here.tick(refresh=False)
    assert [s[3] for s in sent] == ["order:5", "order:5:shop"]
    assert sent[1][2]["customer_online"] is True


def test_typing_is_throttled_and_needs_a_watch(here, sent):
    here.connected("ada-tab", 1, True)
    with pytest.raises(InvalidInput):
        here.typing("ada-tab", 5)
    here.watch("ada-tab", Watch(5, 7, 1, "Ada", True))
    sent.clear()

    for now in (10.0, 10.2, 10.2 + TYPING_EVERY_SECONDS):
        here.typing("ada-tab", 5, now=now)

    to_customer = [s for s in sent if s[3] == "order:5"]
    assert [s[2] for s in to_customer] == [{"order_id": 5, "name": "Hearth & Bean", "is_shop": True}] * 2


def test_a_socket_watches_a_bounded_number_of_orders(here, sent):
    here.connected("tab", 7, False)
    for order_id in range(MAX_WATCHED_ORDERS):
        here.watch("tab", Watch(order_id, 7, 7, "Olga", False))
    with pytest.raises(InvalidInput):
        here.watch("tab", Watch(999, 7, 7, "Olga", False))
