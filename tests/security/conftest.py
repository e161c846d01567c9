"""Fixtures for the hardening suite.

``snapshot()`` (testing/data.py) reads every row of every table, so "nothing
changed" is checked against the whole database rather than the rows a test
thought of. Routes are enumerated from ``app.url_map`` (testing/apps.py): a
new route is covered without editing these tests.
"""

from collections.abc import Iterator

import pytest
from flask import Flask

from testing.apps import app_with_tables
from testing.data import World
from testing.server import LiveServer, start_server


@pytest.fixture
def world(app) -> World:
    return World()


@pytest.fixture
def csrf_app() -> Iterator[Flask]:
    """The testing app with CSRF protection on, as in production."""
    with app_with_tables(WTF_CSRF_ENABLED=True) as app:
        yield app


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """One real eventlet server for the tests of a module."""
    with start_server(tmp_path_factory) as server:
        yield server
