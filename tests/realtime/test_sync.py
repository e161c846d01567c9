"""A client that was away catches up through `sync`: everything, in order, no gaps."""

from sqlalchemy import select

from shop.services.notifications import SYNC_LIMIT
from testing.data import insert_product
from testing.shopper import Shopper


def user_id_of(live, email: str) -> int:
    from shop.models import User

    with live.database() as session:
        return session.scalar(select(User.id).where(User.email == email))


def write_notifications(live, user_id: int, count: int) -> None:
    """Notification rows straight through the service, in one transaction."""
    from shop.services.notifications import notify
    from shop.services.transaction import write_transaction

    with live.database(), write_transaction() as session:
        for number in range(count):
            notify(session, user_id, "order_status", f"Note {number + 1}")


def test_changes_made_while_away_arrive_through_sync(live, admin_http, connect):
    owner = Shopper(live.url).register("Ada")
    order_id = owner.place_order(insert_product(live.database_url))
    sock = connect(owner)
    admin_http.set_status(order_id, "processing")
    [seen] = sock.wait_for("notification")
    sock.close()

    for status in ("shipped", "delivered"):
        admin_http.set_status(order_id, status)
    back = connect(owner)
    missed = back.call("sync", {"after_seq": seen["seq"]})

    assert missed["ok"] is True
    assert [n["seq"] for n in missed["notifications"]] == [seen["seq"] + 1, seen["seq"] + 2]
    assert [n["data"]["status"] for n in missed["notifications"]] == ["shipped", "delivered"]
    assert missed["last_seq"] == seen["seq"] + 2
    assert missed["more"] is False
    assert missed["unread"] == 3
    assert back.events == []  # what happened while away was pushed to no one


def test_three_changes_while_disconnected_come_back_in_order(live, admin_http, connect):
    owner = Shopper(live.url).register("Dan")
    order_id = owner.place_order(insert_product(live.database_url))
    sock = connect(owner)
    before = sock.call("sync", {"after_seq": 0})
    assert before["last_seq"] == 0
    sock.close()

    for status in ("processing", "shipped", "delivered"):
        admin_http.set_status(order_id, status)
    back = connect(owner)
    missed = back.call("sync", {"after_seq": before["last_seq"]})

    notes = missed["notifications"]
    assert [n["seq"] for n in notes] == [1, 2, 3]
    assert [(n["data"]["previous_status"], n["data"]["status"]) for n in notes] == [
        ("placed", "processing"),
        ("processing", "shipped"),
        ("shipped", "delivered"),
    ]
    assert all(n["kind"] == "order_status" and n["data"]["order_id"] == order_id for n in notes)
    assert (missed["last_seq"], missed["more"], missed["unread"]) == (3, False, 3)
    # Asking again from the last seq seen gives nothing new: no duplicates.
    again = back.call("sync", {"after_seq": 3})
    assert (again["notifications"], again["last_seq"], again["more"]) == ([], 3, False)


def test_sync_pages_through_a_long_absence(live, connect):
    owner = Shopper(live.url).register("Pat")
    total = SYNC_LIMIT + 7
    write_notifications(live, user_id_of(live, owner.email), total)
    sock = connect(owner)

    first = sock.call("sync", {"after_seq": 0})
    second = sock.call("sync", {"after_seq": first["notifications"][-1]["seq"]})

    assert len(first["notifications"]) == SYNC_LIMIT
    assert (first["more"], first["last_seq"]) == (True, total)
    assert (second["more"], second["last_seq"]) == (False, total)
    seqs = [n["seq"] for n in first["notifications"] + second["notifications"]]
    assert seqs == list(range(1, total + 1))
    assert [n["title"] for n in second["notifications"]][-1] == f"Note {total}"
    assert first["unread"] == total
