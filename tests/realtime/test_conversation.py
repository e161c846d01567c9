"""The order conversation over real sockets on a real eventlet server (presence in memory):
a message reaches the other side and the sender's other tab once each, a stranger gets
error acks and hears nothing, read receipts reach every tab, typing is throttled, presence
follows connections, and a flood is refused."""

import itertools
from collections.abc import Iterator
from uuid import uuid4

import pytest

from shop.models.message import SHOP_NAME
from testing.data import insert_product, insert_user
from testing.processes import wait_until
from testing.server import LIVE_SETTINGS, LiveServer, start_server
from testing.shopper import Shopper, admin_on
from testing.sockets import RawSocket

BUDGET = 4  # messages per person per minute on this server


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveServer]:
    with start_server(tmp_path_factory, **LIVE_SETTINGS, MESSAGES_PER_MINUTE=str(BUDGET)) as server:
        yield server


@pytest.fixture(scope="module")
def second_admin(live) -> str:
    return insert_user(live.database_url, "Bea", admin=True)


@pytest.fixture
def order(live) -> tuple[Shopper, int]:
    """A shopper of the test's own and their order."""
    owner = Shopper(live.url).register("Olga")
    return owner, owner.place_order(insert_product(live.database_url))


def say(sock, order_id: int, body: str, client_id: str | None = None) -> dict:
    """Send one message (under a new client id unless given); its acked message."""
    client_id = client_id or uuid4().hex
    ack = sock.call("send_message", {"order_id": order_id, "body": body, "client_id": client_id})
    assert ack["ok"], ack
    return ack["message"]


def test_a_message_reaches_the_other_side_and_the_senders_other_tab_once_each(live, order, connect):
    owner, order_id = order
    admin = admin_on(live.url)
    tab, other_tab, elsewhere = connect(owner), connect(owner), connect(owner)
    admin_page, admin_elsewhere = connect(admin), connect(admin)
    for sock in (tab, other_tab, admin_page):
        assert sock.call("watch_order", {"order_id": order_id})["ok"]

    sent = say(tab, order_id, "Can it ship before Friday?")
    answer = say(admin_page, order_id, "Yes, on Thursday.")

    assert sent["author"] == {"name": "Olga", "is_shop": False}
    assert answer["author"]["is_shop"] and answer["author"]["name"] != SHOP_NAME  # admins see who
    for sock in (tab, other_tab):
        got = sock.wait_for("message", count=2)
        assert [m["id"] for m in got] == [sent["id"], answer["id"]]
        assert got[1]["author"] == {"name": SHOP_NAME, "is_shop": True}
    assert [m["id"] for m in admin_page.wait_for("message", count=2)] == [sent["id"], answer["id"]]
    # Notifications tell the other side wherever it is; the barrier is the reply's notification.
    [reply_note] = elsewhere.wait_for("notification")
    assert (reply_note["kind"], reply_note["data"]["message_id"]) == ("message", answer["id"])
    # Not watching, the other tab hears only its own message (a sender's tabs all show it).
    assert [m["id"] for m in elsewhere.of("message")] == [sent["id"]]
    admin_elsewhere.wait_for_match("notification", lambda n: n["kind"] == "message")
    assert [m["id"] for m in admin_elsewhere.wait_for("message")] == [answer["id"]]
    assert len(tab.of("message")) == 2 and len(admin_page.of("message")) == 2


def test_a_retried_client_id_is_acked_with_the_first_message_and_pushed_once(live, order, connect):
    owner, order_id = order
    admin_page = connect(admin_on(live.url))
    admin_page.call("watch_order", {"order_id": order_id})
    tab = connect(owner)

    first = say(tab, order_id, "Hello", "retry-id")
    second = say(tab, order_id, "Hello", "retry-id")
    barrier = say(tab, order_id, "And another thing", "retry-id-2")

    assert first == second
    assert [m["id"] for m in admin_page.wait_for("message", count=2)] == [first["id"], barrier["id"]]


def test_an_offline_shopper_gets_the_reply_by_sync_and_the_page_by_watch(live, order, connect):
    owner, order_id = order
    tab = connect(owner)
    tab.call("watch_order", {"order_id": order_id})
    asked = say(tab, order_id, "Anyone there?")
    seq = tab.call("sync", {"after_seq": 0})["last_seq"]
    tab.close()

    answer = say(connect(admin_on(live.url)), order_id, "Here we are.", "ada-1")

    back = connect(owner)
    caught_up = back.call("sync", {"after_seq": seq})
    assert [(n["kind"], n["data"]["message_id"]) for n in caught_up["notifications"]] == [
        ("message", answer["id"])
    ]
    watched = back.call("watch_order", {"order_id": order_id, "after_id": asked["id"]})
    assert [m["id"] for m in watched["messages"]] == [answer["id"]]
    assert watched["messages"][0]["author"]["name"] == SHOP_NAME


