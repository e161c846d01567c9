"""Web Push from a real eventlet server, its background runner planning and sending to a
push service in this process: nothing is called by hand here."""

import statistics
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from config import new_vapid_private_key, vapid_public_key
from shop.models import User
from testing.data import insert_user, write_notification
from testing.processes import free_port, page_times, wait_until
from testing.pushservice import SUBJECT, Device, PushService
from testing.server import LiveServer, prepare_database
from testing.shopper import Shopper

PRIVATE = new_vapid_private_key()
VAPID = {
    "VAPID_PRIVATE_KEY": PRIVATE,
    "VAPID_PUBLIC_KEY": vapid_public_key(PRIVATE),
    "VAPID_SUBJECT": SUBJECT,
}
RUNNER = {
    "BACKGROUND_POLL_SECONDS": "0.2",
    "NOTIFY_PUSH_DELAY_SECONDS": "1",
    "PUSH_ALLOW_LOCAL_ENDPOINTS": "1",
}


@pytest.fixture(scope="module")
def service() -> Iterator[PushService]:
    with PushService(VAPID["VAPID_PUBLIC_KEY"], SUBJECT) as push_service:
        yield push_service


def live_server(tmp_path_factory, **env: str) -> LiveServer:
    directory = tmp_path_factory.mktemp("push-live")
    url = f"sqlite:///{directory / 'live.db'}"
    prepare_database(url)
    return LiveServer(url, directory, port=free_port(), **VAPID, **RUNNER, **env).start()


def subscribed_shopper(server: LiveServer, device: Device) -> tuple[Shopper, int]:
    """A shopper whose browser turned push on through the route, as push.js does; its user id."""
    email = insert_user(server.database_url, "Robin")
    shopper = Shopper(server.url).login(email)
    token = shopper.csrf_token("/account/notifications")
    response = shopper.http.post(
        server.url + "/push/subscriptions",
        json=device.subscription(),
        headers={"X-CSRFToken": token},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    with server.database() as session:
        return shopper, session.scalar(select(User.id).where(User.email == email))


def notify(server: LiveServer, user_id: int, title: str) -> None:
    with server.database():
        write_notification(user_id, title, url="/orders")


def test_the_server_pushes_an_unseen_notification_by_itself_once(tmp_path_factory, service):
    device = service.new_device()
    with live_server(tmp_path_factory) as server:
        _, user_id = subscribed_shopper(server, device)
        notify(server, user_id, "Your order is on its way")
        wait_until(lambda: service.to(device), "the push")
        time.sleep(1)  # five more rounds of the runner: still one
        [received] = service.to(device)
        assert received.payload["title"] == "Your order is on its way"
        assert service.errors == [] and received.ttl > 0


def test_a_slow_push_service_never_slows_a_page(tmp_path_factory, service):
    """Pushes hang 8 s each on the push service (PUSH_TIMEOUT 20 s): the catalogue is served
    meanwhile as fast as before, give or take a lot of room."""
    device = service.new_device(delay=8)
    with live_server(tmp_path_factory, PUSH_TIMEOUT="20") as server:
        before = statistics.median(page_times(server.url + "/"))
        _, user_id = subscribed_shopper(server, device)
        for number in range(3):
            notify(server, user_id, f"Update {number}")
        wait_until(lambda: service.requests >= 1, "the sender to be held by the slow push service")
        during = statistics.median(page_times(server.url + "/"))
        still_held = service.to(device) == []
    assert still_held
    assert during < before * 5 + 0.05, (before, during)
