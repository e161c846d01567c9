"""The Alembic migrations build the same schema as the models."""

import pytest
from sqlalchemy import BigInteger, inspect

from shop import create_app
from shop.extensions import db
from shop.models import StockWatch
from tests.conftest import fill_cart, make_config, make_product, make_user, snapshot

INITIAL = "c186789e14da"
# Tables whose model has columns a later revision adds: the ORM cannot read them at INITIAL.
LATER_COLUMNS = ("login_sessions", "orders")
# Tables a later revision adds.
LATER_TABLES = ("addresses", "shipping_methods", "order_deliveries", "order_payment_events")
ORDER_COLUMNS_AT_INITIAL = "id, user_id, status, total_cents, idempotency_key, created_at, updated_at"


@pytest.fixture
def migrated(tmp_path):
    """An app on a fresh SQLite file, upgraded with `flask db upgrade`."""
    app = create_app(make_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrated.db'}"))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    yield app, runner
    with app.app_context():
        db.engine.dispose()


def schema(engine) -> dict[str, set[tuple]]:
    """Table -> its columns (name, nullable), unique constraints and indexes, as the database reports them."""
    inspector = inspect(engine)
    tables = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        columns = {("column", c["name"], c["nullable"]) for c in inspector.get_columns(table)}
        uniques = {("unique", tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)}
        indexes = {
            ("index", tuple(i["column_names"]), bool(i["unique"])) for i in inspector.get_indexes(table)
        }
        checks = {("check", c["name"]) for c in inspector.get_check_constraints(table)}
        tables[table] = columns | uniques | indexes | checks
    return tables


def test_upgrade_builds_the_tables_the_models_describe(migrated, tmp_path):
    app, _ = migrated
    with app.app_context():
        from_migrations = schema(db.engine)
        db.engine.dispose()
    models_app = create_app(make_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'models.db'}"))
    with models_app.app_context():
        db.create_all()
        from_models = schema(db.engine)
        db.engine.dispose()

    assert set(from_migrations) == set(db.metadata.tables)
    assert from_migrations == from_models


def test_alembic_sees_no_difference(migrated):
    _, runner = migrated
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_downgrade_and_upgrade_again(migrated):
    app, runner = migrated
    assert runner.invoke(args=["db", "downgrade", "base"]).exit_code == 0
    with app.app_context():
        assert inspect(db.engine).get_table_names() == ["alembic_version"]
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with app.app_context():
        assert set(inspect(db.engine).get_table_names()) == {*db.metadata.tables, "alembic_version"}


def cents_columns(tables) -> dict[str, object]:
    """Every money column ("..._cents"), as "table.column" -> its type."""
    return {
        f"{table}.{column['name']}": column["type"]
        for table, columns in tables.items()
        for column in columns
        if column["name"].endswith("_cents")
    }


def test_every_money_column_is_a_bigint(migrated):
    """A 32-bit INTEGER stops at 2**31 - 1 cents; the models and the migrated schema use BIGINT."""
    app, _ = migrated
    models = {
        t.name: [{"name": c.name, "type": c.type} for c in t.columns] for t in db.metadata.sorted_tables
    }
    with app.app_context():
        inspector = inspect(db.engine)
        migrated_columns = {t: inspector.get_columns(t) for t in inspector.get_table_names()}
    for found in (cents_columns(models), cents_columns(migrated_columns)):
        assert set(found) == {
            "products.price_cents",
            "orders.items_cents",
            "orders.shipping_cents",
            "orders.total_cents",
            "order_items.unit_price_cents",
            "shipping_methods.price_cents",
            "shipping_methods.free_from_cents",
        }
        assert all(isinstance(kind, BigInteger) for kind in found.values()), found


def test_upgrading_a_database_in_use_keeps_every_row(tmp_path):
    """On SQLite, batch mode copies each table it alters and drops the old one:
    with foreign keys on, that drop would cascade into the rows referring to it
    (altering `orders` deleted every order item and event)."""
    from sqlalchemy import text

    app = create_app(make_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'in-use.db'}"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", INITIAL]).exit_code == 0
    with app.app_context():
        shopper, _ = make_user(), make_user("admin@example.com", "Ada", admin=True)
        teapot, kettle = make_product("Teapot", stock=10), make_product("Kettle", stock=0)
        insert_order_as_at_initial(shopper.id, teapot.id)
        fill_cart(shopper, teapot, 1)
        db.session.add(StockWatch(user_id=shopper.id, product_id=kettle.id))
        db.session.commit()
        before = snapshot(skip=LATER_COLUMNS + LATER_TABLES)
        orders_before = db.session.execute(text(f"SELECT {ORDER_COLUMNS_AT_INITIAL} FROM orders")).all()
        db.session.remove()

    result = runner.invoke(args=["db", "upgrade"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert snapshot(skip=LATER_COLUMNS + LATER_TABLES) == before
        orders_after = db.session.execute(text(f"SELECT {ORDER_COLUMNS_AT_INITIAL} FROM orders")).all()
        assert orders_after == orders_before
        db.session.remove()
        db.engine.dispose()
    empty = {table for table, rows in before.items() if not rows}
    assert empty <= {"socket_connections"}, "every table the migration copies has rows"


def insert_order_as_at_initial(user_id: int, product_id: int) -> int:
    """An order of 2 teapots as the first schema stored it (the models have moved on
    since), and the notification it sent."""
    from sqlalchemy import text

    moment = "2026-01-01 00:00:00.000000"
    db.session.execute(
        text(
            "INSERT INTO orders (id, user_id, status, total_cents, idempotency_key, created_at, updated_at)"
            " VALUES (1, :user, 'processing', 5000, 'old-key', :at, :at)"
        ),
        {"user": user_id, "at": moment},
    )
    db.session.execute(
        text(
            "INSERT INTO order_items (order_id, product_id, name, unit_price_cents, quantity)"
            " VALUES (1, :product, 'Teapot', 2500, 2)"
        ),
        {"product": product_id},
    )
    db.session.execute(
        text(
            "INSERT INTO order_events (order_id, from_status, to_status, actor_id, note, created_at)"
            " VALUES (1, NULL, 'placed', :user, '', :at)"
        ),
        {"user": user_id, "at": moment},
    )
    db.session.execute(
        text(
            "INSERT INTO notifications (user_id, seq, kind, title, body, url, data, created_at, read)"
            " VALUES (:user, 1, 'order_status', 'Order placed', '', '/orders/1', '{}', :at, 0)"
        ),
        {"user": user_id, "at": moment},
    )
    db.session.commit()
    return 1


def test_orders_from_before_checkout_get_totals_a_payment_and_default_shipping_methods(tmp_path):
    """a20b1c2d3e4f on a database with an order: its total is its items' (no
    shipping), it is paid on delivery and unpaid with one payment step, and it
    has no delivery copy; the shop offers the two default shipping methods."""
    from shop.models import Order, ShippingMethod
    from shop.services.totals import order_totals

    app = create_app(make_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'orders.db'}"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "a20b1c2d3e4f-1"]).exit_code == 0
    with app.app_context():
        shopper_id, teapot_id = make_user().id, make_product("Teapot", stock=10).id
        insert_order_as_at_initial(shopper_id, teapot_id)
        db.session.remove()

    result = runner.invoke(args=["db", "upgrade"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        order = db.session.get(Order, 1)
        totals = order_totals(order)
        assert (totals.items_cents, totals.shipping_cents, totals.total_cents) == (5000, 0, 5000)
        assert (order.payment_method, order.payment_status) == ("pay_on_delivery", "unpaid")
        assert order.delivery is None
        [step] = order.payment_events
        assert (step.from_status, step.to_status, step.actor_id) == (None, "unpaid", shopper_id)
        assert step.created_at == order.created_at
        methods = db.session.scalars(db.select(ShippingMethod).order_by(ShippingMethod.position)).all()
        assert [(m.code, m.price_cents, m.free_from_cents, m.active) for m in methods] == [
            ("standard", 490, 5000, True),
            ("express", 990, None, True),
        ]
        db.session.remove()
        db.engine.dispose()


def test_login_sessions_from_before_get_a_public_id_and_a_last_seen_time(tmp_path):
    """b2c3d4e5f6a7 on a database that already has signed-in browsers."""
    from sqlalchemy import text

    app = create_app(make_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'sessions.db'}"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", "b2c3d4e5f6a7-1"]).exit_code == 0
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (id, email, name, password_hash, is_admin, last_seq, created_at)"
                    " VALUES (1, 'a@example.com', 'A', 'x', 0, 0, '2026-01-01 00:00:00.000000')"
                )
            )
            for n in range(3):
                connection.execute(
                    text("INSERT INTO login_sessions (token, user_id, created_at) VALUES (:t, 1, :c)"),
                    {"t": f"token-{n}", "c": f"2026-01-0{n + 1} 00:00:00.000000"},
                )
        db.engine.dispose()

    result = runner.invoke(args=["db", "upgrade"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        with db.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT token, public_id, created_at, last_seen_at, user_agent, ip FROM login_sessions")
            ).all()
        db.engine.dispose()
    assert len(rows) == 3
    assert len({row.public_id for row in rows}) == 3
    assert all(row.public_id and row.public_id != row.token for row in rows)
    assert all(row.last_seen_at == row.created_at for row in rows)
    assert {(row.user_agent, row.ip) for row in rows} == {("", "")}
