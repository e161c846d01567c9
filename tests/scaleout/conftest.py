"""Fixtures for the scale-out tests: PostgreSQL databases, Redis channels, workers.

Every test module that starts servers gets its own database and its own
Socket.IO channel, so concurrent runs (and other engineers' tests) never see
each other's rows or pushes; tests inside a module use their own users,
products and orders.
"""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.nginx import Nginx, WorkerScript, require_nginx
from testing.processes import tail
from testing.server import LiveServer, prepare_database, running_workers
from testing.services import (
    SHARED_REDIS,
    RedisServer,
    postgres_database,
    require_postgres,
    require_redis,
    require_redis_server_binary,
    unique_channel,
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, show the tails of the logs its servers wrote (workers, nginx,
    redis): they live in the session's temporary folder, which later runs delete."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    base = item.config._tmp_path_factory.getbasetemp()
    recent = time.time() - 600
    for log in sorted(Path(base).rglob("*.log")):
        if log.stat().st_mtime > recent and log.stat().st_size:
            report.sections.append((f"log {log.relative_to(base)}", tail(log)))


@pytest.fixture(scope="module")
def seeded_database() -> Iterator[str]:
    """A new PostgreSQL database with the schema and demo data; dropped afterwards."""
    require_postgres()
    with postgres_database() as url:
        prepare_database(url)
        yield url


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may stop: never the machine's shared one."""
    require_redis_server_binary()
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def two_workers(seeded_database, tmp_path_factory) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Workers A and B on their own ports, sharing PostgreSQL and a Redis channel."""
    require_redis()
    env = {"SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS, "SOCKETIO_CHANNEL": unique_channel()}
    with running_workers(seeded_database, tmp_path_factory.mktemp("workers"), **env) as (a, b):
        yield a, b


@pytest.fixture(scope="module")
def site(seeded_database, tmp_path_factory) -> Iterator[tuple[Nginx, WorkerScript]]:
    """Production settings: two workers from run-workers.sh, TLS at nginx, PROXY_COUNT=1,
    one photo folder that the workers write and nginx serves."""
    require_redis()
    require_nginx()
    work_dir = tmp_path_factory.mktemp("site")
    workers = WorkerScript(work_dir, SHOP_CONFIG="production", DATABASE_URL=seeded_database).start()
    nginx = None
    try:
        nginx = Nginx(work_dir, workers.ports).start()
        yield nginx, workers
    finally:
        if nginx:
            nginx.stop()
        workers.stop()
