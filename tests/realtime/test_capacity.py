"""Eventlet's cap on simultaneous connections is MAX_CONNECTIONS, not 1024.

Each open connection (an idle keep-alive, a WebSocket) holds one of eventlet's
green threads; past the cap, a new connection waits until one closes.
"""

import resource
import socket

import pytest

from testing.server import start_server

EVENTLET_DEFAULT_CAP = 1024
CAP = EVENTLET_DEFAULT_CAP + 16
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


@pytest.fixture
def capped_server(tmp_path_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 2 * CAP + 200  # our ends and the server's, plus the usual files
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"needs {wanted} open files, the hard limit is {hard}")
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))  # the server inherits it
    with start_server(tmp_path_factory, MAX_CONNECTIONS=str(CAP)) as server:
        yield server


def open_idle(port: int, count: int) -> list[socket.socket]:
    """Connections that never send a request: each keeps a server thread busy."""
    return [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(count)]


def send_request(port: int) -> socket.socket:
    probe = socket.create_connection(("127.0.0.1", port), timeout=20)
    probe.sendall(REQUEST)
    return probe


def test_the_cap_is_max_connections(capped_server):
    port = capped_server.port
    held = open_idle(port, EVENTLET_DEFAULT_CAP + 1)
    try:
        # Beyond eventlet's default cap, a request is still served.
        with send_request(port) as probe:
            assert probe.recv(64).startswith(b"HTTP/1.1 200")
        held += open_idle(port, CAP - len(held))
        with send_request(port) as probe:
            # At the cap the request waits for a free slot. A slow machine could
            # only make this pass without the cap; it cannot make it fail with it.
            probe.settimeout(1)
            with pytest.raises(TimeoutError):
                probe.recv(64)
            for sock in held:
                sock.close()
            probe.settimeout(20)
            assert probe.recv(64).startswith(b"HTTP/1.1 200")
    finally:
        for sock in held:
            sock.close()
