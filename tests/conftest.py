"""Fixtures: a fresh app and database per test, a client, a runner, users, and
sockets cleaned up at the end. What tests import lives in testing/."""

import pytest

from testing.apps import DATABASES, app_with_tables, database_url
from testing.data import make_user
from testing.shopper import Auth


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "app_config(**settings): build the test's app with these config settings"
    )


@pytest.fixture
def app(request):
    """A fresh app and empty database; ``@pytest.mark.app_config(KEY=value)`` changes settings."""
    marker = request.node.get_closest_marker("app_config")
    with app_with_tables(**(marker.kwargs if marker else {})) as app:
        yield app


@pytest.fixture(params=DATABASES)
def db_app(request, tmp_path):
    """The app on each database, for tests of what they do differently: a SQLite
    file (WAL, busy timeout) and a PostgreSQL database of the test's own, dropped
    afterwards (skipped when PostgreSQL is missing, unless CI=true). Threads racing
    on it each get their own connection."""
    with (
        database_url(request.param, tmp_path) as url,
        app_with_tables(SQLALCHEMY_DATABASE_URI=url, DB_POOL_SIZE=25) as app,
    ):
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def shopper(app):
    return make_user()


@pytest.fixture
def admin(app):
    return make_user("admin@example.com", "Ada", admin=True)


@pytest.fixture
def sockets():
    """Live sockets a test opens (through ``connect``), closed at its end whatever happened."""
    opened = []
    yield opened
    for sock in opened:
        sock.close()


@pytest.fixture
def connect(sockets):
    """connect(shopper, **options) opens a LiveSocket that the test cleans up."""

    def open_socket(shopper, **options):
        sock = shopper.connect(**options)
        sockets.append(sock)
        return sock

    return open_socket
