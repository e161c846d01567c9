"""The push channel declines WebSocket compression on every async mode.

A browser offers permessage-deflate on each WebSocket; accepted, it costs a
zlib compressor and decompressor per connection (bench/ measured about
100 KiB each) for messages of a few hundred bytes. The server must answer
the offer without the extension and send plain frames.
"""

import socket
from base64 import b64encode
from collections.abc import Iterator
from os import urandom
from urllib.parse import urlsplit

import pytest

from shop.seed import DEMO_SHOPPER
from testing.server import LiveServer, start_server
from testing.shopper import Shopper

BROWSER_OFFER = "permessage-deflate; client_max_window_bits"


@pytest.fixture(scope="module", params=["eventlet", "gevent", "threading"])
def server(request, tmp_path_factory) -> Iterator[LiveServer]:
    with start_server(tmp_path_factory, SOCKETIO_ASYNC_MODE=request.param) as server:
        yield server


def open_websocket(base_url: str, cookie: str) -> tuple[str, dict[str, str], bytes]:
    """A browser's Socket.IO handshake with its compression offer: (status line, headers, first frame)."""
    url = urlsplit(base_url)
    request = (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {b64encode(urandom(16)).decode()}\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Extensions: {BROWSER_OFFER}\r\n"
        f"Origin: {base_url}\r\nCookie: {cookie}\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(request.encode())
        received = b""
        while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < 3:
            chunk = sock.recv(4096)
            assert chunk, f"connection closed after {received!r}"
            received += chunk
    head, _, first_frame = received.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    fields = (line.partition(":") for line in lines)
    headers = {name.strip().lower(): value.strip() for name, _, value in fields}
    return status, headers, first_frame


def test_the_compression_offer_is_declined(server):
    shopper = Shopper(server.url).login(DEMO_SHOPPER[0], DEMO_SHOPPER[2])

    status, headers, first_frame = open_websocket(server.url, shopper.cookie_header)

    assert status.split(" ")[1] == "101", status
    assert "sec-websocket-extensions" not in headers
    rsv1 = first_frame[0] & 0x40
    assert not rsv1, "the Engine.IO open packet came compressed"
    assert first_frame[2:3] == b"0", "the first frame is Engine.IO's open packet, in plain text"
