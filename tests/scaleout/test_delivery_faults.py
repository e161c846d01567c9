"""Delivery faults on PostgreSQL with two workers and Redis: the emit of a committed
notification fails once, and a user's inbox starts again in a new epoch (as when
the database is re-created), each under a client that stays connected to the
other worker. Counted against what was committed: nothing lost, nothing twice."""

import re
from collections.abc import Iterator

import pytest

from testing.data import insert_product, insert_user
from testing.faults import fail_publish_env
from testing.metrics import sample, scrape
from testing.processes import wait_until
from testing.server import LiveServer
from testing.services import SHARED_REDIS, committed_seqs, query, require_redis, unique_channel
from testing.shopper import Shopper

pytestmark = pytest.mark.scaleout

# Fast position checks; a relay grace long enough that an emit's pushed mark (the next
# relay round) is never overtaken by a second emit from the relay.
SETTINGS = {"POSITION_CHECK_SECONDS": "1", "OUTBOX_GRACE_SECONDS": "5"}
POSITION = re.compile(r'data-last-seq="(\d+)" data-epoch="([0-9a-f]+)"')


class Workers:
    """Worker A, whose next notification publish fails once ``trigger`` exists (as
    ``mode`` says), and worker B, where the client is."""

    def __init__(self, database_url: str, log_dir, mode: str):
        queue = {"SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS, "SOCKETIO_CHANNEL": unique_channel()}
        self.trigger = log_dir / f"fail-publish-{mode}"
        self.a = LiveServer(
            database_url, log_dir, **queue, **SETTINGS, **fail_publish_env(self.trigger, mode)
        )
        self.b = LiveServer(database_url, log_dir, **queue, **SETTINGS)

    def start(self) -> "Workers":
        self.a.start()
        self.b.start()
        return self

    def stop(self) -> None:
        self.a.stop()
        self.b.stop()


@pytest.fixture(params=["give-up", "raise"])
def workers(request, seeded_database, tmp_path) -> Iterator[Workers]:
    require_redis()
    pair = Workers(seeded_database, tmp_path, request.param)
    try:
        yield pair.start()
    finally:
        pair.stop()


def shopper_with_an_order(workers: Workers, name: str) -> tuple[Shopper, Shopper, int]:
    """A shopper signed in on B with an order, and an admin signed in on A."""
    database = workers.a.database_url
    owner = Shopper(workers.b.url).login(insert_user(database, name))
    order_id = owner.place_order(insert_product(database))
    admin = Shopper(workers.a.url).login(insert_user(database, f"{name} Admin", admin=True))
    return owner, admin, order_id


def seqs(notifications: list[dict]) -> list[int]:
    return [n["seq"] for n in notifications]


def test_a_notification_whose_emit_failed_once_reaches_the_connected_client_once(workers, request):
    mode = request.node.callspec.params["workers"]
    owner, admin, order_id = shopper_with_an_order(workers, f"Emma {mode}")
    with owner.connect() as sock:
        assert sock.call("sync", {"after_seq": 0})["last_seq"] == 0
        workers.trigger.touch()

        admin.set_status(order_id, "processing")  # seq 1: committed, its publish fails
        assert not workers.trigger.exists(), "the fault fired"
        if mode == "give-up":
            # python-socketio gave up quietly: the row is marked pushed, no relay will
            # send it; the position check tells the client it is behind.
            sock.wait_for_match("position", lambda p: p["top_seq"] == 1, timeout=30)
        else:
            # the emit raised: the row stays unpushed and the relay sends it.
            sock.wait_for_match("notification", lambda n: n["seq"] == 1, timeout=30)
        synced = sock.call("sync", {"after_seq": 0})
        admin.set_status(order_id, "shipped")  # seq 2, pushed: the barrier
        sock.wait_for_match("notification", lambda n: n["seq"] == 2, timeout=30)
        pushed = seqs(sock.of("notification"))
        failures = sample(scrape(workers.a.url), "shop_push_failures_total", 0, event="notification")

    assert committed_seqs(workers.a.database_url, owner.email) == [1, 2]
    assert seqs(synced["notifications"]) == [1] and synced["up_to_seq"] == synced["last_seq"] == 1
    if mode == "give-up":
        assert pushed == [2]  # seq 1 only through sync, once
        assert failures == 0  # a publish that gives up looks sent: only the position check sees it
    else:
        assert pushed == [1, 2]  # the failed emit reached nobody here; the relay sent it once
        assert failures == 1

    def all_marked() -> bool:
        [(marked,)] = query(
            workers.a.database_url,
            "SELECT bool_and(n.pushed) FROM notifications n JOIN users u ON u.id = n.user_id"
            " WHERE u.email = %s",
            owner.email,
        )
        return marked

    wait_until(all_marked, "every row marked pushed (the relay sends nothing again)", 30)


@pytest.mark.parametrize("workers", ["give-up"], indirect=True)
def test_an_inbox_started_again_under_a_connected_client_resets_it(workers):
    """As when the database is re-created: the user's seqs start again in a new epoch.
    The client on B learns the new epoch without a reload, and what it syncs from
    then is the new inbox only, every row once."""
    owner, admin, order_id = shopper_with_an_order(workers, "Reto")
    admin.set_status(order_id, "processing")
    admin.set_status(order_id, "shipped")
    with owner.connect() as sock:
        before = sock.call("sync", {"after_seq": 0})
        assert (seqs(before["notifications"]), before["last_seq"]) == ([1, 2], 2)

        query(
            workers.a.database_url,
            "WITH gone AS (DELETE FROM notifications WHERE user_id = (SELECT id FROM users WHERE email = %s))"
            " UPDATE users SET last_seq = 0, inbox_epoch = 'c0ffeec0ffeec0ff' WHERE email = %s",
            owner.email,
            owner.email,
        )
        admin.set_status(order_id, "delivered")  # seq 1 of the new epoch, written through A

        # The workers' position check may tell the emptied inbox (top 0) first; the old top was 2.
        told = sock.wait_for_match("position", lambda p: p["top_seq"] == 1, timeout=30)
        from_old_position = sock.call("sync", {"after_seq": 2})
        from_scratch = sock.call("sync", {"after_seq": 0})

    assert told == {"epoch": "c0ffeec0ffeec0ff", "top_seq": 1}
    # Synced from where it stood, the client is told of the new epoch and of a top below it:
    assert from_old_position["epoch"] == "c0ffeec0ffeec0ff" and from_old_position["last_seq"] == 1
    assert from_old_position["notifications"] == []  # nothing of the old run comes back
    assert [(n["seq"], n["data"]["status"]) for n in from_scratch["notifications"]] == [(1, "delivered")]
    for worker in (workers.a, workers.b):  # every page of either worker starts from the new epoch
        assert POSITION.search(Shopper(worker.url).login(owner.email).get("/orders").text).groups() == (
            "1",
            "c0ffeec0ffeec0ff",
        )
