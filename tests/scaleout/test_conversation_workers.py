"""The order conversation on two workers sharing PostgreSQL and a Redis channel: two
shoppers and two admins, each side on either worker. Messages, read receipts and typing
cross workers once each; a shopper who was away catches up; one client id sent to both
workers at once is one message; presence is shared through Redis and a worker killed
with ``kill -9`` leaves nobody online once its entries expire."""

import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest

from shop.models.message import SHOP_NAME
from testing.data import insert_product, insert_user
from testing.processes import wait_until
from testing.server import LiveServer, running_workers
from testing.services import SHARED_REDIS, query, require_redis, unique_channel
from testing.shopper import Shopper

pytestmark = pytest.mark.scaleout

PRESENCE_TTL = 3  # seconds a killed worker's sockets still count as present


@pytest.fixture(scope="module")
def settings() -> dict[str, str]:
    require_redis()
    return {
        "SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS,
        "SOCKETIO_CHANNEL": unique_channel(),
        "PRESENCE_TTL_SECONDS": str(PRESENCE_TTL),
    }


@pytest.fixture(scope="module")
def workers(seeded_database, settings, tmp_path_factory) -> Iterator[tuple[LiveServer, LiveServer]]:
    with running_workers(seeded_database, tmp_path_factory.mktemp("chat-workers"), **settings) as (a, b):
        yield a, b


@pytest.fixture
def people(workers, seeded_database):
    """Two shoppers with an order each, two admins: Olga and Ada on A, Pia and Bea on B."""
    a, b = workers
    emails = {
        "olga": insert_user(seeded_database, "Olga"),
        "pia": insert_user(seeded_database, "Pia"),
        "ada": insert_user(seeded_database, "Ada", admin=True),
        "bea": insert_user(seeded_database, "Bea", admin=True),
    }
    olga, pia = Shopper(a.url).login(emails["olga"]), Shopper(b.url).login(emails["pia"])
    orders = {
        "olga": olga.place_order(insert_product(seeded_database)),
        "pia": pia.place_order(insert_product(seeded_database)),
    }
    return emails, orders


def on(worker: LiveServer, email: str) -> Shopper:
    return Shopper(worker.url).login(email)


def say(sock, order_id: int, body: str, client_id: str | None = None) -> dict:
    payload = {"order_id": order_id, "body": body, "client_id": client_id or uuid4().hex}
    ack = sock.call("send_message", payload)
    assert ack["ok"], ack
    return ack["message"]


def watch(sock, order_id: int) -> dict:
    ack = sock.call("watch_order", {"order_id": order_id})
    assert ack["ok"], ack
    return ack


def test_messages_cross_workers_once_each_and_reach_only_that_order(workers, people, connect):
    a, b = workers
    emails, orders = people
    olga_a, olga_b = connect(on(a, emails["olga"])), connect(on(b, emails["olga"]))
    pia_b = connect(on(b, emails["pia"]))
    ada_a, bea_b = connect(on(a, emails["ada"])), connect(on(b, emails["bea"]))
    for sock in (olga_a, olga_b, ada_a, bea_b):
        watch(sock, orders["olga"])
    watch(pia_b, orders["pia"])

    asked = say(olga_a, orders["olga"], "Can it ship before Friday?")
    answer = say(bea_b, orders["olga"], "Yes, on Thursday.")
    barrier = say(pia_b, orders["pia"], "And mine?")

    for sock in (olga_a, olga_b):
        got = sock.wait_for("message", count=2)
        assert [m["id"] for m in got] == [asked["id"], answer["id"]]
        assert got[1]["author"] == {"name": SHOP_NAME, "is_shop": True}
    for sock in (ada_a, bea_b):
        got = sock.wait_for("message", count=2)
        assert [m["id"] for m in got[:2]] == [asked["id"], answer["id"]]
        assert got[1]["author"] == {"name": "Bea", "is_shop": True}
        sock.wait_for_match("notification", lambda n: n["data"].get("message_id") == barrier["id"])
    # Pia's message was the last: every socket has heard all it ever will of Olga's thread.
    pia_b.wait_for("message")
    assert [m["id"] for m in pia_b.of("message")] == [barrier["id"]]
    assert all(n["data"].get("order_id") != orders["olga"] for n in pia_b.of("notification"))
    for sock in (olga_a, olga_b, ada_a, bea_b):
        assert len([m for m in sock.of("message") if m["order_id"] == orders["olga"]]) == 2
    [reply] = [n for n in olga_b.of("notification") if n["kind"] == "message"]
    assert reply["data"]["message_id"] == answer["id"]


