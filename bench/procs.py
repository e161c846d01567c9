"""Server processes for the benchmark: started pinned to a core, measured, stopped.

Every server (the shop, the two floors, gunicorn) is a child process started
with ``os.sched_setaffinity`` applied before it runs, so all its threads stay
on the server core while the load generator (this process and wrk) keeps the
other one.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

from testing import ROOT
from testing.processes import (
    children,
    cpu_seconds,
    end_process,
    free_port,
    open_fds,
    rss_kib,
    serves,
    threads,
    wait_started,
)
from testing.server import GENEROUS_LIMITS

PYTHON = sys.executable


def cores() -> tuple[set[int], set[int]]:
    """(server cores, load-generator cores): disjoint when there are two or more."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return set(available), set(available)
    return {available[0]}, set(available[1:])


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft open-file limit to ``wanted`` (or the hard limit); children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Server:
    """One server process on a free port."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], cpus: set[int], log_dir: Path):
        self.name = name
        self.port = free_port()
        self.argv = argv
        self.env = {**os.environ, **env, "PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        self.cpus = cpus
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The process that serves (gunicorn's worker, not its arbiter)."""
        assert self.process is not None
        kids = children(self.process.pid)
        return (
            kids[0]
            if self.argv[1:2] == ["-m"] and "gunicorn" in self.argv[2:3] and kids
            else self.process.pid
        )

    def start(self, ready_path: str = "/healthz", timeout: float = 60) -> Server:
        cpus = self.cpus
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child keeps it)
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=log,
            preexec_fn=lambda: os.sched_setaffinity(0, cpus),
        )
        wait_started(self.process, partial(serves, self.url + ready_path), self.name, timeout, self.log_path)
        return self

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def open_fds(self) -> int:
        return open_fds(self.pid)

    def threads(self) -> int:
        return threads(self.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGKILL: a benchmark server has nothing to save, and 10,000 clean
        disconnects (each a database write in the shop) would only cost time."""
        if self.process is not None:
            end_process(self.process, signal.SIGKILL, grace=30)


def shop_server(
    name: str, database_url: str, mode: str, secret: str, cpus: set[int], log_dir: Path, **env: str
) -> Server:
    """``python wsgi.py``: exactly what ``make run`` serves."""
    return Server(
        name,
        [PYTHON, str(ROOT / "wsgi.py")],
        {
            "SHOP_CONFIG": "development",
            "SECRET_KEY": secret,
            "DATABASE_URL": database_url,
            "SOCKETIO_ASYNC_MODE": mode,
            **GENEROUS_LIMITS,
            **env,
        },
        cpus,
        log_dir,
    )