def test_a_stranger_is_refused_everything_and_hears_nothing(live, order, connect):
    owner, order_id = order
    stranger = Shopper(live.url).register("Eve")
    nosy = connect(stranger)
    raw = RawSocket(live.url, stranger.cookie_header)
    ack_ids = itertools.count(1)
    try:
        assert raw.connect_namespace().startswith("40")
        for event, payload in [
            ("watch_order", {"order_id": order_id}),
            ("send_message", {"order_id": order_id, "body": "Hi", "client_id": "eve-1"}),
            ("read_messages", {"order_id": order_id, "up_to_id": 999}),
            ("typing", {"order_id": order_id}),
        ]:
            acks = (nosy.call(event, payload), raw.call(event, payload, ack_id=next(ack_ids)))
            for ack in acks:
                assert ack["ok"] is False and ack["error"]["code"] in ("not_found", "invalid_input"), ack
        tab = connect(owner)
        tab.call("watch_order", {"order_id": order_id})
        sent = say(tab, order_id, "Private")
        tab.call("typing", {"order_id": order_id})
        # The barrier: the stranger's own order, then a message in it, which arrives after.
        own_order = stranger.place_order(insert_product(live.database_url))
        nosy.call("watch_order", {"order_id": own_order})
        say(nosy, own_order, "My own")
        nosy.wait_for("message")
        assert [m["order_id"] for m in nosy.of("message")] == [own_order]
        assert all(p["order_id"] == own_order for p in nosy.of("presence"))
        assert nosy.of("typing") == [] and nosy.of("messages_read") == []
        assert all(n["data"].get("order_id") != order_id for n in nosy.of("notification"))
        assert "Private" not in repr(raw.packets) and sent["body"] == "Private"
    finally:
        raw.close()


def test_read_receipts_reach_the_writer_and_clear_every_tab_of_every_admin(
    live, order, second_admin, connect
):
    owner, order_id = order
    tab = connect(owner)
    tab.call("watch_order", {"order_id": order_id})
    admins = [admin_on(live.url), Shopper(live.url).login(second_admin)]
    socks = [connect(a) for a in admins]
    sent = say(tab, order_id, "Read me")
    for sock in socks:
        note = sock.wait_for_match("notification", lambda n: n["data"].get("message_id") == sent["id"])

    ack = socks[0].call("read_messages", {"order_id": order_id, "up_to_id": sent["id"]})

    assert ack["ok"]
    receipt = tab.wait_for("messages_read")[0]
    assert receipt == {"order_id": order_id, "side": "shop", "up_to_id": sent["id"]}
    for sock in socks:  # every admin's tab: the thread is read, the badge goes down
        read = sock.wait_for("messages_read")[0]
        assert (read["order_id"], read["side"]) == (order_id, "shop")
        assert read["unread_threads"] == note["data"]["unread_threads"] - 1  # the admin nav's count
        [badge] = sock.wait_for("unread")
        unread = [n for n in sock.call("sync", {"after_seq": 0})["notifications"] if not n["read"]]
        assert badge["unread"] == len(unread)
        assert [n for n in unread if n["kind"] == "message" and n["data"]["order_id"] == order_id] == []


def test_the_customer_reading_clears_their_badge_in_every_tab_and_shows_the_shop_seen(live, order, connect):
    owner, order_id = order
    tab, other_tab = connect(owner), connect(owner)
    admin_page = connect(admin_on(live.url))
    for sock in (tab, admin_page):
        sock.call("watch_order", {"order_id": order_id})
    answer = say(admin_page, order_id, "Your parcel leaves today.")
    [note] = other_tab.wait_for("notification")
    assert not note["read"]

    assert tab.call("read_messages", {"order_id": order_id, "up_to_id": answer["id"]}) == {
        "ok": True,
        "unread": 0,
    }

    assert other_tab.wait_for("unread")[-1] == {"unread": 0}
    seen = admin_page.wait_for_match("messages_read", lambda r: r["side"] == "customer")
    assert seen["up_to_id"] == answer["id"]
    mine = {"order_id": order_id, "side": "customer", "up_to_id": answer["id"]}
    assert tab.wait_for("messages_read") == [mine]  # the shop's count of unread threads is for admins


def test_typing_reaches_the_other_side_once_per_throttle_and_names_only_the_shop(live, order, connect):
    owner, order_id = order
    tab, admin_page = connect(owner), connect(admin_on(live.url))
    for sock in (tab, admin_page):
        sock.call("watch_order", {"order_id": order_id})
    unwatched = connect(owner)
    assert unwatched.call("typing", {"order_id": order_id})["error"]["code"] == "invalid_input"

    for _ in range(3):
        assert admin_page.call("typing", {"order_id": order_id})["ok"]
        assert tab.call("typing", {"order_id": order_id})["ok"]
    say(admin_page, order_id, "barrier")
    say(tab, order_id, "barrier")
    tab.wait_for("message", count=2)
    admin_page.wait_for("message", count=2)

    assert tab.of("typing") == [{"order_id": order_id, "name": SHOP_NAME, "is_shop": True}]
    assert admin_page.of("typing") == [{"order_id": order_id, "name": "Olga", "is_shop": False}]


def test_presence_follows_the_customer_and_the_admins_viewing(live, order, connect):
    owner, order_id = order
    admin = admin_on(live.url)
    admin_page = connect(admin)
    seen = admin_page.call("watch_order", {"order_id": order_id})["presence"]
    assert seen["customer_online"] is False and seen["shop_online"] is True
    assert len(seen["viewing"]) == 1

    tab = connect(owner)
    shown = tab.call("watch_order", {"order_id": order_id})["presence"]
    assert shown == {"order_id": order_id, "customer_online": True, "shop_online": True}  # no names
    admin_page.wait_for_match("presence", lambda p: p["customer_online"])
    tab.close()
    wait_until(lambda: admin_page.of("presence")[-1]["customer_online"] is False, "the customer to go", 10)


def test_a_flood_of_messages_is_refused_past_the_budget(live, order, connect):
    owner, order_id = order
    tab = connect(owner)
    acks = [
        tab.call("send_message", {"order_id": order_id, "body": f"n{n}", "client_id": f"flood-{n}"})
        for n in range(BUDGET + 3)
    ]
    assert [a["ok"] for a in acks] == [True] * BUDGET + [False] * 3
    assert {a["error"]["code"] for a in acks[BUDGET:]} == {"rate_limited"}
    empty = tab.call("send_message", {"order_id": order_id, "body": "  ", "client_id": "empty"})
    assert empty["error"]["code"] == "invalid_input"
