"""The reconnect storm (issue 18, target 3): 5,000 signed-in sockets on two workers
(PostgreSQL, Redis), both workers killed at once, each shopper three notifications
behind, every socket back with the browser's backoff and sync (testing/storm.py).

Reports the time until every shopper has caught up (and percentiles of each
one's), the refusals met on the way, and the signed-in catalogue's throughput
on the same two workers before the storm and while it settles.

    .venv/bin/python bench/storm.py                 # 5,000 sockets
    .venv/bin/python bench/storm.py --sockets 1000

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (make services).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

import procs  # noqa: E402

from testing.server import LiveServer, prepare_database  # noqa: E402
from testing.services import SHARED_REDIS, postgres_database, unique_channel  # noqa: E402
from testing.sioclient import Http  # noqa: E402
from testing.storm import storm, waiting_crowd  # noqa: E402

PAGE = "/"
PAGE_CLIENTS = 4  # signed-in shoppers loading the catalogue one page after another


class Pages:
    """Signed-in catalogue pages loaded in a loop on every worker; counts what came back."""

    def __init__(self, workers: list[LiveServer], cookies: list[str]) -> None:
        self.clients = [Http(workers[i % len(workers)].url, cookies[i]) for i in range(PAGE_CLIENTS)]
        self.ok = self.failed = 0
        self.running = False

    async def load(self, seconds: float | None = None) -> None:
        self.running = True
        stop_at = None if seconds is None else time.monotonic() + seconds
        await asyncio.gather(*(self._loop(client, stop_at) for client in self.clients))

    async def _loop(self, client: Http, stop_at: float | None) -> None:
        while self.running and (stop_at is None or time.monotonic() < stop_at):
            try:
                status, _ = await asyncio.wait_for(client.request("GET", PAGE), 30)
            except (OSError, TimeoutError, ConnectionError, asyncio.IncompleteReadError):
                status = 0
                await asyncio.sleep(0.2)  # a worker not serving yet
            if status == 200:
                self.ok += 1
            else:
                self.failed += 1

    def close(self) -> None:
        self.running = False
        for client in self.clients:
            client.close()


async def measure(workers: list[LiveServer], cookies: list[str], product_ids: list[int]) -> dict:
    before = Pages(workers, cookies)
    await before.load(seconds=5)
    before.close()
    during = Pages(workers, cookies)
    loading: list[asyncio.Task] = []
    timing = {}

    def restarted() -> None:
        timing["began"] = time.monotonic()
        loading.append(asyncio.ensure_future(during.load()))

    result = await storm(workers, cookies, product_ids, restarted=restarted)
    seconds = time.monotonic() - timing["began"]
    during.close()
    await asyncio.gather(*loading, return_exceptions=True)
    times = result.caught_up_at
    return {
        "result": result,
        "pages_before_per_s": before.ok / 5,
        "pages_during_per_s": during.ok / seconds,
        "pages_failed_during": during.failed,
        "p50": times[len(times) // 2] if times else None,
        "p95": times[int(len(times) * 0.95)] if times else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sockets", type=int, default=5000)
    parser.add_argument("--products", type=int, default=3)
    args = parser.parse_args()
    procs.raise_fd_limit(20_000)
    load_before = os.getloadavg()
    with postgres_database() as url, tempfile.TemporaryDirectory(prefix="storm-bench-") as work:
        prepare_database(url)
        env = {"SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS, "SOCKETIO_CHANNEL": unique_channel()}
        workers = [LiveServer(url, Path(work), **env) for _ in range(2)]
        try:
            for worker in workers:
                worker.start()
            cookies, product_ids = waiting_crowd(
                url, workers[0].env["SECRET_KEY"], args.sockets, args.products
            )
            figures = asyncio.run(measure(workers, cookies, product_ids))
        finally:
            for worker in workers:
                worker.stop()
    result = figures["result"]
    print(f"load average {load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(
        f"{result.shoppers} sockets, {args.products} notifications behind each: all caught up "
        f"{result.caught_up_seconds:.1f} s after both workers served again "
        f"(each shopper: p50 {figures['p50']:.1f} s, p95 {figures['p95']:.1f} s); "
        f"{result.behind} behind, {result.twice} pushed twice"
    )
    print(f"refusals on the way: {dict(result.refusals)}")
    print(
        f"signed-in catalogue, {PAGE_CLIENTS} clients on the two workers: "
        f"{figures['pages_before_per_s']:.0f} pages/s before the storm, "
        f"{figures['pages_during_per_s']:.0f} pages/s while it settled "
        f"({figures['pages_failed_during']} failed or refused)"
    )
    return 0 if result.behind == 0 and result.twice == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
