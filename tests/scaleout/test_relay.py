"""The outbox relay: a worker killed -9 between a commit and its emit leaves nothing
undelivered: the other worker's relay emits it to a client that stays connected."""

import time

import pytest
import requests

from testing.data import insert_product, insert_user
from testing.faults import kill_before_emit_env
from testing.processes import wait_until
from testing.server import LiveServer
from testing.services import SHARED_REDIS, query, require_redis, unique_channel
from testing.shopper import Shopper

pytestmark = pytest.mark.scaleout


def test_a_worker_killed_between_commit_and_emit_loses_no_notification(seeded_database, tmp_path):
    require_redis()
    trigger = tmp_path / "kill-before-emit"
    queue = {"SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS, "SOCKETIO_CHANNEL": unique_channel()}
    victim = LiveServer(seeded_database, tmp_path, **queue, **kill_before_emit_env(trigger))
    survivor = LiveServer(seeded_database, tmp_path, **queue)
    try:
        victim.start()
        survivor.start()
        email = insert_user(seeded_database, "Max")
        owner = Shopper(survivor.url).login(email)
        order_id = owner.place_order(insert_product(seeded_database))
        admin = Shopper(victim.url).login(insert_user(seeded_database, "Ada", admin=True))
        with owner.connect() as sock:
            sock.call("sync", {"after_seq": 0})
            trigger.touch()
            with pytest.raises(requests.ConnectionError):  # it dies answering
                admin.post(
                    f"/admin/orders/{order_id}/status",
                    {"status": "processing"},
                    token_from=f"/admin/orders/{order_id}",
                )
            committed = time.monotonic()
            wait_until(lambda: victim.process.poll() is not None, "the victim to be dead")
            [(seq,)] = query(
                seeded_database,
                "SELECT n.seq FROM notifications n JOIN users u ON u.id = n.user_id"
                " WHERE u.email = %s AND n.kind = 'order_status'",
                email,
            )
            relayed = sock.wait_for("notification", timeout=15)[0]
            took = time.monotonic() - committed
            [(pushed,)] = query(
                seeded_database, "SELECT pushed FROM notifications WHERE id = %s", relayed["id"]
            )
            delivered = {n["seq"] for n in sock.of("notification")}
    finally:
        victim.stop()
        survivor.stop()
    assert victim.process.returncode == -9  # killed, after the commit: the row is there
    assert (relayed["seq"], relayed["data"]["status"]) == (seq, "processing")
    assert delivered == {seq}  # (a second copy, if any, is dropped by seq in the browser)
    print(f"relayed {took:.2f} s after the victim's commit")
