"""Two eventlet workers on one PostgreSQL database, both running the background runner
and sending to one SMTP server: every email once, and a killed worker's claim taken over."""

import signal
from collections import Counter
from collections.abc import Iterator

import pytest

from testing.data import insert_product, insert_user
from testing.processes import wait_until
from testing.server import LiveServer
from testing.services import query
from testing.shopper import Shopper
from testing.smtp import Mailbox, SilentServer

pytestmark = pytest.mark.scaleout
RUNNER = {"BACKGROUND_POLL_SECONDS": "0.1"}


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with Mailbox() as box:
        yield box


def unsent(database_url: str) -> int:
    [(count,)] = query(database_url, "SELECT count(*) FROM mail_deliveries WHERE status != 'sent'")
    return count


def delivery_of(database_url: str, order_id: int) -> tuple[str, int]:
    [(status, attempts)] = query(
        database_url, "SELECT status, attempts FROM mail_deliveries WHERE order_id = %s", order_id
    )
    return status, attempts


def test_two_workers_send_each_confirmation_once(seeded_database, tmp_path, mailbox):
    workers = [LiveServer(seeded_database, tmp_path, **RUNNER, **mailbox.env()) for _ in range(2)]
    try:
        for worker in workers:
            worker.start()
        shoppers = [
            Shopper(workers[n % 2].url).login(insert_user(seeded_database, f"P{n}")) for n in range(10)
        ]
        product = insert_product(seeded_database, stock=100)
        orders = [shopper.place_order(product) for shopper in shoppers for _ in range(3)]
        wait_until(lambda: len(mailbox.messages) >= len(orders), "every confirmation", timeout=60)
        # Accepted by SMTP first, then marked sent: wait for the marks before stopping the workers.
        wait_until(lambda: not unsent(seeded_database), "every confirmation marked sent")
    finally:
        for worker in workers:
            worker.stop()
    ids = Counter(mailbox.message_ids())
    assert len(ids) == len(orders) and set(ids.values()) == {1}
    assert sorted(m["Subject"] for m in mailbox.messages) == sorted(
        f"Your order #{o} is placed" for o in orders
    )


def test_a_worker_killed_mid_send_leaves_the_email_to_the_other(seeded_database, tmp_path, mailbox):
    """Worker A hangs on a mail server that never answers, then is killed -9: after its
    lease, worker B sends that email, with the Message-ID it had."""
    with SilentServer() as silent:
        hanging = {key: str(value) for key, value in silent.settings(timeout=60).items()}
        victim = LiveServer(seeded_database, tmp_path, **RUNNER, **hanging, MAIL_LEASE_SECONDS="3").start()
        try:
            shopper = Shopper(victim.url).login(insert_user(seeded_database, "Kim"))
            order_id = shopper.place_order(insert_product(seeded_database))
            wait_until(lambda: silent.accepted, "worker A to be stuck sending")
            victim.stop(signal.SIGKILL)
        finally:
            victim.stop()
    [(message_id, attempts)] = query(
        seeded_database, "SELECT message_id, attempts FROM mail_deliveries WHERE order_id = %s", order_id
    )
    assert attempts == 1
    with LiveServer(seeded_database, tmp_path, **RUNNER, **mailbox.env(), MAIL_LEASE_SECONDS="3").start():
        [message] = mailbox.wait_for(1, "the email, from worker B")
        # As above: stopping B between the two would leave the email due again.
        wait_until(lambda: delivery_of(seeded_database, order_id)[0] == "sent", "worker B to mark it sent")
    assert message["Message-ID"] == message_id
    assert message["Subject"] == f"Your order #{order_id} is placed"
    assert delivery_of(seeded_database, order_id) == ("sent", 2)
    assert len(mailbox.messages) == 1
