"""(d) Page throughput: the catalogue with 0 and 5,000 sockets connected.

The HTTP load comes from wrk (Debian's package), pinned to the load core:
one thread, 32 keep-alive connections, anonymous requests. Beside the shop:
a hello-world route on the same server process (bench/shop_hello.py) and
the same app served HTTP-only by gunicorn's gthread worker (1 worker, 4
threads, pinned to the server core like every other server). The server's
CPU time per request is printed too: it holds when the machine is busy.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import urllib.request

from procs import PYTHON, Server
from suite import progress

WRK_CONNECTIONS = 32
WARM_UP_SECONDS = 1
RUNS = 3
QUERIES_HEADER = "X-Bench-Queries"  # set by bench/shop_hello.py


async def wrk(server: Server, path: str, seconds: int, cpus: set[int], cookie: str | None = None) -> dict:
    """Run wrk against ``path``; requests/s, errors, and server CPU ms per request."""
    argv = ["wrk", "-t1", f"-c{WRK_CONNECTIONS}", f"-d{seconds}s", server.url + path]
    if cookie:
        argv[1:1] = ["-H", f"Cookie: {cookie}"]
    if shutil.which("taskset"):
        argv = ["taskset", "-c", ",".join(map(str, sorted(cpus))), *argv]
    collector = collections_so_far(server)
    cpu = server.cpu_seconds()
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out = (await process.communicate())[0].decode()
    cpu = server.cpu_seconds() - cpu
    collector = collector_share(collector, collections_so_far(server), cpu)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:(.*)", out)
    requests = int(total.group(1)) if total else 0
    if non_2xx:
        progress(f"{server.name}: {non_2xx.group(1)} answers to {path} were errors, not the page")
    return {
        "rps": round(float(rps.group(1))) if rps else None,
        "server_cpu_ms_per_request": round(cpu * 1000 / requests, 3) if requests else None,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": socket_errors.group(1).strip() if socket_errors else "",
        **collector,
        **({} if rps else {"wrk_output": out[-500:]}),
    }


def collections_so_far(server: Server) -> dict | None:
    """bench/shop_hello.py's ``/bench/gc`` (collections and their seconds per generation); None elsewhere."""
    try:
        with urllib.request.urlopen(server.url + "/bench/gc", timeout=10) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def collector_share(before: dict | None, after: dict | None, cpu_seconds: float) -> dict:
    """The collections of each generation over a run, and the share of the server's CPU they took."""
    if before is None or after is None:
        return {}
    seconds = sum(after["seconds"]) - sum(before["seconds"])
    return {
        "gc_collections": [b - a for a, b in zip(before["collections"], after["collections"], strict=True)],
        "gc_share_of_cpu": round(seconds / cpu_seconds, 4) if cpu_seconds else None,
    }


async def measure(
    server: Server,
    seconds: int,
    cpus: set[int],
    hello: bool = True,
    signed_in: str | None = None,
    pages: dict[str, str] | None = None,
) -> dict:
    """The catalogue (``/``) as anonymous visitors get it (kept for a second);
    with ``hello`` bench/shop_hello.py's ``/bench/hello``; with a ``signed_in``
    cookie the catalogue as a signed-in shopper gets it (their own page around
    cards kept while unchanged), and each of ``pages`` (name: path) with it too, each set
    against hello world where the server has it, with the queries each page runs
    (bench/shop_hello.py counts them)."""
    await wrk(server, "/", WARM_UP_SECONDS, cpus)  # templates compiled, pools filled
    found = {
        "wrk": f"wrk -t1 -c{WRK_CONNECTIONS} -d{seconds}s, median of {RUNS}",
        "catalogue": await median_run(server, "/", seconds, cpus),
    }
    if hello:
        found["hello"] = await median_run(server, "/bench/hello", seconds, cpus)
    if signed_in:
        for name, path in (pages or {"catalogue": "/"}).items():
            progress(f"{server.name}: (d) {name} ({path}) signed in")
            await wrk(server, path, WARM_UP_SECONDS, cpus, signed_in)
            runs = (
                await beside_hello(server, path, seconds, cpus, signed_in)
                if hello  # a server without bench/shop_hello.py's route would answer it 404
                else await median_run(server, path, seconds, cpus, signed_in)
            )
            found.setdefault("signed_in_pages", {})[name] = {
                "path": path,
                "queries": queries_run(server, path, signed_in),
                **runs,
            }
        found["catalogue_signed_in"] = found["signed_in_pages"].get("catalogue")
    return found


async def beside_hello(server: Server, path: str, seconds: int, cpus: set[int], cookie: str) -> dict:
    """``path``'s median run and its share of hello world: the median of the shares of
    RUNS pairs of runs, the page's then hello world's.

    This machine's speed moves by up to 2x within minutes (other tenants of its
    host): a page's share of hello world is only a ratio of the same moment when
    each of the page's runs is set against the hello-world run right after it."""
    page_runs, hello_runs = [], []
    for _ in range(RUNS):
        page_runs.append(await wrk(server, path, seconds, cpus, cookie))
        hello_runs.append(await wrk(server, "/bench/hello", seconds, cpus))
    shares = sorted(
        page["rps"] / hello["rps"]
        for page, hello in zip(page_runs, hello_runs, strict=True)
        if page["rps"] and hello["rps"]
    )
    return {
        **_median(page_runs),
        "hello_beside": _median(hello_runs),
        "share_of_hello": round(shares[len(shares) // 2], 3) if shares else None,
    }


def queries_run(server: Server, path: str, cookie: str | None) -> int | None:
    """The statements one request for ``path`` sent to the database (its BEGIN not counted),
    as bench/shop_hello.py's X-Bench-Queries header says; None from another server."""
    request = urllib.request.Request(server.url + path, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        counted = response.headers.get(QUERIES_HEADER)
    return int(counted) if counted is not None else None


async def median_run(
    server: Server, path: str, seconds: int, cpus: set[int], cookie: str | None = None
) -> dict:
    """The median of RUNS wrk runs, with their range.

    Sockets that connected together send their Engine.IO pings together, every
    25 s: one short run may or may not fall on such a burst."""
    return _median([await wrk(server, path, seconds, cpus, cookie) for _ in range(RUNS)])


def _median(runs: list[dict]) -> dict:
    runs = sorted(runs, key=lambda run: run["rps"] or 0)
    return {**runs[len(runs) // 2], "rps_range": [runs[0]["rps"], runs[-1]["rps"]]}


def gunicorn_server(env: dict[str, str], cpus: set[int], log_dir) -> Server:
    server = Server("gunicorn-gthread", [], env, cpus, log_dir)
    server.argv = [
        PYTHON,
        "-m",
        "gunicorn",
        "--worker-class",
        "gthread",
        "--workers",
        "1",
        "--threads",
        "4",
        "--bind",
        f"127.0.0.1:{server.port}",
        "--log-level",
        "warning",
        "wsgi:app",
    ]
    return server
