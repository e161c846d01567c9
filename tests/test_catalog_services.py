"""Stock, back-in-stock watches and notification rows, through the services."""

import pytest
from sqlalchemy.exc import IntegrityError

from shop.extensions import db
from shop.models import Notification, StockWatch
from shop.services import catalog, notifications
from shop.services.errors import InvalidInput, InvalidTransition, NotFound
from shop.services.orders import cancel_order, change_status
from testing.data import count, make_order, make_product, make_user, notifications_of, stock_of


def kinds(user) -> list[str]:
    return [n.kind for n in notifications_of(user)]


# set_stock and the rows it writes ----------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "title"),
    [
        (10, 3, "Running low: Teapot"),  # crosses the threshold (3) from above
        (10, 1, "Running low: Teapot"),
        (4, 3, "Running low: Teapot"),
        (10, 0, "Out of stock: Teapot"),
        (2, 0, "Out of stock: Teapot"),  # already low, now gone
    ],
)
def test_low_stock_rows_for_every_admin(admin, before, after, title):
    other_admin = make_user("admin2@example.com", "Bo", admin=True)
    shopper = make_user()
    teapot = make_product("Teapot", stock=before, threshold=3)

    catalog.set_stock(teapot.id, after)

    assert stock_of(teapot) == after
    for each in (admin, other_admin):
        [note] = notifications_of(each)
        assert (note.kind, note.title) == ("low_stock", title)
        assert note.data == {"product_id": teapot.id, "stock": after}
    assert notifications_of(shopper) == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (10, 4),  # lower, still above the threshold
        (3, 2),  # already below: no second warning
        (2, 3),  # going up
        (10, 10),  # no change
        (0, 0),
        (1, 2),
    ],
)
def test_no_rows_when_nothing_crosses(admin, before, after):
    teapot = make_product(stock=before, threshold=3)
    catalog.set_stock(teapot.id, after)
    assert stock_of(teapot) == after
    assert count(Notification) == 0


def test_back_in_stock_tells_every_watcher_once_and_clears_watches(admin):
    first = make_user("first@example.com", "Fi")
    second = make_user("second@example.com", "Se")
    bystander = make_user("by@example.com", "By")
    teapot = make_product("Teapot", stock=0)
    catalog.watch(first.id, teapot.id)
    catalog.watch(second.id, teapot.id)

    catalog.set_stock(teapot.id, 6)

    for watcher in (first, second):
        [note] = notifications_of(watcher)
        assert (note.kind, note.title, note.url) == (
            "back_in_stock",
            "Back in stock: Teapot",
            f"/products/{teapot.id}",
        )
        assert note.data == {"product_id": teapot.id, "stock": 6}
    assert notifications_of(bystander) == []
    assert notifications_of(admin) == []
    assert count(StockWatch) == 0

    catalog.set_stock(teapot.id, 0)
    catalog.set_stock(teapot.id, 2)
    assert len(notifications_of(first)) == 1


def test_back_in_stock_after_a_cancelled_order(admin):
    shopper = make_user()
    watcher = make_user("watcher@example.com", "Wa")
    teapot = make_product("Teapot", stock=1)
    order = make_order(shopper, teapot, 1)
    catalog.watch(watcher.id, teapot.id)

    cancel_order(order.id, shopper.id)

    assert kinds(watcher) == ["back_in_stock"]


@pytest.mark.parametrize("stock", [-1, 1_000_001])
def test_stock_out_of_range_is_refused(admin, stock):
    teapot = make_product(stock=5)
    with pytest.raises(InvalidInput):
        catalog.set_stock(teapot.id, stock)
    assert stock_of(teapot) == 5


def test_the_database_refuses_negative_stock(app):
    teapot = make_product(stock=1)
    teapot.stock = -1
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert stock_of(teapot) == 1


def test_set_stock_of_a_missing_product(app):
    with pytest.raises(NotFound):
        catalog.set_stock(999, 3)


# watch / unwatch ---------------------------------------------------------------


def test_watch_twice_keeps_one_watch_and_unwatch_removes_it(shopper):
    teapot = make_product(stock=0)
    catalog.watch(shopper.id, teapot.id)
    catalog.watch(shopper.id, teapot.id)
    assert count(StockWatch) == 1
    assert catalog.is_watching(shopper.id, teapot.id)

    catalog.unwatch(shopper.id, teapot.id)
    catalog.unwatch(shopper.id, teapot.id)
    assert count(StockWatch) == 0
    assert not catalog.is_watching(shopper.id, teapot.id)


def test_watching_a_product_in_stock_is_refused(shopper):
    teapot = make_product(stock=2)
    with pytest.raises(InvalidInput, match="is in stock"):
        catalog.watch(shopper.id, teapot.id)
    assert count(StockWatch) == 0


def test_watching_a_missing_product(shopper):
    with pytest.raises(NotFound):
        catalog.watch(shopper.id, 999)


# notification seqs and reading ---------------------------------------------------


def test_seqs_run_1_2_3_per_user_without_gaps(shopper, admin):
    teapot = make_product(stock=100, threshold=0)
    for n in range(3):
        make_order(shopper, teapot, 1, key=f"k{n}")
    change_status(1, "processing", admin.id)
    change_status(2, "cancelled", admin.id)

    assert [n.seq for n in notifications_of(admin)] == [1, 2, 3]
    assert [n.seq for n in notifications_of(shopper)] == [1, 2]
    assert notifications.last_seq(admin.id) == 3


def test_a_refused_change_uses_no_seq(shopper, admin):
    teapot = make_product(stock=5, threshold=0)
    order = make_order(shopper, teapot, 1)
    with pytest.raises(InvalidTransition):
        change_status(order.id, "delivered", admin.id)
    change_status(order.id, "processing", admin.id)

    assert [n.seq for n in notifications_of(shopper)] == [1]


def test_mark_read_up_to_a_seq(shopper, admin):
    teapot = make_product(stock=100, threshold=0)
    for n in range(4):
        make_order(shopper, teapot, 1, key=f"k{n}")
    assert notifications.unread_count(admin.id) == 4

    assert notifications.mark_read(admin.id, 2) == 2
    assert [n.read for n in notifications_of(admin)] == [True, True, False, False]
    assert notifications.mark_read(admin.id, 99) == 0
    assert notifications.unread_count(admin.id) == 0


def test_mark_read_touches_only_the_users_rows(shopper, admin):
    other_admin = make_user("admin2@example.com", "Bo", admin=True)
    make_order(shopper, make_product(stock=100, threshold=0))

    notifications.mark_read(admin.id, 10)

    assert notifications.unread_count(other_admin.id) == 1


def test_notifications_after_a_seq_in_order(shopper, admin):
    teapot = make_product(stock=100, threshold=0)
    for n in range(5):
        make_order(shopper, teapot, 1, key=f"k{n}")
    missed = notifications.catch_up(admin.id, 2, is_admin=True)["notifications"]
    assert [n["seq"] for n in missed] == [3, 4, 5]
