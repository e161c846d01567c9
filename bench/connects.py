"""The connect path beside its floor, in one run: connections per second and
server CPU per connect for the shop (embedded: SQLite, one eventlet server)
and the minimal Flask-SocketIO app (bench/floor_flask.py), each on the
server core, the connections opened from the other core.

    .venv/bin/python bench/connects.py                  # 3,000 connects each
    .venv/bin/python bench/connects.py --count 1000 --profile /tmp/connect.svg

``--profile`` records the shop's ramp with py-spy (a flame graph). The
figures go in bench/README.md; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import dataset  # noqa: E402
import procs  # noqa: E402
from procs import PYTHON, Server, shop_server  # noqa: E402

from testing import sioclient  # noqa: E402


async def ramp(server: Server, cookies: list[str | None], concurrency: int) -> dict:
    stats = sioclient.Stats()
    started, cpu = time.monotonic(), server.cpu_seconds()
    conns = await sioclient.connect_many(server.url, cookies, concurrency=concurrency, stats=stats)
    seconds, cpu = time.monotonic() - started, server.cpu_seconds() - cpu
    for conn in conns:
        conn.close()
    return {
        "connected": len(conns),
        "refused": len(cookies) - len(conns),
        "per_s": round(len(conns) / seconds),
        "cpu_ms_per_connect": round(cpu * 1000 / max(1, len(conns)), 2),
    }


def run(args: argparse.Namespace) -> dict:
    server_cpus, load_cpus = procs.cores()
    os.sched_setaffinity(0, load_cpus)
    procs.raise_fd_limit(20_000)
    work = Path(tempfile.mkdtemp(prefix="connect-bench-"))
    secret = "connect-bench-secret"
    try:
        url = f"sqlite:///{work / 'shop.db'}"
        data = dataset.build(url, users=args.count, orders=1)
        cookies = dataset.session_cookies(url, secret, data.user_tokens)
        results = {"load_average_before": os.getloadavg()[0]}
        floor = Server(
            "floor",
            [PYTHON, str(BENCH / "floor_flask.py")],
            {"SOCKETIO_ASYNC_MODE": "eventlet"},
            server_cpus,
            work,
        ).start()
        try:
            results["floor"] = asyncio.run(ramp(floor, [None] * args.count, args.concurrency))
        finally:
            floor.stop()
        shop = shop_server("shop", url, "eventlet", secret, server_cpus, work).start()
        spy = None
        if args.profile:
            spy = subprocess.Popen(
                [
                    str(Path(PYTHON).parent / "py-spy"),
                    "record",
                    "-p",
                    str(shop.pid),
                    "-o",
                    args.profile,
                    "--nonblocking",
                    "-r",
                    "200",
                    "--idle",
                    "--format",
                    "raw" if args.profile.endswith(".txt") else "flamegraph",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1)
        try:
            results["shop"] = asyncio.run(ramp(shop, cookies, args.concurrency))
        finally:
            if spy is not None:
                spy.send_signal(2)
                spy.wait(60)
            shop.stop()
        results["load_average_after"] = os.getloadavg()[0]
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--profile", help="py-spy flame graph of the shop's ramp (.svg, or .txt for collapsed stacks)"
    )
    results = run(parser.parse_args())
    shop, floor = results["shop"], results["floor"]
    print(
        f"load average {results['load_average_before']:.2f} before, {results['load_average_after']:.2f} after"
    )
    for name, figures in (("shop", shop), ("floor (minimal Flask-SocketIO)", floor)):
        print(
            f"{name:32} {figures['per_s']:6} connects/s  {figures['cpu_ms_per_connect']:5} ms CPU each"
            f"  ({figures['connected']} connected, {figures['refused']} refused)"
        )
    print(f"shop / floor: {shop['per_s'] / floor['per_s']:.2f}x the rate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
