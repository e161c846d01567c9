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
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    """Resident memory of one process, in KiB (VmRSS)."""
    return _status_field(pid, "VmRSS")


def threads(pid: int) -> int:
    """OS threads of one process."""
    return _status_field(pid, "Threads")


def _status_field(pid: int, name: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process and its threads so far.

    On a machine others are loading, CPU time per operation is steadier than
    wall time: it is printed beside the latencies to tell a slow server from
    a busy machine."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return 0


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as found:
            return [int(child) for child in found.read().split()]
    except OSError:
        return []


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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start: {self.log_path.read_text()[-3000:]}")

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
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


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
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "SOCKETS_PER_CLIENT": "100000",
            "SOCKETS_PER_USER": "100000",
            "AUTH_ATTEMPT_RATE_LIMIT": "1000 per minute",
            "SIGNUP_RATE_LIMIT": "1000 per minute",
            "MAX_LOGIN_SESSIONS": "1000",
            **env,
        },
        cpus,
        log_dir,
    )
