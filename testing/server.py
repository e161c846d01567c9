"""A real shop server in a subprocess: `python wsgi.py`, exactly what `make run`
starts, on a free port with its own database; tests talk to it over real sockets."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session

from testing import ROOT
from testing.apps import database_session
from testing.processes import Closing, end_process, free_port, serves, wait_started

# Live servers sign in again and again from 127.0.0.1, often to one account: the
# per-client limits on logins and sign-ups and the cap on an account's login
# sessions and sockets are raised out of their way (they have tests of their own).
GENEROUS_LIMITS = {
    "LOGIN_RATE_LIMIT": "1000 per minute",
    "AUTH_ATTEMPT_RATE_LIMIT": "1000 per minute",
    "SIGNUP_RATE_LIMIT": "1000 per minute",
    "MAX_LOGIN_SESSIONS": "1000",
    "SOCKETS_PER_CLIENT": "100000",
    "SOCKETS_PER_USER": "100000",
}


def prepare_database(url: str, media_root: Path | None = None) -> None:
    """Create the schema and the demo data (users, categories, products) at ``url``;
    with ``media_root``, the demo photos too (stored there: a few seconds more)."""
    from shop.extensions import db
    from shop.seed import seed_demo

    settings = {"MEDIA_ROOT": str(media_root)} if media_root else {}
    with database_session(url, **settings):
        db.create_all()
        seed_demo(with_photos=media_root is not None)


class LiveServer(Closing):
    def __init__(self, database_url: str, log_dir: Path, port: int | None = None, **env: str):
        self.port = port or free_port()
        self.database_url = database_url
        self.log_path = log_dir / f"server-{self.port}.log"
        self.media_root = Path(env.get("MEDIA_ROOT") or log_dir / "media")
        self.env = {
            **os.environ,
            "SHOP_CONFIG": "development",
            "SECRET_KEY": "live-test-secret",
            "DATABASE_URL": database_url,
            "SOCKETIO_ASYNC_MODE": "eventlet",
            **GENEROUS_LIMITS,
            # Development writes mail under instance/mail; a test's server keeps it with its log.
            "MAIL_FILE_PATH": str(log_dir / "mail"),
            "PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            **env,
            "MEDIA_ROOT": str(self.media_root),
        }
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> "LiveServer":
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child process keeps it)
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "wsgi.py")], cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        ready = partial(serves, self.url + "/healthz", (200, 503))
        wait_started(self.process, ready, "the server", timeout, self.log_path)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process:
            end_process(self.process, sig)

    close = stop

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run a `flask` command against this server's database and queue."""
        env = {**self.env, "FLASK_APP": "shop:create_app", "SOCKETIO_ASYNC_MODE": "threading"}
        return subprocess.run(
            [sys.executable, "-m", "flask", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def database(self) -> AbstractContextManager[Session]:
        """An app context on this server's own database (and media folder), for set-up and checks."""
        return database_session(self.database_url, MEDIA_ROOT=str(self.media_root))


@contextmanager
def running_workers(
    database_url: str, log_dir: Path, count: int = 2, **env: str
) -> Iterator[list[LiveServer]]:
    """``count`` servers on one database (and, given the env, one message queue), all ended on every path."""
    workers: list[LiveServer] = []
    try:
        for _ in range(count):
            workers.append(LiveServer(database_url, log_dir, **env).start())
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def start_server(tmp_path_factory, photos: bool = False, **env: str) -> LiveServer:
    """A seeded SQLite file of its own (``photos``: with the demo photos) and `python wsgi.py`
    on it; the caller stops it."""
    directory = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{directory / 'live.db'}"
    prepare_database(url, directory / "media" if photos else None)
    return LiveServer(url, directory, **env).start()


# The realtime suite's shared server (its ``live`` fixture) allows one more
# origin, and lets each connection send SOCKET_BURST messages in a row; the
# bucket refills so slowly that no test run lasts long enough to earn another.
OTHER_ORIGIN = "https://other.example"
SOCKET_BURST = 20
LIVE_SETTINGS = {
    "ALLOWED_ORIGINS": OTHER_ORIGIN,
    "SOCKET_EVENT_BURST": str(SOCKET_BURST),
    "SOCKET_EVENT_RATE": "0.001",
}
