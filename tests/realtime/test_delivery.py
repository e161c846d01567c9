"""What makes delivery whole beyond the seq gap check: the epoch and position in
sync and on every page, a position push that reveals a lost last push, sync
filtered by current rights, and demoted admins."""

import re

import pytest
from sqlalchemy import text

from testing.data import insert_product
from testing.metrics import sample, scrape
from testing.processes import wait_until
from testing.server import start_server
from testing.shopper import Shopper, admin_on

POSITION = re.compile(r'data-last-seq="(\d+)" data-epoch="([0-9a-f]+)"')


def page_position(shopper: Shopper, path: str = "/orders") -> tuple[int, str]:
    seq, epoch = POSITION.search(shopper.get(path).text).groups()
    return int(seq), epoch


@pytest.fixture(scope="module")
def checking(tmp_path_factory):
    """A server that checks positions every second."""
    with start_server(tmp_path_factory, POSITION_CHECK_SECONDS="1") as server:
        yield server


def test_sync_answers_the_epoch_and_the_position_it_covers(live, connect):
    shopper = Shopper(live.url).register("Eve")
    order_id = shopper.place_order(insert_product(live.database_url))
    admin_on(live.url).set_status(order_id, "processing")
    sock = connect(shopper)

    ack = sock.call("sync", {"after_seq": 0})

    top, epoch = page_position(shopper)
    assert (ack["last_seq"], ack["up_to_seq"], ack["epoch"]) == (1, 1, epoch)
    assert top == 1
    assert sock.call("sync", {"after_seq": 1})["up_to_seq"] == 1
    assert sock.call("sync", {"after_seq": 99})["up_to_seq"] == 1  # past the top: the database was reset


def test_every_user_has_an_epoch_of_their_own(live):
    first, second = Shopper(live.url).register("Ann"), Shopper(live.url).register("Ben")
    assert page_position(first)[1] != page_position(second)[1]


def test_a_notification_written_without_its_push_is_announced_by_a_position(checking, connect):
    """The last push lost: a row committed with no emit (as when a worker dies between
    the two). Nothing later reveals the gap, but the position check does."""
    shopper = Shopper(checking.url).register("Lou")
    sock = connect(shopper)
    sock.wait_for("position", timeout=10)  # the first check tells every new connection
    with checking.database() as session:
        user_id = session.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": shopper.email})
        session.execute(
            text(
                # pushed: emitted and lost on the way (what the relay cannot see, the position check does)
                "INSERT INTO notifications"
                " (user_id, seq, kind, title, body, url, data, created_at, read, pushed)"
                " VALUES (:u, 1, 'order_status', 'Lost', '', '', '{}', '2026-12-01 00:00:00', false, true)"
            ),
            {"u": user_id},
        )
        session.execute(text("UPDATE users SET last_seq = 1 WHERE id = :u"), {"u": user_id})
        session.commit()

    positions = sock.wait_for("position", count=2, timeout=10)

    assert positions[-1]["top_seq"] == 1
    assert [n["title"] for n in sock.call("sync", {"after_seq": 0})["notifications"]] == ["Lost"]


def test_a_feed_change_written_without_its_push_is_announced_to_admins_by_a_position(checking, connect):
    """The admins' feed has its position check too: a change row whose push was lost."""
    sock = connect(admin_on(checking.url))
    first = sock.call("admin_sync", {"after": 0})["head"]  # a new page syncs on connect: no position push
    lost = (
        "INSERT INTO admin_changes (position, kind, entity_id, version, actor, summary, data, created_at)"
        " VALUES (:p, 'product', 1, 9, 'Lost', 'lost push', '{}', '2026-12-01 00:00:00')"
    )
    with checking.database() as session:
        session.execute(text(lost), {"p": first + 1})
        session.commit()

    told = sock.wait_for_match("admin_position", lambda p: p["position"] == first + 1, timeout=10)

    assert told == {"position": first + 1}
    assert [c["summary"] for c in sock.call("admin_sync", {"after": first})["changes"]] == ["lost push"]


def test_a_demoted_admin_leaves_the_admins_room_and_syncs_past_admin_news(checking, connect):
    email = Shopper(checking.url).register("Dora").email
    assert checking.cli("create-admin", email, "--password", "unused-password").returncode == 0
    dora = Shopper(checking.url).login(email)
    sock = connect(dora)
    boss = admin_on(checking.url)
    buyer = Shopper(checking.url).register("Bert")
    theirs = buyer.place_order(insert_product(checking.database_url))  # new_order news for every admin
    assert [n["kind"] for n in sock.wait_for("notification")] == ["new_order"]

    demoted = checking.cli("demote-admin", email)
    assert demoted.returncode == 0, demoted.stderr
    hers = dora.place_order(insert_product(checking.database_url))
    boss.set_status(hers, "processing")  # seq 2 for Dora: the next check tells her, having demoted her
    sock.wait_for("notification", count=2)
    while sock.wait_for("position", count=len(sock.of("position")) + 1, timeout=10)[-1]["top_seq"] < 2:
        pass
    before = len(sock.of("order_status"))
    boss.set_status(theirs, "processing")  # to the owner and the admins room
    boss.set_status(hers, "shipped")  # the barrier: to Dora's own room, after the one above

    statuses = sock.wait_for("order_status", count=before + 1)
    assert [s["order_id"] for s in statuses[before:]] == [hers]
    ack = sock.call("sync", {"after_seq": 0})
    assert [n["kind"] for n in ack["notifications"]] == ["order_status", "order_status"]  # no admin news
    assert ack["up_to_seq"] == ack["last_seq"] == 3


def test_the_position_check_counts_its_rounds_and_the_users_it_looked_up(checking, connect):
    sock = connect(Shopper(checking.url).register("Mia"))
    sock.wait_for("position", timeout=10)

    def checked(name: str) -> float:
        return sample(scrape(checking.url), name)

    first = checked("shop_position_check_seconds_count")
    wait_until(
        lambda: (
            checked("shop_position_check_seconds_count") > first and checked("shop_position_check_users") == 1
        ),
        "a round more, over the one user connected",
        30,
    )
    assert checked("shop_position_check_seconds_sum") > 0
