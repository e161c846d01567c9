"""Faults with nothing lost: Redis goes away and comes back; a worker is killed.

Pushes are the fast path and may be lost; the notification rows are the
truth, and `sync` after a reconnect (or after the queue is back) gives each
client every notification it missed.
"""

import itertools
import signal
from collections.abc import Iterator

import pytest
import requests

from testing.data import insert_product, insert_user
from testing.nginx import Nginx, require_nginx
from testing.processes import wait_until
from testing.server import LiveServer
from testing.services import (
    SHARED_REDIS,
    committed_seqs,
    query,
    require_redis,
    unique_channel,
)
from testing.shopper import Shopper, admin_on
from testing.sockets import LiveSocket

pytestmark = pytest.mark.scaleout


def assert_nothing_lost(sock: LiveSocket, seen_before: int, expected: list[int]) -> list[int]:
    """Pushed live, or returned by `sync` from the last seq seen before the gap:
    together they are every notification the database holds, in order, and
    `sync` returns exactly those after ``seen_before``. Returns the synced seqs."""
    answer = sock.call("sync", {"after_seq": seen_before})
    assert answer["ok"] and not answer["more"]
    synced = [n["seq"] for n in answer["notifications"]]
    assert synced == [seq for seq in expected if seq > seen_before]
    live = {n["seq"] for n in sock.of("notification")}
    assert sorted(live | set(synced)) == expected == list(range(1, len(expected) + 1))
    return synced


@pytest.fixture
def workers_on_private_redis(seeded_database, private_redis, tmp_path) -> Iterator[list[LiveServer]]:
    env = {"SOCKETIO_MESSAGE_QUEUE": private_redis.url, "SOCKETIO_CHANNEL": unique_channel()}
    workers: list[LiveServer] = []
    try:
        for _ in range(2):
            workers.append(LiveServer(seeded_database, tmp_path, **env).start())
        yield workers
    finally:
        for worker in workers:
            worker.stop()


class Probe:
    """Proves that pushes flow from worker A to worker B again after an outage.

    Redis pub/sub keeps nothing, so the first pushes after a restart may be
    lost while B's listener reconnects: the probe sets a stock on A and waits
    briefly for it on B, with a new value each time, until one arrives.
    """

    def __init__(self, url: str, admin: Shopper, sock: LiveSocket):
        self.product_id = insert_product(url, stock=100)
        self.admin, self.sock = admin, sock
        assert sock.call("subscribe_product", {"product_id": self.product_id})["ok"]
        self.values = itertools.count(101)

    def pushes_flow(self) -> bool:
        stock = next(self.values)
        self.admin.set_stock(self.product_id, stock)
        try:
            self.sock.wait_for_match("stock", lambda s: s["stock"] == stock, timeout=1)
            return True
        except AssertionError:
            return False


def test_a_redis_outage_commits_every_change_and_loses_no_notification(
    seeded_database, private_redis, workers_on_private_redis, connect
):
    a, b = workers_on_private_redis
    owner_email = insert_user(seeded_database, "Lou")
    admin_email = insert_user(seeded_database, "Ada", admin=True)
    owner_on_a, admin_on_a = Shopper(a.url).login(owner_email), admin_on(a.url)
    owner, admin = connect(Shopper(b.url).login(owner_email)), connect(Shopper(b.url).login(admin_email))
    product_id = insert_product(seeded_database, stock=10)
    first = owner_on_a.place_order(product_id)
    admin_on_a.set_status(first, "processing")
    owner_seen = owner.wait_for("notification")[-1]["seq"]
    admin_seen = admin.wait_for("notification")[-1]["seq"]

    private_redis.stop()
    admin_on_a.set_status(first, "shipped")  # each asserts its redirect: committed though Redis is down
    second = owner_on_a.place_order(product_id)
    admin_on_a.set_status(second, "processing")
    health = [requests.get(worker.url + "/healthz", timeout=10) for worker in (a, b)]

    statuses = query(
        seeded_database, "SELECT id, status FROM orders WHERE id IN %s ORDER BY id", (first, second)
    )
    assert statuses == [(first, "shipped"), (second, "processing")]
    for response in health:
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": "ok", "message_queue": "down"}
    missed_by_owner = committed_seqs(seeded_database, owner_email)[owner_seen:]
    missed_by_admin = committed_seqs(seeded_database, admin_email)[admin_seen:]

    private_redis.start()
    probe = Probe(seeded_database, admin_on_a, admin)
    wait_until(probe.pushes_flow, "pushes to flow from A to B again", timeout=120)
    admin_on_a.set_status(second, "shipped")
    owner.wait_for_match("notification", lambda n: n["data"].get("order_id") == second)

    owner_synced = assert_nothing_lost(owner, owner_seen, committed_seqs(seeded_database, owner_email))
    admin_synced = assert_nothing_lost(admin, admin_seen, committed_seqs(seeded_database, admin_email))
    # What happened during the outage could only come back through sync.
    assert len(missed_by_owner) == 2 and owner_synced[:2] == missed_by_owner
    assert len(missed_by_admin) == 1 and admin_synced == missed_by_admin


