"""A reconnect storm (testing/storm.py): both workers die at once with their sockets
on them; while they are down each shopper falls three notifications behind; the
workers restart and every socket reconnects and syncs with the browser's backoff.
Every shopper catches up: nothing missing, nothing twice. The time it took and the
refusals met on the way are printed, not asserted (bench/storm.py reports them
beside the page throughput meanwhile).

CI runs it with 1,000 sockets; STORM_SOCKETS=5000 is the speed issue's size."""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from testing.server import LiveServer
from testing.services import SHARED_REDIS, require_redis, unique_channel
from testing.storm import storm, waiting_crowd

pytestmark = pytest.mark.scaleout
SHOPPERS = int(os.environ.get("STORM_SOCKETS", "1000"))
PRODUCTS = 3


def test_sockets_dropped_at_once_all_catch_up_with_nothing_twice(seeded_database, tmp_path):
    require_redis()
    env = {"SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS, "SOCKETIO_CHANNEL": unique_channel()}
    workers = [LiveServer(seeded_database, tmp_path, **env) for _ in range(2)]
    try:
        for worker in workers:
            worker.start()
        secret = workers[0].env["SECRET_KEY"]
        cookies, product_ids = waiting_crowd(seeded_database, secret, SHOPPERS, PRODUCTS)
        # A thread of its own: a browser test's Playwright may hold this thread's event loop.
        with ThreadPoolExecutor(1) as thread:
            result = thread.submit(asyncio.run, storm(workers, cookies, product_ids)).result()
    finally:
        for worker in workers:
            worker.stop()

    print(f"{SHOPPERS} sockets caught up {result.caught_up_seconds:.1f} s after the workers restarted")
    print(f"refusals: {dict(result.refusals)}")
    assert result.behind == 0, f"{result.behind} shoppers did not sync exactly the {PRODUCTS} they missed"
    assert result.twice == 0, f"{result.twice} shoppers were pushed a seq twice or one that does not exist"
    assert len(result.caught_up_at) == SHOPPERS
