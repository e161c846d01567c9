"""Two workers sharing PostgreSQL and a Redis channel: every push reaches every worker's clients."""

import json
import subprocess
import sys
import textwrap

import pytest
import requests

from testing import ROOT
from testing.data import insert_product, insert_user
from testing.services import SHARED_REDIS
from testing.shopper import Shopper, admin_on
from testing.sockets import RawSocket, without_time

pytestmark = pytest.mark.scaleout


def test_both_workers_report_the_queue_healthy(two_workers):
    for worker in two_workers:
        response = requests.get(worker.url + "/healthz", timeout=10)
        assert response.status_code == 200
        assert response.json()["checks"] == {"database": "ok", "message_queue": "ok"}


def test_an_admin_action_on_worker_a_reaches_clients_on_worker_b(two_workers, seeded_database, connect):
    a, b = two_workers
    email = insert_user(seeded_database, "Bea")
    owner_socket = connect(Shopper(b.url).login(email))
    admin_socket = connect(admin_on(b.url))
    order_id = Shopper(a.url).login(email).place_order(insert_product(seeded_database, stock=5))

    admin_on(a.url).set_status(order_id, "processing")

    [status] = owner_socket.wait_for("order_status")
    assert (status["order_id"], status["status"]) == (order_id, "processing")
    [note] = owner_socket.wait_for("notification")
    assert (note["kind"], note["data"]["order_id"]) == ("order_status", order_id)
    assert owner_socket.call("sync", {"after_seq": 0})["notifications"] == [note]
    admin_statuses = admin_socket.wait_for("order_status")
    assert (order_id, "processing") in [(s["order_id"], s["status"]) for s in admin_statuses]
    new_orders = [n for n in admin_socket.of("notification") if n["kind"] == "new_order"]
    assert order_id in [n["data"]["order_id"] for n in new_orders]


def test_cli_commands_push_through_the_queue_to_clients_on_worker_b(two_workers, seeded_database, connect):
    """`flask orders set-status` and `flask stock set` run in a process of their own."""
    a, b = two_workers
    email = insert_user(seeded_database, "Cy")
    product_id = insert_product(seeded_database, stock=5)
    sock = connect(Shopper(b.url).login(email))
    assert sock.call("subscribe_product", {"product_id": product_id})["stock"] == 5
    order_id = Shopper(a.url).login(email).place_order(product_id)
    sock.wait_for("stock")  # the checkout's own stock push: 5 -> 4

    moved = a.cli("orders", "set-status", str(order_id), "processing", "--note", "From cron")
    assert moved.returncode == 0, moved.stderr
    restocked = a.cli("stock", "set", str(product_id), "40")
    assert restocked.returncode == 0, restocked.stderr

    [status] = sock.wait_for("order_status")
    assert (status["order_id"], status["status"]) == (order_id, "processing")
    [note] = sock.wait_for("notification")
    assert (note["body"], note["seq"]) == ("From cron", 1)
    stocks = without_time(sock.wait_for("stock", count=2))
    assert stocks[-1] == {"product_id": product_id, "stock": 40, "in_stock": True}


WRITE_ONLY_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from flask_socketio import SocketIO

    url, channel, room, payload = sys.argv[1:]
    socketio = SocketIO(message_queue=url, channel=channel, async_mode="threading")
    socketio.emit("stock", json.loads(payload), to=room)
    """
)


def test_any_script_can_emit_with_a_write_only_socketio(two_workers, seeded_database, connect):
    """What the README tells cron jobs to do, in a plain Python process."""
    _, b = two_workers
    product_id = insert_product(seeded_database, stock=3)
    sock = connect(Shopper(b.url).login(insert_user(seeded_database, "Di")))
    sock.call("subscribe_product", {"product_id": product_id})
    payload = {"product_id": product_id, "stock": 9, "in_stock": True}

    subprocess.run(
        [
            sys.executable, "-c", WRITE_ONLY_SCRIPT,
            SHARED_REDIS, b.env["SOCKETIO_CHANNEL"], f"product:{product_id}", json.dumps(payload),
        ],
        cwd=ROOT, check=True, timeout=60, capture_output=True,
    )  # fmt: skip

    assert sock.wait_for("stock") == [payload]


def test_a_logout_on_worker_a_closes_a_socket_on_worker_b_that_ignores_disconnect(
    two_workers, seeded_database
):
    a, b = two_workers
    email = insert_user(seeded_database, "Ike")
    browser = Shopper(a.url).login(email)
    order_id = browser.place_order(insert_product(seeded_database, stock=5))
    with RawSocket(b.url, browser.cookie_header) as stubborn:
        assert stubborn.connect_namespace().startswith("40")
        assert browser.post("/auth/logout", allow_redirects=False).status_code == 302
        assert stubborn.closed(timeout=10), stubborn.packets

        admin_on(a.url).set_status(order_id, "processing")
        assert stubborn.events("order_status") == []
