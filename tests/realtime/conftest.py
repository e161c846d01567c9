"""Fixtures for the push channel tests: a real eventlet server and helpers.

One server serves a whole test module (starting and seeding one costs about
two seconds). Tests that could see each other's events use their own users
and products, made per test through HTTP or straight in the server's SQLite
file, and they prove that an event did *not* arrive with a barrier: a later
event on the same connection, which Socket.IO delivers in order.
"""

import itertools
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import websocket

from shop.seed import DEMO_ADMIN, DEMO_SHOPPER
from tests.checkout_support import checkout_fields
from tests.live import LiveServer, LiveSocket, Shopper, prepare_database

OTHER_ORIGIN = "https://other.example"
FOREIGN_ORIGIN = "http://evil.example"
PASSWORD = "live-test-password"
# Each connection may send SOCKET_BURST messages in a row; the bucket refills so
# slowly that no test run lasts long enough to earn another token.
SOCKET_BURST = 20
SOCKET_RATE = 0.001
ORDER_LOCATION = re.compile(r"/orders/(\d+)$")

_unique = itertools.count(1)


def start_server(tmp_path_factory, **env: str) -> LiveServer:
    """A seeded SQLite file and `python wsgi.py` on it; the caller stops it."""
    directory = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{directory / 'live.db'}"
    prepare_database(url)
    return LiveServer(url, directory, **env).start()


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveServer]:
    """A real eventlet server shared by the tests of one module."""
    server = start_server(
        tmp_path_factory,
        ALLOWED_ORIGINS=OTHER_ORIGIN,
        SOCKET_EVENT_BURST=str(SOCKET_BURST),
        SOCKET_EVENT_RATE=str(SOCKET_RATE),
    )
    yield server
    server.stop()


@pytest.fixture
def admin_http(live) -> Shopper:
    return Shopper(live.url).login(DEMO_ADMIN[0], DEMO_ADMIN[2])


@pytest.fixture
def shopper_http(live) -> Shopper:
    return Shopper(live.url).login(DEMO_SHOPPER[0], DEMO_SHOPPER[2])


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{next(_unique)}-{time.monotonic_ns()}@example.com"


def register(live: LiveServer, name: str = "Robin") -> Shopper:
    """A new account through the real sign-up form (which also signs in)."""
    shopper = Shopper(live.url)
    email = unique_email(name.lower())
    form = {"name": name, "email": email, "password": PASSWORD, "confirm": PASSWORD}
    response = shopper.post("/auth/register", form, token_from="/auth/register", allow_redirects=False)
    assert response.status_code == 302, f"sign-up failed: {response.status_code}"
    shopper.email = email
    return shopper


def login(live: LiveServer, email: str, password: str = PASSWORD) -> Shopper:
    """Another browser signing in to the same account: its own login session."""
    return Shopper(live.url).login(email, password)


@contextmanager
def server_database(live: LiveServer):
    """An app context on the live server's own database, for set-up and checks."""
    from config import TestingConfig
    from shop import create_app
    from shop.extensions import db

    config = type("DirectConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": live.database_url})
    app = create_app(config)
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()
            db.engine.dispose()


def make_product(live: LiveServer, stock: int = 10, threshold: int = 2, price_cents: int = 1500) -> int:
    """A fresh product, so that no other test moves its stock."""
    from shop.models import Product

    with server_database(live) as session:
        product = Product(
            name=f"Test kettle {next(_unique)}",
            description="A kettle made for one test.",
            price_cents=price_cents,
            stock=stock,
            low_stock_threshold=threshold,
        )
        session.add(product)
        session.commit()
        return product.id


def add_to_cart(shopper: Shopper, product_id: int, quantity: int = 1) -> None:
    response = shopper.post(f"/cart/add/{product_id}", {"quantity": quantity}, allow_redirects=False)
    assert response.status_code == 302, f"add to cart failed: {response.status_code}"


def checkout(shopper: Shopper):
    """Submit the checkout page's form (with an address); return the HTTP response."""
    form = checkout_fields(shopper.get("/checkout").text)
    return shopper.post("/checkout", form, allow_redirects=False)


def place_order(shopper: Shopper, product_id: int, quantity: int = 1) -> int:
    add_to_cart(shopper, product_id, quantity)
    response = checkout(shopper)
    assert response.status_code == 302, f"checkout failed: {response.status_code}"
    return int(ORDER_LOCATION.search(response.headers["Location"]).group(1))


def set_status(admin: Shopper, order_id: int, status: str, note: str = "") -> None:
    response = admin.post(
        f"/admin/orders/{order_id}/status", {"status": status, "note": note}, allow_redirects=False
    )
    assert response.status_code == 302, f"status change failed: {response.status_code}"


def set_stock(admin: Shopper, product_id: int, stock: int) -> None:
    response = admin.post(f"/admin/products/{product_id}/stock", {"stock": stock}, allow_redirects=False)
    assert response.status_code == 302, f"stock change failed: {response.status_code}"


def wait_disconnected(sock: LiveSocket, timeout: float = 10) -> None:
    """Wait until the server has closed this socket (fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while sock.client.connected:
        if time.monotonic() > deadline:
            raise AssertionError(f"the socket is still connected after {timeout}s")
        time.sleep(0.02)


def http_after_websocket(base_url: str) -> bytes:
    """Close a WebSocket cleanly, then write an HTTP request on the same TCP
    connection; return whatever the server answers before closing it."""
    ws = websocket.create_connection(
        base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=10
    )
    ws.recv()  # Engine.IO's open packet
    ws.send_close()
    while ws.recv_frame().opcode != websocket.ABNF.OPCODE_CLOSE:
        pass
    ws.sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = b""
    try:
        while chunk := ws.sock.recv(4096):
            answer += chunk
    except ConnectionResetError:
        pass
    finally:
        ws.sock.close()
    return answer
