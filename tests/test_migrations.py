"""The Alembic migrations build the same schema as the models."""

import pytest
from sqlalchemy import inspect

from shop import create_app
from shop.extensions import db
from tests.conftest import make_config


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
