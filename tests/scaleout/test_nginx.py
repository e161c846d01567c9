"""deploy/: nginx.conf in front of the workers that run-workers.sh starts, as in production."""

import os
import signal
import ssl
import subprocess

import pytest
import requests
import socketio
import websocket

from shop.seed import DEMO_ADMIN
from testing import ROOT
from testing.data import insert_product, insert_user
from testing.nginx import WorkerScript
from testing.processes import answers, wait_until
from testing.services import SHARED_REDIS, require_redis

pytestmark = pytest.mark.scaleout


def test_a_socket_polls_then_upgrades_to_websocket_through_nginx_and_gets_pushes(site, seeded_database):
    nginx, workers = site
    email = insert_user(seeded_database, "Ivy")
    owner = nginx.shopper(email)
    sock = nginx.connect(owner)
    session = f"sid={sock.client.eio.sid}"
    try:
        wait_until(lambda: sock.transport == "websocket", "the upgrade to WebSocket")
        order_id = owner.place_order(insert_product(seeded_database, stock=4))

        nginx.shopper(DEMO_ADMIN[0], DEMO_ADMIN[2]).set_status(order_id, "processing")

        [status] = sock.wait_for("order_status")
        assert (status["order_id"], status["status"]) == (order_id, "processing")
        [note] = sock.wait_for("notification")
        assert sock.call("sync", {"after_seq": 0})["notifications"] == [note]
    finally:
        sock.close()

    def upgrade_logged() -> bool:  # nginx logs a WebSocket when it closes
        return any(session in line and " 101 " in line for line in nginx.access_log.read_text().splitlines())

    wait_until(upgrade_logged, "the WebSocket in nginx's log")
    lines = nginx.access_log.read_text().splitlines()
    upgrade = next(i for i, line in enumerate(lines) if session in line and " 101 " in line)
    assert "transport=websocket" in lines[upgrade]
    assert any("/socket.io/?transport=polling" in line for line in lines[:upgrade])
    # One client address, one worker: the hash keeps every request of the session there.
    assert len(set(nginx.upstreams_for("/socket.io/"))) == 1
    assert set(nginx.upstreams_for("/socket.io/")) <= {f"127.0.0.1:{port}" for port in workers.ports}


def test_the_sites_own_origin_may_connect_and_a_foreign_one_may_not(site, seeded_database):
    """Through ProxyFix the worker sees https and the public host:port, which the origin check uses."""
    nginx, _ = site
    shopper = nginx.shopper(insert_user(seeded_database, "Jo"))

    own = nginx.connect(shopper, origin=nginx.url)
    own.close()
    with pytest.raises(socketio.exceptions.ConnectionError):
        nginx.connect(shopper, origin=f"http://127.0.0.1:{nginx.port}")
    with pytest.raises(socketio.exceptions.ConnectionError):
        nginx.connect(shopper, origin="https://evil.example")


def test_the_session_cookie_is_secure_behind_tls(site, seeded_database):
    nginx, _ = site
    shopper = nginx.shopper(insert_user(seeded_database, "Kit"))
    assert [cookie.secure for cookie in shopper.http.cookies] == [True]
    assert shopper.get("/orders").status_code == 200


def test_nginx_serves_static_files_itself(site):
    nginx, _ = site
    response = requests.get(nginx.url + "/static/css/shop.css", verify=str(nginx.certificate), timeout=10)
    assert response.status_code == 200
    assert response.content == (ROOT / "static" / "css" / "shop.css").read_bytes()
    assert response.headers["Cache-Control"] == "max-age=604800"
    # The app adds its CSP to every response it makes, static files included.
    assert "Content-Security-Policy" not in response.headers
    page = requests.get(nginx.url + "/", verify=str(nginx.certificate), timeout=10)
    assert "Content-Security-Policy" in page.headers


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"SOCKETIO_MESSAGE_QUEUE": ""}, "SOCKETIO_MESSAGE_QUEUE"),
        ({"DATABASE_URL": "sqlite:////tmp/shop.db"}, "PostgreSQL"),
        ({"SHOP_CONFIG": "production", "SECRET_KEY": ""}, "SECRET_KEY"),
    ],
)
def test_run_workers_refuses_settings_that_cannot_scale(env, complaint, tmp_path):
    base = {
        "DATABASE_URL": "postgresql://postgres@127.0.0.1/unused",
        "SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS,
        "SHOP_CONFIG": "development",
    }
    script = WorkerScript(tmp_path, **{**base, **env})
    refused = subprocess.run(
        ["bash", str(ROOT / "deploy" / "run-workers.sh")], env=script.env, capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert complaint in refused.stderr
    assert not any(answers(port) for port in script.ports)


def test_run_workers_restarts_a_killed_worker_and_stops_them_all_on_sigterm(seeded_database, tmp_path):
    require_redis()
    workers = WorkerScript(tmp_path, SHOP_CONFIG="development", DATABASE_URL=seeded_database).start()
    try:
        first, second = workers.ports
        killed, survivor = workers.pid(first), workers.pid(second)
        os.kill(killed, signal.SIGKILL)
        wait_until(lambda: workers.pid(first) not in (None, killed), "a new worker", timeout=30)
        workers.wait_healthy(first)
        assert workers.pid(second) == survivor
        replacement = workers.pid(first)
    finally:
        status = workers.stop()
    assert status == 0
    assert not answers(first) and not answers(second)
    for pid in (replacement, survivor):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_nginx_caps_the_sockets_one_client_address_holds(site):
    """limit_conn: 40 Socket.IO connections per address reach the workers; the next is refused."""
    nginx, _ = site
    url = nginx.url.replace("https://", "wss://") + "/socket.io/?EIO=4&transport=websocket"
    options = {"sslopt": {"cert_reqs": ssl.CERT_NONE}, "timeout": 10}
    held = []
    try:
        for _ in range(40):
            held.append(websocket.create_connection(url, **options))
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            held.append(websocket.create_connection(url, **options))
        assert refused.value.status_code == 429
    finally:
        for ws in held:
            ws.close()
