"""Push delay: an admin's HTTP status change -> the owner's socket has the event.

Starts `python wsgi.py` (eventlet, SQLite) like the tests do, logs in the demo
admin and shopper, and times CHANGES status changes from just before the
admin's POST is sent to the moment the shopper's socket receives the matching
`order_status` event. Prints p50, p95 and max in milliseconds.

    .venv/bin/python bench/push_delay.py [CHANGES]
"""

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shop.seed import DEMO_ADMIN, DEMO_SHOPPER  # noqa: E402
from tests.live import LiveServer, Shopper, prepare_database  # noqa: E402
from tests.realtime.conftest import place_order  # noqa: E402

STEPS = ("processing", "shipped", "delivered")
PRODUCT = 3  # a seeded product with plenty of stock


class Stopwatch:
    """Records when each (order, status) event arrives on the socket."""

    def __init__(self):
        self.arrived: dict[tuple[int, str], float] = {}
        self.changed = threading.Condition()

    def on_status(self, data: dict) -> None:
        with self.changed:
            self.arrived[(data["order_id"], data["status"])] = time.perf_counter()
            self.changed.notify_all()

    def wait(self, key: tuple[int, str], timeout: float = 10) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: key in self.arrived, timeout):
                raise RuntimeError(f"no order_status for {key} within {timeout}s")
            return self.arrived[key]


def measure(server: LiveServer, changes: int) -> tuple[list[float], list[float]]:
    """Return (push delays, HTTP response times) in seconds, one per change."""
    admin = Shopper(server.url).login(DEMO_ADMIN[0], DEMO_ADMIN[2])
    shopper = Shopper(server.url).login(DEMO_SHOPPER[0], DEMO_SHOPPER[2])
    token = admin.csrf_token()  # one per session: fetched once, outside the timing
    stopwatch = Stopwatch()
    sock = shopper.connect()
    sock.client.on("order_status", stopwatch.on_status)
    delays, responses = [], []
    try:
        while len(delays) < changes:
            order_id = place_order(shopper, PRODUCT)
            for status in STEPS[: changes - len(delays)]:
                form = {"csrf_token": token, "status": status, "note": ""}
                started = time.perf_counter()
                response = admin.http.post(
                    f"{server.url}/admin/orders/{order_id}/status", data=form, allow_redirects=False
                )
                responses.append(time.perf_counter() - started)
                assert response.status_code == 302, response.status_code
                delays.append(stopwatch.wait((order_id, status)) - started)
    finally:
        sock.close()
    return delays, responses


def percentiles(seconds: list[float]) -> str:
    values = sorted(value * 1000 for value in seconds)
    p95 = values[max(0, round(0.95 * len(values)) - 1)]
    return f"p50 {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, max {values[-1]:.1f} ms"


def main() -> None:
    changes = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        prepare_database(url)
        server = LiveServer(url, Path(directory)).start()
        try:
            delays, responses = measure(server, changes)
        finally:
            server.stop()
    print(f"push delay over {len(delays)} status changes (eventlet, SQLite), admin POST sent -> event:")
    print(f"  owner's socket has order_status: {percentiles(delays)}")
    print(f"  admin's HTTP response (302):     {percentiles(responses)}")


if __name__ == "__main__":
    main()