@pytest.fixture
def site(seeded_database, tmp_path) -> Iterator[tuple[Nginx, list[LiveServer]]]:
    """nginx (deploy/nginx.conf) in front of two production workers sharing Redis."""
    require_redis()
    require_nginx()
    env = {
        "SHOP_CONFIG": "production",
        "PROXY_COUNT": "1",
        "SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS,
        "SOCKETIO_CHANNEL": unique_channel(),
    }
    workers: list[LiveServer] = []
    nginx = None
    try:
        for _ in range(2):
            workers.append(LiveServer(seeded_database, tmp_path, **env).start())
        nginx = Nginx(tmp_path, [worker.port for worker in workers]).start()
        yield nginx, workers
    finally:
        if nginx:
            nginx.stop()
        for worker in workers:
            worker.stop()


def test_a_killed_workers_clients_reconnect_to_the_other_and_sync_fills_the_gap(site, seeded_database):
    """The worker holding the sockets freezes, changes are made meanwhile (their
    pushes cannot reach anyone), then it is killed: the clients reconnect
    through nginx to the other worker, and `sync` returns what they missed."""
    nginx, workers = site
    owner_email = insert_user(seeded_database, "Max")
    admin_email = insert_user(seeded_database, "Ada", admin=True)
    owner_http, admin_http = nginx.shopper(owner_email), nginx.shopper(admin_email)
    owner = nginx.connect(owner_http, reconnection=True)
    admin = nginx.connect(admin_http, reconnection=True)
    try:
        product_id = insert_product(seeded_database, stock=10)
        first = owner_http.place_order(product_id)
        admin_http.set_status(first, "processing")
        owner_seen = owner.wait_for("notification")[-1]["seq"]
        admin_seen = admin.wait_for("notification")[-1]["seq"]
        [holder] = set(nginx.upstreams_for("/socket.io/"))
        victim = next(worker for worker in workers if holder == f"127.0.0.1:{worker.port}")
        survivor = next(worker for worker in workers if worker is not victim)

        victim.process.send_signal(signal.SIGSTOP)
        assert survivor.cli("orders", "set-status", str(first), "shipped").returncode == 0
        assert survivor.cli("stock", "set", str(product_id), "0").returncode == 0  # admins: out of stock
        victim.stop(signal.SIGKILL)
        # through nginx, on the survivor
        second = owner_http.place_order(insert_product(seeded_database, stock=10))
        for sock in (owner, admin):
            sock.wait_for("connect", count=2, timeout=30)

        owner_synced = assert_nothing_lost(owner, owner_seen, committed_seqs(seeded_database, owner_email))
        admin_synced = assert_nothing_lost(admin, admin_seen, committed_seqs(seeded_database, admin_email))
        assert owner_synced[0] == owner_seen + 1 and admin_synced[0] == admin_seen + 1
        admin_http.set_status(second, "processing")
        owner.wait_for_match("notification", lambda n: n["data"].get("order_id") == second)
        session = f"sid={owner.client.eio.sid}"
    finally:
        owner.close()
        admin.close()

    def reconnected_through() -> set[str]:
        lines = nginx.access_log.read_text().splitlines()
        return {line.rsplit(" ", 1)[1] for line in lines if session in line and " 101 " in line}

    wait_until(reconnected_through, "the new WebSocket in nginx's log")
    assert reconnected_through() == {f"127.0.0.1:{survivor.port}"}
