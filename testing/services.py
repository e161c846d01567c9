"""The machine's PostgreSQL and Redis, and a Redis server of a test's own.

PostgreSQL and Redis are shared servers: every test gets its own database and
its own Socket.IO channel, and never stops them. A test that needs Redis to
fail starts its own redis-server on its own port.
"""

import os
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
import redis

from testing.processes import answers, end_process, free_port, wait_started

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
SHARED_REDIS = "redis://127.0.0.1:6379/0"


def require(available: bool, what: str) -> None:
    """Skip when a service is missing; under CI=true that is a failure instead."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not available, and CI=true needs it (run scripts/ensure-services.sh)")
    pytest.skip(f"{what} is not available")


def require_postgres() -> None:
    require(answers(PG_PORT), f"PostgreSQL on {PG_HOST}:{PG_PORT}")


def require_redis() -> None:
    require(answers(6379), "Redis on 127.0.0.1:6379")


def require_redis_server_binary() -> None:
    require(shutil.which("redis-server") is not None, "the redis-server program")


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def unique_channel() -> str:
    return unique_name("shop-test")


def _admin(statement: str) -> None:
    # Not `with connection:`, which would open a transaction that CREATE DATABASE refuses.
    connection = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def create_database() -> str:
    """A new, empty, uniquely named database; returns its URL."""
    name = unique_name("shop_test")
    _admin(f'CREATE DATABASE "{name}"')
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def drop_database(url: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@contextmanager
def database_cut_off(url: str) -> Iterator[None]:
    """For the block, the test database takes no connection and every open one is ended:
    to a server on it, PostgreSQL is down. Allowed again afterwards whatever happened."""
    name = url.rsplit("/", 1)[1]
    _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    try:
        _admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        yield
    finally:
        _admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty database for the block, dropped afterwards whatever happened."""
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


def query(url: str, sql: str, *params):
    """Run one statement on the test database from outside the app."""
    connection = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else None
    finally:
        connection.close()


def committed_seqs(url: str, email: str) -> list[int]:
    """The seqs of the notifications the database holds for ``email``, in order."""
    rows = query(
        url,
        "SELECT n.seq FROM notifications n JOIN users u ON u.id = n.user_id"
        " WHERE u.email = %s ORDER BY n.seq",
        email,
    )
    return [seq for (seq,) in rows]


@contextmanager
def open_transaction(url: str) -> Iterator:
    """A transaction on the test database from outside the app (a cursor), committed when the
    block ends: for a test that holds a lock while the app works."""
    connection = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        with connection, connection.cursor() as cursor:
            yield cursor
    finally:
        connection.close()


def waiting_on_a_lock(url: str) -> int:
    """How many sessions of the test database wait for a lock (a row, an advisory lock ...)."""
    name = url.rsplit("/", 1)[1]
    [(count,)] = query(
        url, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", name
    )
    return count


class RedisServer:
    """A private redis-server on its own port, which the test may stop and restart."""

    def __init__(self, work_dir: Path, port: int | None = None):
        self.port = port or free_port()
        self.work_dir = work_dir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> "RedisServer":
        log = self.work_dir / f"redis-{self.port}.log"
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.work_dir),
                "--logfile", str(log),
            ],
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)

        def pongs() -> bool:
            try:
                return client.ping()
            except redis.ConnectionError:
                return False

        wait_started(self.process, pongs, f"redis-server on port {self.port}", timeout, log)
        return self

    def stop(self) -> None:
        if self.process:
            end_process(self.process, signal.SIGKILL)
