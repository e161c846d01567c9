"""Under gevent a WebSocket holds one file descriptor, not two.

simple-websocket duplicates a gevent socket unless it is handed over as
``gunicorn.socket``; with two descriptors per connection, 10,000 sockets
would not fit under this machine's 20,000 open-file limit (bench/ holds
10,000). The count comes from the server's /proc entry.
"""

import os

import pytest

from shop.seed import DEMO_SHOPPER
from testing.server import start_server
from testing.shopper import Shopper

SOCKETS = 20


@pytest.fixture(scope="module")
def gevent_server(tmp_path_factory):
    with start_server(tmp_path_factory, SOCKETIO_ASYNC_MODE="gevent") as server:
        yield server


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_one_descriptor_per_websocket(gevent_server, sockets):
    shopper = Shopper(gevent_server.url).login(DEMO_SHOPPER[0], DEMO_SHOPPER[2])
    sockets.append(shopper.connect())  # the database pool and the hub warm up first
    before = open_descriptors(gevent_server.process.pid)

    sockets.extend(shopper.connect() for _ in range(SOCKETS))

    assert all(sock.client.connected for sock in sockets)
    assert open_descriptors(gevent_server.process.pid) - before <= SOCKETS + 2
