"""A worker whose Redis subscriber goes deaf without an error (python-socketio #1581):
it says so on /healthz, subscribes again, and its clients lose nothing."""

import pytest
import requests

from testing.data import insert_product, insert_user
from testing.metrics import sample, scrape
from testing.processes import wait_until
from testing.queues import DeafeningProxy
from testing.server import LiveServer
from testing.services import SHARED_REDIS, require_redis, unique_channel
from testing.shopper import Shopper, admin_on
from testing.sockets import LiveSocket

pytestmark = pytest.mark.scaleout
FAST = {"QUEUE_HEARTBEAT_SECONDS": "1", "QUEUE_DEAF_SECONDS": "4", "POSITION_CHECK_SECONDS": "2"}


def health(worker: LiveServer) -> tuple[int, dict]:
    response = requests.get(worker.url + "/healthz", timeout=10)
    return response.status_code, response.json()["checks"]


def heartbeat_age(worker: LiveServer) -> float:
    return sample(scrape(worker.url), "shop_queue_heartbeat_age_seconds")


def test_a_deaf_worker_reports_it_hears_again_and_its_clients_lose_nothing(seeded_database, tmp_path):
    require_redis()
    proxy = DeafeningProxy()
    channel = unique_channel()
    deafened = LiveServer(
        seeded_database, tmp_path, SOCKETIO_MESSAGE_QUEUE=proxy.url, SOCKETIO_CHANNEL=channel, **FAST
    )
    other = LiveServer(
        seeded_database, tmp_path, SOCKETIO_MESSAGE_QUEUE=SHARED_REDIS, SOCKETIO_CHANNEL=channel, **FAST
    )
    sock = None
    try:
        deafened.start()
        other.start()
        email = insert_user(seeded_database, "Deb")
        order_id = Shopper(other.url).login(email).place_order(insert_product(seeded_database, stock=5))
        sock = LiveSocket(deafened.url, Shopper(deafened.url).login(email).cookie_header, reconnection=True)
        assert health(deafened) == (200, {"database": "ok", "message_queue": "ok"})
        assert heartbeat_age(deafened) <= float(FAST["QUEUE_DEAF_SECONDS"])
        first_sid = sock.client.get_sid()

        proxy.deafen()
        admin_on(other.url).set_status(order_id, "processing")

        deaf = (503, {"database": "ok", "message_queue": "deaf"})
        wait_until(lambda: health(deafened) == deaf, "the deafened worker to report it", 30)
        silent = float(FAST["QUEUE_DEAF_SECONDS"])
        wait_until(lambda: heartbeat_age(deafened) > silent, "its heartbeat age to show the silence", 30)
        assert health(other)[0] == 200
        wait_until(lambda: health(deafened)[0] == 200, "the deafened worker to hear again", 30)
        # Its sockets were closed when it went deaf: the push below is live only once the
        # client is back (its backoff can outlast the resubscription on a busy machine).
        wait_until(
            lambda: sock.client.connected and sock.client.get_sid() not in (None, first_sid),
            "the client to reconnect",
            30,
        )
        admin_on(other.url).set_status(order_id, "shipped")

        sock.wait_for("order_status", timeout=30)
        synced = sock.call("sync", {"after_seq": 0})["notifications"]
        assert [n["data"]["status"] for n in synced] == ["processing", "shipped"]
        pushed = {n["seq"] for n in sock.of("notification")}
        assert 2 in pushed, "pushes reach it again once it subscribed again"
    finally:
        if sock:
            sock.close()
        deafened.stop()
        other.stop()
        proxy.close()
    assert "deaf: nothing heard on the message queue" in deafened.log_path.read_text()
