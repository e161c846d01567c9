"""Fixtures for the push channel tests: a real eventlet server and its demo accounts.

One server serves a whole test module (starting and seeding one costs about
two seconds). Tests that could see each other's events use their own users
and products, made per test through HTTP or straight in the server's SQLite
file, and they prove that an event did *not* arrive with a barrier: a later
event on the same connection, which Socket.IO delivers in order.
"""

from collections.abc import Iterator

import pytest

from testing.server import LIVE_SETTINGS, LiveServer, start_server
from testing.shopper import Shopper, admin_on, shopper_on


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[LiveServer]:
    """A real eventlet server shared by the tests of one module."""
    with start_server(tmp_path_factory, **LIVE_SETTINGS) as server:
        yield server


@pytest.fixture
def admin_http(live) -> Shopper:
    return admin_on(live.url)


@pytest.fixture
def shopper_http(live) -> Shopper:
    return shopper_on(live.url)
