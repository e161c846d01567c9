"""The app in the test's own process: its config, its test client and CLI
runner, a database of either kind, and an app context on any database."""

import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from config import TestingConfig
from shop import create_app
from shop.extensions import db
from shop.services import shipping
from testing.services import postgres_database, require_postgres

# Tests of what the two databases do differently take one of these as ``params``.
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.scaleout)]


def make_config(**overrides) -> type[TestingConfig]:
    return type("TestConfig", (TestingConfig,), overrides)


def app_on(database_url: str, **settings) -> Flask:
    """The testing app on ``database_url`` (a live server's, a worker's, the bench's)."""
    return create_app(make_config(SQLALCHEMY_DATABASE_URI=database_url, **settings))


@contextmanager
def database_session(database_url: str, **settings) -> Iterator[Session]:
    """An app context on ``database_url``, for set-up and checks from outside its server."""
    app = app_on(database_url, **settings)
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()
            db.engine.dispose()


class ShopClient(FlaskClient):
    """A test client whose every request runs in its own app context, as on a server.

    The ``app`` fixture keeps an app context pushed for the whole test, and a
    request would otherwise share it: ``g`` (Flask-Login's current user, the
    navigation counts) would leak from one request, or one client, to the next.
    The test's own session is rolled back first so that the request sees a free
    connection and the test re-reads what the request wrote; factories commit,
    so nothing a test made is lost.
    """

    def open(self, *args, **kwargs):
        db.session.rollback()
        with self.application.app_context():
            return super().open(*args, **kwargs)


class ShopCliRunner(FlaskCliRunner):
    """Runs a command in its own app context, after freeing the test's connection (see ShopClient)."""

    def invoke(self, *args, **kwargs):
        db.session.rollback()
        return super().invoke(*args, **kwargs)


@contextmanager
def statements_run() -> Iterator[list[str]]:
    """The SQL statements the app runs inside the block, as a list filled in as they go."""
    run: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        run.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield run
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@contextmanager
def app_with_tables(**settings) -> Iterator[Flask]:
    """An app whose tables exist for as long as the block runs, inside its app context;
    its test client is a ShopClient, its CLI runner a ShopCliRunner; its photos go to a
    folder of its own (unless MEDIA_ROOT is given), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="shop-media-") as media:
        app = create_app(make_config(**{"MEDIA_ROOT": media, **settings}))
        app.test_client_class, app.test_cli_runner_class = ShopClient, ShopCliRunner
        with app.app_context():
            db.create_all()
            shipping.ensure_default_methods()  # as the migration that brought them does
            try:
                yield app
            finally:
                db.session.remove()
                db.drop_all()
                db.engine.dispose()


@contextmanager
def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A new database of ``kind``: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'shop.db'}"
        return
    require_postgres()
    with postgres_database() as url:
        yield url


def post_rules(app: Flask) -> list[Rule]:
    """Every POST route, from the url_map: a new form is covered without editing a test."""
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "POST" in rule.methods), key=lambda rule: rule.rule
    )


def get_rules(app: Flask) -> list[Rule]:
    return sorted(
        (rule for rule in app.url_map.iter_rules() if "GET" in rule.methods and rule.endpoint != "static"),
        key=lambda rule: rule.rule,
    )


def build(app: Flask, rule: Rule, ids: dict[str, int]) -> str:
    """The URL of ``rule`` with its arguments taken from ``ids`` (by argument name)."""
    missing = rule.arguments - ids.keys()
    assert not missing, f"no id for {missing} of {rule.rule}: add one to the world fixture"
    return app.url_map.bind("localhost").build(rule.endpoint, {name: ids[name] for name in rule.arguments})


def in_background(pool: ThreadPoolExecutor, app, job) -> Future:
    """Run ``job`` in a thread of ``pool``, in its own app context (session and connection)."""

    def run():
        with app.app_context():
            try:
                return job()
            finally:
                db.session.remove()

    return pool.submit(run)


def run_together(app, jobs) -> list:
    """Run each job in its own thread and app context, all released at once; return their results."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        with app.app_context():
            barrier.wait()
            try:
                results[index] = job()
            except Exception as exc:
                results[index] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.rollback()  # read what the threads committed
    return results


def drain(plan: Callable[[], int], send: Callable[[], int], pending: Callable[[], int]) -> int:
    """A background runner's rounds, as a racing sender runs them: plan and send until
    nothing was planned or sent and nothing is pending; how many this runner sent."""
    sent = 0
    for _ in range(200):
        planned, done = plan(), send()
        sent += done
        if not planned and not done and not pending():
            break
    return sent