def test_a_shopper_away_catches_up_on_the_other_worker(workers, people, connect):
    a, b = workers
    emails, orders = people
    olga = connect(on(a, emails["olga"]))
    asked = say(olga, orders["olga"], "Anyone there?")
    seq = olga.call("sync", {"after_seq": 0})["last_seq"]
    olga.close()

    answer = say(connect(on(a, emails["ada"])), orders["olga"], "Here we are.")

    back = connect(on(b, emails["olga"]))
    missed = back.call("sync", {"after_seq": seq})["notifications"]
    assert [(n["kind"], n["data"]["message_id"]) for n in missed] == [("message", answer["id"])]
    watched = back.call("watch_order", {"order_id": orders["olga"], "after_id": asked["id"]})
    assert [(m["id"], m["author"]["name"]) for m in watched["messages"]] == [(answer["id"], SHOP_NAME)]


def test_one_client_id_sent_to_both_workers_at_once_is_one_message(workers, people, connect, seeded_database):
    a, b = workers
    emails, orders = people
    socks = [connect(on(worker, emails["pia"])) for worker in (a, b, a, b)]
    client_id = uuid4().hex

    with ThreadPoolExecutor(len(socks)) as pool:
        acks = list(pool.map(lambda s: say(s, orders["pia"], "Double click", client_id), socks))

    assert len({ack["id"] for ack in acks}) == 1
    stored = query(seeded_database, "SELECT count(*) FROM order_messages WHERE client_id = %s", client_id)
    assert stored[0][0] == 1


def test_read_receipts_and_typing_cross_workers(workers, people, connect):
    a, b = workers
    emails, orders = people
    olga = connect(on(a, emails["olga"]))
    ada_a, bea_b = connect(on(a, emails["ada"])), connect(on(b, emails["bea"]))
    for sock in (olga, ada_a, bea_b):
        watch(sock, orders["olga"])
    asked = say(olga, orders["olga"], "Read me")
    bea_b.wait_for_match("message", lambda m: m["id"] == asked["id"])

    assert bea_b.call("typing", {"order_id": orders["olga"]})["ok"]
    assert bea_b.call("read_messages", {"order_id": orders["olga"], "up_to_id": asked["id"]})["ok"]

    assert olga.wait_for("typing")[0] == {"order_id": orders["olga"], "name": SHOP_NAME, "is_shop": True}
    assert ada_a.wait_for("typing")[0] == {"order_id": orders["olga"], "name": "Bea", "is_shop": True}
    receipt = olga.wait_for_match("messages_read", lambda r: r["up_to_id"] == asked["id"])
    assert receipt["side"] == "shop"
    ada_a.wait_for_match("messages_read", lambda r: r["up_to_id"] == asked["id"])
    ada_a.wait_for("unread")  # Ada's badge follows Bea's reading
    assert bea_b.of("typing") == []  # not to the one who typed


def test_presence_is_shared_and_a_killed_worker_leaves_nobody_online(
    workers, people, connect, seeded_database, settings, tmp_path_factory
):
    a, b = workers
    emails, orders = people
    ada = connect(on(a, emails["ada"]))
    first = watch(ada, orders["pia"])["presence"]
    assert first["customer_online"] is False
    assert "Ada" in first["viewing"]

    pia_b = connect(on(b, emails["pia"]))
    shown = watch(pia_b, orders["pia"])["presence"]
    assert shown["shop_online"] is True and "viewing" not in shown
    wait_until(lambda: ada.of("presence") and ada.of("presence")[-1]["customer_online"], "Pia online", 10)
    pia_b.close()
    wait_until(lambda: ada.of("presence")[-1]["customer_online"] is False, "Pia gone", 10)

    doomed = LiveServer(seeded_database, tmp_path_factory.mktemp("doomed"), **settings).start()
    try:
        connect(on(doomed, emails["pia"]))
        wait_until(lambda: ada.of("presence")[-1]["customer_online"], "Pia online on worker C", 10)
        doomed.stop(signal.SIGKILL)  # no disconnect handler runs: only the expiry takes her out
        wait_until(
            lambda: ada.of("presence")[-1]["customer_online"] is False, "the expiry", PRESENCE_TTL + 10
        )
    finally:
        doomed.stop()


def test_with_redis_down_sockets_connect_and_messages_are_stored_and_caught_up(
    seeded_database, private_redis, tmp_path
):
    """Presence lives in Redis, but is a hint: with Redis gone a socket still connects,
    watches and sends (the message is stored; its push waits for nobody), and a client
    catches up by watch once it is back."""
    env = {"SOCKETIO_MESSAGE_QUEUE": private_redis.url, "SOCKETIO_CHANNEL": unique_channel()}
    owner_email = insert_user(seeded_database, "Rita")
    with running_workers(seeded_database, tmp_path, count=1, **env) as (worker,):
        owner = on(worker, owner_email)
        order_id = owner.place_order(insert_product(seeded_database))
        private_redis.stop()
        with owner.connect() as sock:
            watched = watch(sock, order_id)["presence"]
            assert watched["order_id"] == order_id
            sent = say(sock, order_id, "Is anyone there?")
        private_redis.start()
        with owner.connect() as again:
            caught_up = again.call("watch_order", {"order_id": order_id, "after_id": 0})
            assert [m["id"] for m in caught_up["messages"]] == [sent["id"]]
