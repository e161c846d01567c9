"""Cross-worker push delay beside the single-worker one, on PostgreSQL.

An admin's HTTP status change posted to worker A, timed from just before the
POST is sent to the moment the owner's socket receives the `order_status`
event. Three set-ups, each on its own fresh PostgreSQL database:

- one worker, no message queue (the socket on the same worker);
- one worker with the Redis queue (the push goes out to Redis and back);
- two workers sharing Redis: the admin on A, the owner's socket on B.

Prints p50, p95 and max in milliseconds. Needs PostgreSQL and Redis on their
usual local ports (as the scale-out tests do).

    .venv/bin/python bench/scaleout_push_delay.py [CHANGES]
"""

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from push_delay import STEPS, Stopwatch, percentiles  # noqa: E402

from shop.seed import DEMO_ADMIN, DEMO_SHOPPER  # noqa: E402
from tests.live import LiveServer, Shopper, prepare_database  # noqa: E402
from tests.scaleout.infra import SHARED_REDIS, buy, create_database, drop_database, unique_channel  # noqa: E402

PRODUCT = 3  # a seeded product with plenty of stock


def measure(acting: LiveServer, listening: LiveServer, changes: int) -> list[float]:
    """Push delays in seconds: status changes posted to ``acting``, heard on ``listening``."""
    admin = Shopper(acting.url).login(DEMO_ADMIN[0], DEMO_ADMIN[2])
    buyer = Shopper(acting.url).login(DEMO_SHOPPER[0], DEMO_SHOPPER[2])
    owner = Shopper(listening.url).login(DEMO_SHOPPER[0], DEMO_SHOPPER[2])
    token = admin.csrf_token()  # one per session: fetched once, outside the timing
    stopwatch = Stopwatch()
    sock = owner.connect()
    sock.client.on("order_status", stopwatch.on_status)
    delays: list[float] = []
    try:
        while len(delays) < changes:
            order_id = buy(buyer, PRODUCT)
            for status in STEPS[: changes - len(delays)]:
                form = {"csrf_token": token, "status": status, "note": ""}
                started = time.perf_counter()
                response = admin.http.post(
                    f"{acting.url}/admin/orders/{order_id}/status", data=form, allow_redirects=False
                )
                assert response.status_code == 302, response.status_code
                delays.append(stopwatch.wait((order_id, status)) - started)
    finally:
        sock.close()
    return delays


def run(label: str, workers: int, changes: int, **env: str) -> None:
    url = create_database()
    servers: list[LiveServer] = []
    try:
        prepare_database(url)
        with tempfile.TemporaryDirectory() as logs:
            try:
                for _ in range(workers):
                    servers.append(LiveServer(url, Path(logs), **env).start())
                delays = measure(servers[0], servers[-1], changes)
            finally:
                for server in servers:
                    server.stop()
        print(f"{label:<42} {percentiles(delays)}  ({len(delays)} changes)")
    finally:
        drop_database(url)


def main() -> None:
    changes = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    queue = {"SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS}
    run("one worker, no queue", 1, changes)
    run("one worker, Redis queue", 1, changes, SOCKETIO_CHANNEL=unique_channel(), **queue)
    run("two workers: admin on A, socket on B", 2, changes, SOCKETIO_CHANNEL=unique_channel(), **queue)


if __name__ == "__main__":
    main()
