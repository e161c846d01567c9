"""A change that rolls back tells nobody; a committed one tells its rooms."""

import threading
from collections.abc import Iterator

import pytest
import requests
from werkzeug.serving import make_server

from shop.seed import DEMO_SHOPPER
from shop.services.errors import OutOfStock
from testing.apps import make_config
from testing.data import insert_product
from testing.server import prepare_database
from testing.shopper import Shopper
from testing.sockets import LiveSocket, without_time

FIRST_PRODUCT = 1


def test_a_checkout_that_rolls_back_pushes_nothing(live, admin_http, connect):
    """The first product's stock is taken inside the transaction before the
    second one turns out short; the rollback must take the push with it."""
    first, second = insert_product(live.database_url, stock=10), insert_product(live.database_url, stock=5)
    assert first < second  # stock is taken in product-id order
    shopper = Shopper(live.url).register("Rory")
    shopper.add_to_cart(first, 1)
    shopper.add_to_cart(second, 3)
    viewer = connect(Shopper(live.url).register("Val"))
    viewer.call("subscribe_product", {"product_id": first})
    admin_sock = connect(admin_http)
    admin_http.set_stock(second, 2)  # someone else bought them meanwhile

    refused = shopper.checkout()
    assert refused.status_code == 409
    assert "only 2 left" in refused.text

    shopper.post(f"/cart/remove/{second}", allow_redirects=False)
    placed = shopper.checkout()
    assert placed.status_code == 302
    order_id = int(placed.headers["Location"].rsplit("/", 1)[1])

    # The first stock event the viewer sees is the successful checkout's 10 -> 9.
    assert without_time(viewer.wait_for("stock")) == [{"product_id": first, "stock": 9, "in_stock": True}]
    admin_sock.wait_for("notification", count=2)  # low stock for `second`, then the order
    new_orders = [n for n in admin_sock.of("notification") if n["kind"] == "new_order"]
    assert [n["data"]["order_id"] for n in new_orders] == [order_id]
    assert [n["kind"] for n in admin_sock.of("notification")] == ["low_stock", "new_order"]


@pytest.fixture
def threaded_shop(tmp_path) -> Iterator:
    """The app in threading mode, served in this process by Werkzeug, so the
    test can drive the publisher's session directly."""
    from shop import create_app

    url = f"sqlite:///{tmp_path / 'threaded.db'}"
    prepare_database(url)
    app = create_app(make_config(SQLALCHEMY_DATABASE_URI=url, SOCKETIO_ASYNC_MODE="threading"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture
def subscriber(threaded_shop) -> Iterator[LiveSocket]:
    """A logged-in socket on the threaded server, following the first product."""
    _app, url = threaded_shop
    http = requests.Session()
    form = {"email": DEMO_SHOPPER[0], "password": DEMO_SHOPPER[2]}
    assert http.post(url + "/auth/login", data=form, allow_redirects=False, timeout=10).status_code == 302
    sock = LiveSocket(url, "; ".join(f"{c.name}={c.value}" for c in http.cookies))
    assert sock.call("subscribe_product", {"product_id": FIRST_PRODUCT})["ok"] is True
    yield sock
    sock.close()


def test_the_publisher_sends_only_after_commit(threaded_shop, subscriber):
    from shop.extensions import db
    from shop.realtime import publisher
    from shop.services.transaction import write_transaction

    app, _url = threaded_shop
    with app.app_context():
        publisher.queue_stock(db.session, FIRST_PRODUCT, 111)
        db.session.rollback()
        with pytest.raises(OutOfStock), write_transaction() as session:
            publisher.queue_stock(session, FIRST_PRODUCT, 222)
            raise OutOfStock("the change failed after queueing its push")
        with write_transaction() as session:
            publisher.queue_stock(session, FIRST_PRODUCT, 333)
            publisher.queue_stock(session, FIRST_PRODUCT, 334)
            assert subscriber.of("stock") == []  # queued, not sent: the commit is still to come

    assert without_time(subscriber.wait_for("stock", count=2)) == [
        {"product_id": FIRST_PRODUCT, "stock": 333, "in_stock": True},
        {"product_id": FIRST_PRODUCT, "stock": 334, "in_stock": True},
    ]
