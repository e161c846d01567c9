"""Push latency to other clients while an admin uploads large photos, with the
image work offloaded (IMAGE_CONCURRENCY=1, the default) and on the event loop
(IMAGE_CONCURRENCY=0), beside the same pushes with no upload at all (the floor).

    .venv/bin/python bench/uploads.py               # about two minutes
    .venv/bin/python bench/uploads.py --uploads 3   # a shorter run

One eventlet server (`python wsgi.py`) per setting, on a seeded SQLite file of
its own. A shopper's socket follows a product; an admin sets its stock every
PUSH_EVERY seconds (the admin page's form, over keep-alive HTTP) and the time
from sending that form to the shopper's `stock` event is one push's latency.
Meanwhile a second admin uploads a photo of about 9 MB (a 9-megapixel JPEG of
noise) again and again. Nothing asserts: it prints the figures.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import socketio
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from testing.data import insert_product  # noqa: E402
from testing.server import LiveServer, prepare_database  # noqa: E402
from testing.shopper import CSRF, admin_on, shopper_on  # noqa: E402

PUSH_EVERY = 0.05


def big_photo(megapixels: float = 9) -> bytes:
    """A JPEG of noise (it hardly compresses): about 9 MB for 9 megapixels."""
    width = int((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = width * 3 // 4
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, "JPEG", quality=92)
    return out.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Pushes:
    """Stock changes sent by an admin, each timed to a follower's socket."""

    def __init__(self, server: LiveServer, product_id: int):
        self.admin = admin_on(server.url)
        page = f"/admin/products/{product_id}/edit"
        self.token = CSRF.search(self.admin.get(page).text).groups()
        self.url = f"{server.url}/admin/products/{product_id}/stock"
        self.sent: dict[int, float] = {}
        self.latencies: list[float] = []
        self.arrived = threading.Event()
        follower = shopper_on(server.url)
        self.socket = socketio.Client(reconnection=False)
        self.socket.on("stock", self._received)
        self.socket.connect(server.url, headers={"Cookie": follower.cookie_header}, transports=["websocket"])
        assert self.socket.call("subscribe_product", {"product_id": product_id}, timeout=10)["ok"]
        self.stock = 1000

    def _received(self, payload: dict) -> None:
        sent = self.sent.pop(payload["stock"], None)
        if sent is not None:
            self.latencies.append(time.perf_counter() - sent)
            self.arrived.set()

    def push(self) -> None:
        self.stock += 1
        self.arrived.clear()
        self.sent[self.stock] = time.perf_counter()
        token = self.token[0] or self.token[1]
        response = self.admin.http.post(
            self.url, data={"csrf_token": token, "stock": self.stock}, allow_redirects=False, timeout=60
        )
        assert response.status_code == 302, response.status_code
        self.arrived.wait(30)

    def run_while(self, busy: threading.Event | None, count: int) -> list[float]:
        """``count`` pushes (or, with ``busy``, pushes for as long as it is set); the latencies."""
        self.latencies = []
        while (busy.is_set() if busy else len(self.latencies) < count) or not self.latencies:
            started = time.perf_counter()
            self.push()
            time.sleep(max(0.0, PUSH_EVERY - (time.perf_counter() - started)))
        return list(self.latencies)

    def close(self) -> None:
        self.socket.disconnect()


def uploads(server: LiveServer, product_id: int, photo: bytes, count: int, busy: threading.Event, took: list):
    admin = admin_on(server.url)
    try:
        for number in range(count):
            started = time.perf_counter()
            response = admin.upload_photos(product_id, (f"big-{number}.jpg", photo))
            assert response.status_code == 302, response.text[:300]
            took.append(time.perf_counter() - started)
    finally:
        busy.clear()


def measure(setting: str, concurrency: int, photo: bytes, count: int, work: Path) -> dict:
    folder = work / setting.replace(" ", "-")
    folder.mkdir()
    url = f"sqlite:///{folder / 'shop.db'}"
    prepare_database(url)
    watched, uploaded = insert_product(url, stock=1000), insert_product(url)
    server = LiveServer(url, folder, IMAGE_CONCURRENCY=str(concurrency), MAX_PHOTOS_PER_PRODUCT="100").start()
    try:
        pushes = Pushes(server, watched)
        try:
            pushes.run_while(None, 20)  # warm up
            floor = pushes.run_while(None, 100)
            busy, took = threading.Event(), []
            busy.set()
            uploader = threading.Thread(target=uploads, args=(server, uploaded, photo, count, busy, took))
            uploader.start()
            during = pushes.run_while(busy, 0)
            uploader.join()
        finally:
            pushes.close()
    finally:
        server.stop()
    return {"floor": floor, "during": during, "upload_seconds": took}


def row(label: str, values: list[float]) -> str:
    ms = [value * 1000 for value in values]
    return (
        f"{label:<34} {len(ms):>6} {statistics.median(ms):>8.1f} {percentile(ms, 0.99):>8.1f} {max(ms):>9.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--uploads", type=int, default=8, help="uploads of the large photo per setting")
    args = parser.parse_args(argv)
    photo = big_photo()
    print(
        f"photo: {len(photo) / 1e6:.1f} MB, {Image.open(io.BytesIO(photo)).size}; a push every {PUSH_EVERY}s"
    )
    print("load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as work:
        for setting, concurrency in (("offloaded", 1), ("on the loop", 0)):
            results[setting] = measure(setting, concurrency, photo, args.uploads, Path(work))
    print(f"\n{'push latency, ms':<34} {'pushes':>6} {'p50':>8} {'p99':>8} {'max':>9}")
    for setting, figures in results.items():
        print(row(f"{setting}: no upload (floor)", figures["floor"]))
        print(row(f"{setting}: during uploads", figures["during"]))
    print("load average after: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    for setting, figures in results.items():
        seconds = figures["upload_seconds"]
        print(f"{setting}: one upload took {statistics.median(seconds):.2f} s (median of {len(seconds)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
