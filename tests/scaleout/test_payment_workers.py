"""Payment steps on two workers sharing PostgreSQL and a Redis channel: an
admin's on worker A, and `flask orders set-payment` from a process of its own,
reach the owner's socket on worker B."""

import pytest

from testing.data import insert_product, insert_user
from testing.shopper import Shopper, admin_on
from testing.sockets import without_time

pytestmark = pytest.mark.scaleout


def test_payment_steps_from_a_worker_and_from_the_cli_reach_the_other_worker(
    two_workers, seeded_database, connect
):
    a, b = two_workers
    email = insert_user(seeded_database, "Pia")
    sock = connect(Shopper(b.url).login(email))
    admin_sock = connect(admin_on(b.url))
    order_id = (
        Shopper(a.url).login(email).order_paid_by(insert_product(seeded_database, stock=5), "bank_transfer")
    )

    assert admin_on(a.url).set_payment(order_id, "paid").status_code == 302
    refunded = a.cli("orders", "set-payment", str(order_id), "refunded", "--note", "Returned by post")
    assert refunded.returncode == 0, refunded.stderr

    steps = without_time(sock.wait_for("payment_status", count=2))
    assert steps == [
        {"order_id": order_id, "payment_status": "paid", "previous": "unpaid"},
        {"order_id": order_id, "payment_status": "refunded", "previous": "paid"},
    ]
    notes = sock.wait_for("notification", count=2)
    assert [(n["kind"], n["body"]) for n in notes] == [
        ("payment_status", ""),
        ("payment_status", "Returned by post"),
    ]
    assert without_time(admin_sock.wait_for("payment_status", count=2)) == steps
