"""Many notifications in one transaction (notifications.notify_many): a product with
more watchers than one batch comes back in stock, on a SQLite file and on PostgreSQL.

Each watcher gets one notification with their own next seq, in statements per batch
rather than per watcher (5,000 watchers took 4.3 s of one writer's CPU; on SQLite the
whole event loop's), and two restocks with the same watchers at once neither deadlock
nor share a seq.
"""

from sqlalchemy import event, func, insert, select

from shop.extensions import db
from shop.models import Notification, StockWatch, User
from shop.services import catalog
from shop.services.notifications import NOTIFY_BATCH
from testing.apps import run_together
from testing.data import make_product, make_user

WATCHERS = NOTIFY_BATCH * 2 + 37  # three batches, the last one short


def many_users(count: int, earlier_notifications: int = 0) -> list[int]:
    rows = [
        {
            "email": f"w{n}@example.com",
            "name": f"W{n}",
            "password_hash": "x",
            "last_seq": earlier_notifications,
        }
        for n in range(count)
    ]
    db.session.execute(insert(User), rows)
    db.session.commit()
    return list(
        db.session.scalars(select(User.id).where(User.email.like("w%@example.com")).order_by(User.id))
    )


def watch_all(product_id: int, user_ids: list[int]) -> None:
    db.session.execute(insert(StockWatch), [{"user_id": u, "product_id": product_id} for u in user_ids])
    db.session.commit()


def statements_during(job) -> int:
    counted = []
    engine = db.engine

    def count(*_args):
        counted.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        job()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(counted)


def test_every_watcher_of_a_restock_gets_one_notification_with_their_next_seq(db_app):
    admin = make_user("admin@example.com", "Ada", admin=True)
    users = many_users(WATCHERS, earlier_notifications=4)
    kettle = make_product("Kettle", stock=0)
    watch_all(kettle.id, users)

    statements = statements_during(lambda: catalog.set_stock(kettle.id, 5, admin.id))

    db.session.rollback()
    rows = db.session.execute(
        select(Notification.user_id, Notification.seq, Notification.kind, Notification.data).where(
            Notification.kind == "back_in_stock"
        )
    ).all()
    assert sorted(user for user, *_ in rows) == users
    assert {seq for _, seq, *_ in rows} == {5}
    assert all(data == {"product_id": kettle.id, "stock": 5} for *_, data in rows)
    assert set(db.session.scalars(select(User.last_seq).where(User.id.in_(users)))) == {5}
    assert db.session.scalar(select(func.count()).select_from(StockWatch)) == 0
    assert statements < 40, f"{statements} statements for {WATCHERS} watchers"


def test_two_restocks_with_the_same_watchers_at_once_each_tell_everyone(db_app):
    """On PostgreSQL both lock the same users: in id order, so neither waits for the other in
    a cycle; the seqs each user gets are 1 and 2, whichever committed first."""
    admin = make_user("admin@example.com", "Ada", admin=True)
    users = many_users(NOTIFY_BATCH + 100)
    kettle, teapot = make_product("Kettle", stock=0), make_product("Teapot", stock=0)
    watch_all(kettle.id, users)
    watch_all(teapot.id, list(reversed(users)))
    kettle_id, teapot_id, admin_id = kettle.id, teapot.id, admin.id

    results = run_together(
        db_app,
        [
            lambda: catalog.set_stock(kettle_id, 3, admin_id),
            lambda: catalog.set_stock(teapot_id, 4, admin_id),
        ],
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    seqs: dict[int, list[int]] = {}
    for user_id, seq in db.session.execute(
        select(Notification.user_id, Notification.seq).where(Notification.kind == "back_in_stock")
    ):
        seqs.setdefault(user_id, []).append(seq)
    assert sorted(seqs) == users
    assert all(sorted(got) == [1, 2] for got in seqs.values())
