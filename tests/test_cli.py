"""The flask commands, run through the CLI runner against the test database."""

import pytest
from sqlalchemy import inspect, select

from shop import media
from shop.extensions import db
from shop.models import Category, Order, Product, ProductPhoto, User
from shop.seed import CATEGORIES, DEMO_ADMIN, DEMO_SHOPPER, PRODUCTS, TWO_PHOTOS
from testing.data import (
    count,
    make_order,
    make_product,
    make_user,
    notifications_of,
    set_session_times,
    stock_of,
)


def test_init_db_creates_the_tables(runner):
    db.drop_all()
    assert inspect(db.engine).get_table_names() == []

    result = runner.invoke(args=["init-db"])

    assert result.exit_code == 0, result.output
    assert "Database ready." in result.output
    assert set(inspect(db.engine).get_table_names()) == set(db.metadata.tables)


def test_seed_twice_adds_nothing_the_second_time(runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    photos = len(PRODUCTS) + len(TWO_PHOTOS)
    assert f"Seeded {2 + len(CATEGORIES) + len(PRODUCTS) + photos} new record(s)." in first.output
    # a shop to look at: every product with a photo on disk and a category, some with two
    assert count(ProductPhoto) == photos
    for product in db.session.scalars(select(Product)):
        assert product.categories and product.main_photo, product.name
        assert (
            media.root() / media.file_name(product.main_photo.key, product.main_photo.width, "webp")
        ).exists()
    assert count(Category) == len(CATEGORIES)
    products = count(Product)
    assert 25 <= products <= 40
    assert count(Product, Product.stock == 0) >= 1
    assert count(Product, Product.stock > 0, Product.stock <= Product.low_stock_threshold) >= 1
    admin = db.session.scalar(select(User).where(User.email == DEMO_ADMIN[0]))
    assert admin.is_admin and admin.check_password(DEMO_ADMIN[2])
    shopper = db.session.scalar(select(User).where(User.email == DEMO_SHOPPER[0]))
    assert not shopper.is_admin and shopper.check_password(DEMO_SHOPPER[2])

    second = runner.invoke(args=["seed"])

    assert second.exit_code == 0, second.output
    assert "Demo data already present." in second.output
    assert (count(Product), count(User), count(ProductPhoto)) == (products, 2, photos)


def test_seed_keeps_data_that_is_there(runner):
    runner.invoke(args=["seed"])
    product = db.session.scalar(select(Product).order_by(Product.id))
    product.stock = 123
    db.session.commit()

    runner.invoke(args=["seed"])

    assert stock_of(product) == 123


def test_create_admin_creates_an_account(runner):
    result = runner.invoke(
        args=["create-admin", "Boss@Example.com", "--name", "Boss"], input="a long passphrase\n" * 2
    )

    assert result.exit_code == 0, result.output
    assert "Boss@Example.com is an admin." in result.output
    user = db.session.scalar(select(User))
    assert (user.email, user.name, user.is_admin) == ("boss@example.com", "Boss", True)
    assert user.check_password("a long passphrase")


def test_create_admin_promotes_an_existing_account(runner, shopper):
    result = runner.invoke(args=["create-admin", "SHOPPER@example.com", "--password", "ignored-here"])

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    user = db.session.get(User, shopper.id)
    assert user.is_admin
    assert user.check_password("correct horse battery")
    assert count(User) == 1


def test_create_admin_refuses_a_short_password(runner):
    result = runner.invoke(args=["create-admin", "boss@example.com", "--password", "short"])
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output
    assert count(User) == 0


def test_orders_set_status(runner, admin, shopper):
    order = make_order(shopper, make_product())

    result = runner.invoke(args=["orders", "set-status", str(order.id), "processing", "--note", "From cron"])

    assert result.exit_code == 0, result.output
    assert f"Order #{order.id} is now processing." in result.output
    order = db.session.get(Order, order.id)
    assert order.status == "processing"
    assert (order.events[-1].actor_id, order.events[-1].note) == (admin.id, "From cron")
    assert [n.kind for n in notifications_of(shopper)] == ["order_status"]


def test_orders_set_status_names_the_actor(runner, admin, shopper):
    other_admin = make_user("admin2@example.com", "Bo", admin=True)
    order = make_order(shopper, make_product())

    runner.invoke(args=["orders", "set-status", str(order.id), "processing", "--actor", "ADMIN2@example.com"])

    assert db.session.get(Order, order.id).events[-1].actor_id == other_admin.id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["1", "delivered"], "cannot become delivered"),
        (["99", "processing"], "There is no such order."),
        (["1", "processing", "--actor", "shopper@example.com"], "No such admin"),
    ],
)
def test_orders_set_status_refusals(runner, admin, shopper, args, message):
    make_order(shopper, make_product())

    result = runner.invoke(args=["orders", "set-status", *args])

    assert result.exit_code == 1
    assert message in result.output
    assert db.session.get(Order, 1).status == "placed"


def test_orders_set_status_needs_an_admin(runner, shopper):
    make_order(shopper, make_product())
    result = runner.invoke(args=["orders", "set-status", "1", "processing"])
    assert result.exit_code == 1
    assert "create one with flask create-admin" in result.output


def test_stock_set(runner, admin):
    teapot = make_product("Teapot", stock=10)

    result = runner.invoke(args=["stock", "set", str(teapot.id), "0"])

    assert result.exit_code == 0, result.output
    assert "Teapot: stock 0." in result.output
    assert stock_of(teapot) == 0
    assert [n.title for n in notifications_of(admin)] == ["Out of stock: Teapot"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["1", "--", "-1"], 1, "Stock must be between 0 and"),
        (["99", "3"], 1, "There is no such product."),
        (["1", "abc"], 2, "is not a valid integer"),
    ],
)
def test_stock_set_refusals(runner, args, code, message):
    teapot = make_product(stock=10)
    result = runner.invoke(args=["stock", "set", *args])
    assert result.exit_code == code
    assert message in result.output
    assert stock_of(teapot) == 10


def test_prune_sessions_deletes_the_expired_login_sessions_of_every_account(runner, shopper, monkeypatch):
    from datetime import timedelta

    from shop.models import LoginSession, SocketConnection
    from shop.models.base import utcnow
    from shop.realtime import publisher
    from shop.services import accounts

    closed = []
    monkeypatch.setattr(publisher, "disconnect", closed.append)
    other = make_user("other@example.com", "Oz")
    idle, old, live, others_old = (
        accounts.start_session(user.id) for user in (shopper, shopper, shopper, other)
    )
    now = utcnow()
    set_session_times(idle, last_seen_at=now - timedelta(days=15))
    set_session_times(old, created_at=now - timedelta(days=31))
    set_session_times(others_old, created_at=now - timedelta(days=40), last_seen_at=now)
    db.session.add(SocketConnection(sid="idle-tab", user_id=shopper.id, login_token=idle))
    db.session.commit()

    result = runner.invoke(args=["prune-sessions"])

    assert result.exit_code == 0, result.output
    assert "Pruned 3 expired login session(s)." in result.output
    assert set(db.session.scalars(select(LoginSession.token))) == {live}
    assert closed == ["idle-tab"]
    assert count(SocketConnection) == 0

    again = runner.invoke(args=["prune-sessions"])
    assert "Pruned 0 expired login session(s)." in again.output
