"""(g) The position check with 10,000 idle sockets: what one eventlet worker pays per
round of it (every POSITION_CHECK_SECONDS it looks up the epoch and top seq of every
user connected there, and tells those whose inbox moved).

    .venv/bin/python bench/positions.py                       # about 6 minutes
    .venv/bin/python bench/positions.py --sockets 2000 --databases sqlite

Per database (SQLite, as ``make run`` serves; PostgreSQL), two servers in turn on the
same data, each holding the same idle signed-in sockets (one user each) for a window:
one that never checks (the floor: what holding the sockets costs anyway, Engine.IO's
pings and the other background jobs) and one that checks every ``--every`` seconds.
Per round:
- *server CPU*: the difference of the two servers' CPU rates over a round's time;
- *queries*: on PostgreSQL, the scans of ``users`` (``pg_stat_user_tables``), the same
  difference (the statistics are flushed a second or so late: a round or two either
  way over the window); on SQLite not measurable from outside;
- *wall time*: the server's own ``shop_position_check_seconds`` (its sum over its count).
Then the share of a core at the default interval (15 s), beside the target: at most 1 %
of a core for 10,000 sockets (a small part of the idle budget of the speed issue).
When fewer sockets than asked could be opened (the open-file limit), the figures are
for those, with a linear extrapolation to the number asked.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import dataset  # noqa: E402
import procs  # noqa: E402
from procs import Server, shop_server  # noqa: E402

from testing import sioclient  # noqa: E402
from testing.metrics import parse_metrics, sample  # noqa: E402
from testing.services import postgres_database, query  # noqa: E402

RESULTS = BENCH / "results"
DEFAULT_EVERY = 15.0  # config.py's POSITION_CHECK_SECONDS
TARGET_CORE_SHARE = 0.01
NEVER = "86400"


class Told:
    """Counts the ``position`` pushes the idle sockets receive."""

    def __init__(self) -> None:
        self.count = 0

    def on_event(self, conn, name: str, data, received: float) -> None:
        if name == "position":
            self.count += 1


async def window(
    name: str, url: str, secret: str, cookies: list[str], every: str, seconds: float, log_dir: Path
) -> dict:
    """One server holding the sockets: its CPU, the users scans and its own check timings
    over ``seconds``, once every socket is connected (and, checking, told once)."""
    server_cpus, _ = procs.cores()
    server = shop_server(name, url, "eventlet", secret, server_cpus, log_dir, POSITION_CHECK_SECONDS=every)
    server.start()
    told = Told()
    opened = []
    try:
        opened = await sioclient.connect_many(server.url, cookies, deflate=False, on_event=told.on_event)
        if every != NEVER:
            deadline = time.monotonic() + 120
            while told.count < len(opened) and time.monotonic() < deadline:
                await asyncio.sleep(0.2)  # the first round tells every new socket
        await asyncio.sleep(2)
        before = await snapshot(server, url)
        await asyncio.sleep(seconds)
        after = await snapshot(server, url)
        return {
            "sockets": len(opened),
            "told_first": told.count,
            "seconds": after["at"] - before["at"],
            **{key: after[key] - before[key] for key in ("cpu", "scans", "rounds", "round_seconds")},
        }
    finally:
        for conn in opened:
            conn.closing = True
        server.stop()
        for conn in opened:
            conn.close()


async def snapshot(server: Server, url: str) -> dict:
    http = sioclient.Http(server.url, None)
    code, body = await http.request("GET", "/metrics")
    if code != 200:
        raise RuntimeError(f"/metrics answered {code}")
    samples = parse_metrics(body.decode())
    return {
        "at": time.monotonic(),
        "cpu": server.cpu_seconds(),
        "scans": users_scans(url),
        "rounds": sample(samples, "shop_position_check_seconds_count"),
        "round_seconds": sample(samples, "shop_position_check_seconds_sum"),
    }


def users_scans(url: str) -> int:
    if not url.startswith("postgresql"):
        return 0
    [(scans,)] = query(
        url,
        "SELECT coalesce(seq_scan, 0) + coalesce(idx_scan, 0)"
        " FROM pg_stat_user_tables WHERE relname = 'users'",
    )
    return scans


def per_round(off: dict, on: dict, wanted: int) -> dict:
    rounds = on["rounds"]
    if not rounds:
        return {"error": "no round in the window", "off": off, "on": on}
    round_time = on["seconds"] / rounds
    cpu = (on["cpu"] / on["seconds"] - off["cpu"] / off["seconds"]) * round_time
    scans = (on["scans"] / on["seconds"] - off["scans"] / off["seconds"]) * round_time
    sockets = min(on["sockets"], off["sockets"])
    found = {
        "sockets": sockets,
        "rounds": rounds,
        "cpu_ms_per_round": round(cpu * 1000, 2),
        "wall_ms_per_round": round(on["round_seconds"] / rounds * 1000, 2),
        "queries_per_round": round(scans, 1) if on["scans"] else None,
        "core_share_at_default": round(cpu / DEFAULT_EVERY, 5),
        "floor_core_share_idle": round(off["cpu"] / off["seconds"], 4),
        "off": off,
        "on": on,
    }
    if sockets < 0.99 * wanted:  # a few handshakes lost in the connect storm change nothing
        found["extrapolated_to"] = wanted
        found["core_share_at_default_extrapolated"] = round(
            found["core_share_at_default"] * wanted / sockets, 5
        )
    return found


@contextmanager
def database(kind: str, work: Path):
    if kind == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{work / 'positions.db'}"


async def measure(
    sockets: int,
    every: float,
    seconds: float,
    databases: list[str],
    work: Path,
    log_dir: Path,
    results: dict | None = None,
) -> dict:
    """The figures per database, added to ``results`` as each is measured."""
    secret = secrets.token_hex(16)
    results = {} if results is None else results
    results.update(every_seconds=every, window_seconds=seconds, asked_sockets=sockets)
    for kind in databases:
        with database(kind, work) as url:
            data = dataset.build(url, users=sockets, orders=1)
            cookies = dataset.session_cookies(url, secret, data.user_tokens)
            off = await window(f"g-{kind}-never", url, secret, cookies, NEVER, seconds, log_dir)
            on = await window(f"g-{kind}-every", url, secret, cookies, f"{every:g}", seconds, log_dir)
            results[kind] = per_round(off, on, sockets)
    return results


def render(g: dict) -> str:
    lines = [
        f"(g) position check, one eventlet worker, a round every {g['every_seconds']:g} s"
        f" (figures per round; share of a core at the default {DEFAULT_EVERY:g} s)",
        "",
        "| database | sockets | server CPU | wall | queries | core share | floor: sockets held, no check |"
        " target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind in ("sqlite", "postgresql"):
        found = g.get(kind)
        if not found:
            continue
        if "error" in found:
            lines.append(f"| {kind} | {found['error']} |")
            continue
        share = found.get("core_share_at_default_extrapolated", found["core_share_at_default"])
        met = "met" if share <= TARGET_CORE_SHARE else "MISSED"
        extrapolated = (
            f" (x{found['extrapolated_to'] / found['sockets']:.2f}: {share:.2%})"
            if "extrapolated_to" in found
            else ""
        )
        queries = found["queries_per_round"] if found["queries_per_round"] is not None else "-"
        lines.append(
            f"| {kind} | {found['sockets']} | {found['cpu_ms_per_round']} ms"
            f" | {found['wall_ms_per_round']} ms"
            f" | {queries} | {found['core_share_at_default']:.2%}{extrapolated}"
            f" | {found['floor_core_share_idle']:.1%} of a core"
            f" | <= {TARGET_CORE_SHARE:.0%} at {g['asked_sockets']}: {met} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--every", type=float, default=1.0, help="POSITION_CHECK_SECONDS while measured")
    parser.add_argument("--seconds", type=float, default=30.0, help="each window")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=RESULTS / "positions.json")
    args = parser.parse_args(argv)
    _, load_cpus = procs.cores()
    os.sched_setaffinity(0, load_cpus)
    procs.raise_fd_limit(20_000)
    work = Path(tempfile.mkdtemp(prefix="hearth-bench-g-"))
    try:
        databases = [kind for kind in args.databases.split(",") if kind]
        log_dir = RESULTS / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        results: dict = {}
        asyncio.run(measure(args.sockets, args.every, args.seconds, databases, work, log_dir, results))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))  # what was measured, if not all
    print(render(results))
    print(f"\nfigures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
