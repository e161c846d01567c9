"""Child processes: free ports, waiting for readiness, the one way to end a
process, and what a process costs (from /proc)."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests


class Closing:
    """``with thing:`` closes it when the block ends, whatever happened."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def consecutive_free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports that are free now."""
    for _ in range(50):
        first = free_port()
        if all(port_free(first + i) for i in range(1, count)):
            return first
    raise RuntimeError("no run of free ports")


def answers(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``port``."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def serves(url: str, statuses: tuple[int, ...] = (200,)) -> bool:
    """Whether ``url`` answers a GET with one of ``statuses``."""
    try:
        return requests.get(url, timeout=2).status_code in statuses
    except requests.RequestException:
        return False


def wait_until(condition: Callable[[], object], what: str, timeout: float = 30) -> None:
    """Poll ``condition`` until it holds: a wait for readiness, never a speed check."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def wait_started(
    process: subprocess.Popen, ready: Callable[[], bool], what: str, timeout: float, log: Path | None = None
) -> None:
    """Wait until ``ready()``; if ``process`` exits or the time runs out first,
    end it (the caller gets nothing to stop) and raise with the tail of ``log``."""

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}: {tail(log)}")
        return ready()

    try:
        wait_until(up, f"{what} to start", timeout)
    except AssertionError:
        end_process(process)
        raise RuntimeError(f"{what} did not start: {tail(log)}") from None
    except BaseException:
        end_process(process)
        raise


def tail(log: Path | None, chars: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-chars:] if log else ""
    except OSError:
        return ""


def end_process(process: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 10) -> bool:
    """End a child process on every path: ``sig`` first (after SIGCONT, in case it
    was stopped), then SIGKILL after ``grace`` seconds. True if it ended of itself."""
    if process.poll() is not None:
        return True
    process.send_signal(signal.SIGCONT)
    process.send_signal(sig)
    try:
        process.wait(grace)
        return True
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        return False


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
    raise RuntimeError(f"no {name} for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of one process and its threads so far.

    On a machine others are loading, CPU time per operation is steadier than
    wall time: the bench prints it beside the latencies to tell a slow server
    from a busy machine."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    """File descriptors one process holds open."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as found:
            return [int(child) for child in found.read().split()]
    except OSError:
        return []


def page_times(url: str, count: int = 20) -> list[float]:
    """How long each of ``count`` GETs of ``url`` took, in seconds (each must answer 200)."""
    times = []
    with requests.Session() as http:
        for _ in range(count):
            started = time.perf_counter()
            assert http.get(url, timeout=30).status_code == 200
            times.append(time.perf_counter() - started)
    return times
