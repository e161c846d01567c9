"""The Alembic migrations build the same schema as the models."""

import pytest
from sqlalchemy import BigInteger, inspect, text

from shop import create_app
from shop.extensions import db
from testing.apps import make_config

INITIAL = "c186789e14da"
INITIAL_TABLES = (
    "users", "products", "orders", "order_items", "order_events", "cart_items", "stock_watches",
    "notifications", "login_sessions", "socket_connections",
)  # fmt: skip


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


T0 = "2026-01-01 00:00:00.000000"
# One row in every table that refers to another, written at INITIAL with plain SQL
# (the models describe the newest schema, which INITIAL does not have yet).
ROWS_AT_INITIAL = [
    ("users", {"id": 1, "email": "a@example.com", "name": "A", "password_hash": "x", "is_admin": 0,
               "last_seq": 1, "created_at": T0}),
    ("users", {"id": 2, "email": "b@example.com", "name": "B", "password_hash": "x", "is_admin": 1,
               "last_seq": 0, "created_at": T0}),
    ("products", {"id": 1, "name": "Teapot", "description": "", "price_cents": 2500, "stock": 8,
                  "low_stock_threshold": 3, "active": 1, "created_at": T0, "updated_at": T0}),
    ("products", {"id": 2, "name": "Kettle", "description": "", "price_cents": 900, "stock": 0,
                  "low_stock_threshold": 3, "active": 1, "created_at": T0, "updated_at": T0}),
    ("orders", {"id": 1, "user_id": 1, "status": "placed", "total_cents": 5000, "idempotency_key": "k",
                "created_at": T0, "updated_at": T0}),
    ("order_items", {"id": 1, "order_id": 1, "product_id": 1, "name": "Teapot", "unit_price_cents": 2500,
                     "quantity": 2}),
    ("order_events", {"id": 1, "order_id": 1, "from_status": None, "to_status": "placed", "actor_id": 1,
                      "note": "", "created_at": T0}),
    ("cart_items", {"id": 1, "user_id": 1, "product_id": 1, "quantity": 1}),
    ("stock_watches", {"id": 1, "user_id": 1, "product_id": 2, "created_at": T0}),
    ("notifications", {"id": 1, "user_id": 1, "seq": 1, "kind": "order_status", "title": "t", "body": "",
                       "url": "", "data": "{}", "created_at": T0, "read": 0}),
    ("login_sessions", {"token": "tok", "user_id": 1, "created_at": T0}),
]  # fmt: skip


def insert_statement(table: str, row: dict) -> str:
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(':' + name for name in row)})"


def rows_of(engine, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """The rows of each table, in the columns given (those the table had at INITIAL)."""
    with engine.connect() as connection:
        return {
            table: sorted(
                tuple(row) for row in connection.execute(text(f"SELECT {', '.join(names)} FROM {table}"))
            )
            for table, names in columns.items()
        }


def test_upgrading_a_database_in_use_keeps_every_row(tmp_path):
    """On SQLite, batch mode copies each table it alters and drops the old one:
    with foreign keys on, that drop would cascade into the rows referring to it
    (altering `orders` deleted every order item and event)."""
    from sqlalchemy import text

    app = create_app(make_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'in-use.db'}"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", INITIAL]).exit_code == 0
    columns: dict[str, list[str]] = {}
    for table, row in ROWS_AT_INITIAL:
        columns[table] = list(row)
    with app.app_context():
        with db.engine.begin() as connection:
            for table, row in ROWS_AT_INITIAL:
                connection.execute(text(insert_statement(table, row)), row)
        before = rows_of(db.engine, columns)
        db.engine.dispose()

    result = runner.invoke(args=["db", "upgrade"])

    assert result.exit_code == 0, result.output
    with app.app_context():
        assert rows_of(db.engine, columns) == before
        db.engine.dispose()
    # Every table the first revision made has a row; later ones start empty.
    assert set(columns) == set(INITIAL_TABLES) - {"socket_connections"}


def insert_order_as_at_initial(user_id: int, product_id: int) -> int:
    """An order of 2 teapots as the first schema stored it (the models have moved on
    since), and the notification it sent."""
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
        user = {**ROWS_AT_INITIAL[0][1], "inbox_epoch": "e"}  # the users table has its epoch by now
        product = next(row for table, row in ROWS_AT_INITIAL if table == "products")
        for table, row in (("users", user), ("products", product)):
            db.session.execute(text(insert_statement(table, row)), row)
        shopper_id, teapot_id = 1, 1
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
