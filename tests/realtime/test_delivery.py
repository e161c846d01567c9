"""What makes delivery whole beyond the seq gap check: the epoch and position in
sync and on every page, a position push that reveals a lost last push, sync
filtered by current rights, and demoted admins."""

import re

import pytest
from sqlalchemy import text

from shop.seed import DEMO_ADMIN
from tests.live import Shopper
from tests.realtime.conftest import (
    login,
    make_product,
    place_order,
    register,
    server_database,
    set_status,
    start_server,
)

POSITION = re.compile(r'data-last-seq="(\d+)" data-epoch="([0-9a-f]+)"')


def page_position(shopper: Shopper, path: str = "/orders") -> tuple[int, str]:
    seq, epoch = POSITION.search(shopper.get(path).text).groups()
    return int(seq), epoch


@pytest.fixture(scope="module")
def checking(tmp_path_factory):
    """A server that checks positions every second."""
    server = start_server(tmp_path_factory, POSITION_CHECK_SECONDS="1")
    yield server
    server.stop()


def test_sync_answers_the_epoch_and_the_position_it_covers(live, connect):
    shopper = register(live, "Eve")
    order_id = place_order(shopper, make_product(live))
    admin = Shopper(live.url).login(DEMO_ADMIN[0], DEMO_ADMIN[2])
    admin.post(f"/admin/orders/{order_id}/status", {"status": "processing"})
    sock = connect(shopper)

    ack = sock.call("sync", {"after_seq": 0})

    top, epoch = page_position(shopper)
    assert (ack["last_seq"], ack["up_to_seq"], ack["epoch"]) == (1, 1, epoch)
    assert top == 1
    assert sock.call("sync", {"after_seq": 1})["up_to_seq"] == 1
    assert sock.call("sync", {"after_seq": 99})["up_to_seq"] == 1  # past the top: the database was reset


def test_every_user_has_an_epoch_of_their_own(live):
    first, second = register(live, "Ann"), register(live, "Ben")
    assert page_position(first)[1] != page_position(second)[1]


def test_a_notification_written_without_its_push_is_announced_by_a_position(checking, connect):
    """The last push lost: a row committed with no emit (as when a worker dies between
    the two). Nothing later reveals the gap, but the position check does."""
    shopper = register(checking, "Lou")
    sock = connect(shopper)
    sock.wait_for("position", timeout=10)  # the first check tells every new connection
    with server_database(checking) as session:
        user_id = session.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": shopper.email})
        session.execute(
            text(
                "INSERT INTO notifications (user_id, seq, kind, title, body, url, data, created_at, read)"
                " VALUES (:u, 1, 'order_status', 'Lost', '', '', '{}', '2026-12-01 00:00:00', false)"
            ),
            {"u": user_id},
        )
        session.execute(text("UPDATE users SET last_seq = 1 WHERE id = :u"), {"u": user_id})
        session.commit()

    positions = sock.wait_for("position", count=2, timeout=10)

    assert positions[-1]["top_seq"] == 1
    assert [n["title"] for n in sock.call("sync", {"after_seq": 0})["notifications"]] == ["Lost"]


def test_a_demoted_admin_leaves_the_admins_room_and_syncs_past_admin_news(checking, connect):
    email = register(checking, "Dora").email
    assert checking.cli("create-admin", email, "--password", "unused-password").returncode == 0
    dora = login(checking, email)
    sock = connect(dora)
    boss = Shopper(checking.url).login(DEMO_ADMIN[0], DEMO_ADMIN[2])
    buyer = register(checking, "Bert")
    theirs = place_order(buyer, make_product(checking))  # new_order news for every admin, Dora included
    assert [n["kind"] for n in sock.wait_for("notification")] == ["new_order"]

    demoted = checking.cli("demote-admin", email)
    assert demoted.returncode == 0, demoted.stderr
    hers = place_order(dora, make_product(checking))
    set_status(boss, hers, "processing")  # seq 2 for Dora: the next check tells her, having demoted her
    sock.wait_for("notification", count=2)
    while sock.wait_for("position", count=len(sock.of("position")) + 1, timeout=10)[-1]["top_seq"] < 2:
        pass
    before = len(sock.of("order_status"))
    set_status(boss, theirs, "processing")  # to the owner and the admins room
    set_status(boss, hers, "shipped")  # the barrier: to Dora's own room, after the one above

    statuses = sock.wait_for("order_status", count=before + 1)
    assert [s["order_id"] for s in statuses[before:]] == [hers]
    ack = sock.call("sync", {"after_seq": 0})
    assert [n["kind"] for n in ack["notifications"]] == ["order_status", "order_status"]  # no admin news
    assert ack["up_to_seq"] == ack["last_seq"] == 3
