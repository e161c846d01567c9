"""Malformed client messages get an error ack, never an exception, and the
connection goes on working."""

import pytest

from shop.seed import DEMO_SHOPPER
from testing.data import insert_product
from testing.server import SOCKET_BURST
from testing.shopper import Shopper

FIELDS = {
    "sync": "after_seq",
    "subscribe_product": "product_id",
    "unsubscribe_product": "product_id",
    "mark_read": "up_to_seq",
    "send_message": "order_id",
    "read_messages": "order_id",
    "watch_order": "order_id",
    "unwatch_order": "order_id",
    "typing": "order_id",
}

NOT_AN_OBJECT = [None, [], [1, 2], "after_seq=1", 7, 1.5, True]
BAD_VALUES = [
    "1",
    "",
    None,
    True,
    False,
    -1,
    2**31,
    2**40,
    2**64,
    -(2**63),
    1.5,
    float("1e300"),
    [1],
    {"$gt": 0},
    {"nested": [{"deeper": [None, {"junk": "x" * 200}]}]},
]

CASES = [
    *[(event, payload, "invalid_payload") for event in FIELDS for payload in NOT_AN_OBJECT],
    *[(event, {}, "invalid_input") for event in FIELDS],
    *[(event, {"unexpected": 1}, "invalid_input") for event in FIELDS],
    *[(event, {field: value}, "invalid_input") for event, field in FIELDS.items() for value in BAD_VALUES],
    ("subscribe_product", {"product_id": 999_999}, "not_found"),
    ("subscribe_product", {"product_id": 0}, "not_found"),
]


@pytest.fixture(scope="module")
def shopper(live) -> Shopper:
    return Shopper(live.url).login(DEMO_SHOPPER[0], DEMO_SHOPPER[2])


def case_id(case) -> str:
    event, payload, _code = case
    return f"{event}-{str(payload)[:40]}"


@pytest.mark.parametrize("case", CASES, ids=[case_id(case) for case in CASES])
def test_malformed_payload_gets_an_error_ack(shopper, connect, case):
    event, payload, code = case
    sock = connect(shopper)

    answer = sock.call(event, payload)

    assert answer["ok"] is False
    assert answer["error"]["code"] == code
    assert isinstance(answer["error"]["message"], str) and answer["error"]["message"]
    assert sock.call("sync", {"after_seq": 0})["ok"] is True
    assert sock.client.connected


def test_extra_arguments_are_ignored(shopper, connect):
    sock = connect(shopper)
    answer = sock.call("sync", ({"after_seq": 0}, "extra", [1, 2]))
    assert answer["ok"] is True
    assert "notifications" in answer


def test_unsubscribing_a_product_never_followed_is_harmless(shopper, connect):
    sock = connect(shopper)
    assert sock.call("unsubscribe_product", {"product_id": 999_999}) == {"ok": True}


def test_an_unknown_event_leaves_the_socket_working(shopper, connect):
    sock = connect(shopper)
    sock.client.emit("join_room", {"room": "admins"})
    sock.client.emit("sync", {"after_seq": 0})  # no ack asked for: nothing to answer
    assert sock.call("sync", {"after_seq": 0})["ok"] is True
    assert sock.client.connected


def test_a_shopper_cannot_talk_their_way_into_the_admins_room(live, shopper, connect, admin_http):
    """No event names a room: asking for one changes nothing."""
    owner = Shopper(live.url).register("Ola")
    order_id = owner.place_order(insert_product(live.database_url))
    nosy = connect(shopper)
    for event in ("join_room", "join", "subscribe", "enter_room"):
        nosy.client.emit(event, {"room": "admins"})
    nosy.call("subscribe_product", {"product_id": "admins"})
    owner_sock = connect(owner)

    admin_http.set_status(order_id, "processing")
    owner_sock.wait_for("order_status")
    # The ack below is sent after that change was pushed to every room.
    assert nosy.call("sync", {"after_seq": 0})["ok"] is True
    assert nosy.of("order_status") == []


def test_an_oversized_message_closes_only_that_connection(shopper, connect):
    """max_http_buffer_size is small: a 64 KiB message is not read, the
    socket is dropped, and a new connection works."""
    sock = connect(shopper)
    sock.client.emit("sync", {"after_seq": 0, "pad": "x" * 65536})
    sock.wait_disconnected()
    assert connect(shopper).call("sync", {"after_seq": 0})["ok"] is True


def test_a_burst_beyond_the_bucket_is_rate_limited(shopper, connect):
    sock = connect(shopper)

    answers = [sock.call("sync", {"after_seq": 0}) for _ in range(SOCKET_BURST + 3)]

    assert [answer["ok"] for answer in answers] == [True] * SOCKET_BURST + [False] * 3
    assert {answer["error"]["code"] for answer in answers[SOCKET_BURST:]} == {"rate_limited"}
    assert sock.client.connected
    # The bucket belongs to the connection: another tab of the same user is not limited.
    assert connect(shopper).call("sync", {"after_seq": 0})["ok"] is True


def test_junk_counts_against_the_bucket_too(shopper, connect):
    sock = connect(shopper)
    for _ in range(SOCKET_BURST):
        assert sock.call("mark_read", "junk")["error"]["code"] == "invalid_payload"
    assert sock.call("sync", {"after_seq": 0})["error"]["code"] == "rate_limited"
