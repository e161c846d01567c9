"""gevent and threading serve the whole path too: login, connect, push.

Eventlet is the default and every other module here runs on it.
"""

from pathlib import Path

import pytest

from shop.seed import DEMO_ADMIN, DEMO_SHOPPER
from testing.server import start_server
from testing.shopper import Shopper
from testing.sockets import http_after_websocket, without_time

PRODUCT = 1


@pytest.fixture(scope="module", params=["gevent", "threading"])
def server(request, tmp_path_factory):
    with start_server(tmp_path_factory, SOCKETIO_ASYNC_MODE=request.param) as server:
        yield server


def test_login_connect_and_push(server, sockets):
    admin = Shopper(server.url).login(DEMO_ADMIN[0], DEMO_ADMIN[2])
    shopper = Shopper(server.url).login(DEMO_SHOPPER[0], DEMO_SHOPPER[2])
    sock = shopper.connect()
    sockets.append(sock)
    before = sock.call("subscribe_product", {"product_id": PRODUCT})["stock"]

    order_id = shopper.place_order(PRODUCT)
    admin.set_status(order_id, "processing")

    expected = {"product_id": PRODUCT, "stock": before - 1, "in_stock": True}
    assert without_time(sock.wait_for("stock")) == [expected]
    [status] = sock.wait_for("order_status")
    assert (status["order_id"], status["status"]) == (order_id, "processing")
    [note] = sock.wait_for("notification")
    assert note["data"]["order_id"] == order_id
    assert_served_by(server)


def test_a_closed_websocket_carries_no_more_http(server):
    """Once a WebSocket ends, its connection is closed: bytes sent after it are
    never parsed as a request (through a proxy that would be a smuggled one)."""
    assert b"HTTP/" not in http_after_websocket(server.url)


def assert_served_by(server) -> None:
    """The mode asked for is the one serving (no silent fall-back to eventlet)."""
    mode = server.env["SOCKETIO_ASYNC_MODE"]
    libraries = Path(f"/proc/{server.process.pid}/maps").read_text()
    assert ("gevent" in libraries) == (mode == "gevent")
    assert ("greenlet" in libraries) == (mode != "threading")
    if mode == "threading":
        assert Shopper(server.url).get("/healthz").headers["Server"].startswith("Werkzeug/")
