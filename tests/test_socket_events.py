"""Socket event handlers in-process (Flask-SocketIO's test client): limits that
need more messages than the live server's rate limit lets a test send.

On a SQLite file: each event gives its connection back to the pool once it
has answered, and the thread that writes the socket's row works beside it;
on the in-memory database every one of them shares a single connection.
"""

import pytest

from shop.extensions import socketio
from shop.sockets.guard import MAX_PRODUCT_ROOMS
from testing.apps import app_with_tables
from testing.data import make_product


@pytest.fixture
def app(tmp_path):
    with app_with_tables(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'shop.db'}", SOCKET_EVENT_BURST=1000
    ) as app:
        yield app


def test_a_connection_follows_at_most_the_limit_of_products(app, client, auth, shopper):
    products = [make_product(f"Tin {number:03}").id for number in range(MAX_PRODUCT_ROOMS + 1)]
    auth.login()
    socket = socketio.test_client(app, flask_test_client=client)

    def subscribe(product_id):
        return socket.emit("subscribe_product", {"product_id": product_id}, callback=True)

    assert all(subscribe(product)["ok"] for product in products[:-1])
    assert subscribe(products[0])["ok"], "following a followed product again is no new room"
    refused = subscribe(products[-1])
    assert refused["ok"] is False
    assert refused["error"]["code"] == "invalid_input"

    assert socket.emit("unsubscribe_product", {"product_id": products[0]}, callback=True)["ok"]
    assert subscribe(products[-1])["ok"]
    socket.disconnect()
