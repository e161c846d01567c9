"""Soak the shop: many sockets connected, steady checkouts and admin status
changes, then check what must hold.

    python -m tests.soak.soak --seconds 60 --sockets 500

It starts its own server (``python wsgi.py`` on eventlet, its own SQLite
file), signs in ``--users`` shoppers over HTTP, opens ``--sockets`` Socket.IO
connections spread over them (testing/sioclient.py, the bench's light asyncio
client, with permessage-deflate offered as browsers do), and for ``--seconds`` runs
shoppers that add to the cart and check out, and an admin who moves orders
along or cancels them. A few products are scarce, so checkouts race for them.

At the end it checks: no product oversold (stock + units in live orders is
the starting stock, and no stock below zero); every notification in the
database reached every socket of its owner, exactly once after de-duplication
by seq; no HTTP error, error ack or dropped socket; the server's resident
memory at the end within 10% of its plateau. It prints a JSON report and
exits 1 when something did not hold.
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import func, select

from shop.extensions import db
from shop.models import Notification, Order, OrderItem, Product, User
from shop.seed import DEMO_ADMIN
from testing import sioclient
from testing.apps import app_on, database_session
from testing.data import PASSWORD, password_hash
from testing.processes import rss_kib
from testing.server import LiveServer, prepare_database
from testing.shopper import Shopper, checkout_fields

SCARCE = {1: 6, 2: 4, 3: 3}  # product id -> starting stock: checkouts race for these
PLENTY = 100_000
NEXT = {
    "placed": ["processing", "cancelled"],
    "processing": ["shipped", "cancelled"],
    "shipped": ["delivered"],
}


class Report:
    """What happened, shared by the threads and the socket loop."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts: dict[str, int] = defaultdict(int)
        self.errors: list[str] = []

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1

    def error(self, what: str) -> None:
        with self.lock:
            self.counts["errors"] += 1
            if len(self.errors) < 50:
                self.errors.append(what)


# -- set-up ---------------------------------------------------------------------------


def setup_database(url: str, users: int) -> list[str]:
    """The demo data, plenty of stock except a few scarce products, and the soak's shoppers
    (with the tests' cheap password hash: signing in 100 shoppers is not what the soak measures)."""
    prepare_database(url)
    emails = [f"soak-{n}@example.com" for n in range(users)]
    with database_session(url) as session:
        for product in session.scalars(select(Product)):
            product.stock = SCARCE.get(product.id, PLENTY)
            product.active = True
        session.add_all(
            User(email=email, name=f"Soak {n}", password_hash=password_hash())
            for n, email in enumerate(emails)
        )
        session.commit()
    return emails


# -- the socket side --------------------------------------------------------------------


class Inbox:
    """What one socket received: every notification's payload by seq, and how many came twice."""

    def __init__(self, user: str, report: Report):
        self.user = user
        self.report = report
        self.seqs: dict[int, dict] = {}
        self.duplicates = 0
        self.conn: sioclient.SioConnection | None = None

    def on_event(self, _conn, event: str, payload, _received: float) -> None:
        if event != "notification":
            return
        self.report.count("notifications received")
        seq = payload["seq"]
        if seq in self.seqs:
            self.duplicates += 1
            if self.seqs[seq] != payload:
                self.report.error(f"{self.user}: seq {seq} arrived twice with different payloads")
        self.seqs[seq] = payload


async def open_sockets(url: str, cookies: dict[str, str], count: int, report: Report) -> list[Inbox]:
    """``count`` connections spread over the users, each synced once; their inboxes
    (each holding its connection)."""
    users = list(cookies)
    inboxes = [Inbox(users[n % len(users)], report) for n in range(count)]
    for batch in range(0, count, 50):
        chunk = inboxes[batch : batch + 50]
        conns = await asyncio.gather(
            *(sioclient.connect(url, cookie=cookies[i.user], on_event=i.on_event, timeout=60) for i in chunk)
        )
        answers = await asyncio.gather(*(conn.call("sync", {"after_seq": 0}) for conn in conns))
        for inbox, conn, answer in zip(chunk, conns, answers, strict=True):
            inbox.conn = conn
            if not answer.get("ok"):
                report.error(f"{inbox.user}: sync answered {answer}")
    return inboxes


# -- the HTTP side ----------------------------------------------------------------------


def expect(response, allowed: tuple[int, ...], what: str, report: Report) -> bool:
    if response.status_code in allowed:
        return True
    report.error(f"{what} answered {response.status_code}")
    return False


def shop_once(shopper: Shopper, report: Report, rng: random.Random) -> None:
    """Add one or two products, then check out; a scarce product may be gone (409)."""
    product = rng.choice([*SCARCE, *range(4, 20)])
    added = shopper.http.post(
        f"{shopper.base_url}/cart/add/{product}",
        data={"csrf_token": shopper.token, "quantity": rng.randint(1, 2)},
        allow_redirects=False,
        timeout=60,
    )
    if not expect(added, (302, 409), "add to cart", report) or added.status_code == 409:
        report.count("refused: out of stock")
        return
    form = checkout_fields(shopper.http.get(f"{shopper.base_url}/checkout", timeout=60).text)
    placed = shopper.http.post(
        f"{shopper.base_url}/checkout",
        data={"csrf_token": shopper.token, **form},
        allow_redirects=False,
        timeout=60,
    )
    if expect(placed, (302, 409), "checkout", report):
        report.count("orders placed" if placed.status_code == 302 else "refused: out of stock")
        if placed.status_code == 409:
            shopper.http.post(
                f"{shopper.base_url}/cart/remove/{product}",
                data={"csrf_token": shopper.token},
                allow_redirects=False,
                timeout=60,
            )


def run_shopper(shoppers: list[Shopper], until: float, pause: float, report: Report, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        try:
            shop_once(rng.choice(shoppers), report, rng)
        except Exception as exc:  # noqa: BLE001
            report.error(f"shopper: {exc!r}")
        time.sleep(pause)


def run_admin(admin: Shopper, url: str, until: float, pause: float, report: Report) -> None:
    """Move a random open order one step along (sometimes cancelling it)."""
    rng = random.Random(7)
    app = app_on(url)
    while time.monotonic() < until:
        with app.app_context():
            open_orders = db.session.execute(
                select(Order.id, Order.status)
                .where(Order.status.in_(list(NEXT)))
                .order_by(Order.id.desc())
                .limit(50)
            ).all()
            db.session.remove()
        if open_orders:
            order_id, status = rng.choice(open_orders)
            response = admin.http.post(
                f"{admin.base_url}/admin/orders/{order_id}/status",
                data={"csrf_token": admin.token, "status": rng.choice(NEXT[status])},
                allow_redirects=False,
                timeout=60,
            )
            # 409: the shopper cancelled it meanwhile, or another step won the race
            if expect(response, (302, 409), "status change", report) and response.status_code == 302:
                report.count("status changes")
        time.sleep(pause)


def sign_in(url: str, email: str, password: str = PASSWORD) -> Shopper:
    shopper = Shopper(url).login(email, password)
    shopper.token = shopper.csrf_token("/cart")
    return shopper


# -- memory ----------------------------------------------------------------------------------


def sample_rss(pid: int, until: threading.Event, samples: list[tuple[float, int]]) -> None:
    start = time.monotonic()
    while not until.is_set():
        samples.append((time.monotonic() - start, rss_kib(pid)))
        until.wait(1)


def memory_verdict(samples: list[tuple[float, int]], workload_end: float) -> dict:
    """The plateau is the median RSS over the middle of the workload (40% to 70%
    of it, after the sockets and caches have warmed up); the end is the last
    sample, taken after the checks."""
    plateau_window = [kib for at, kib in samples if 0.4 * workload_end <= at <= 0.7 * workload_end]
    plateau = statistics.median(plateau_window or [kib for _, kib in samples])
    end = samples[-1][1]
    return {"plateau_kib": plateau, "end_kib": end, "end_over_plateau": round(end / plateau, 3)}


# -- the checks ----------------------------------------------------------------------------------


def check_stock(url: str) -> dict:
    with database_session(url) as session:
        stock = dict(session.execute(select(Product.id, Product.stock)).all())
        sold = dict(
            session.execute(
                select(OrderItem.product_id, func.sum(OrderItem.quantity))
                .join(Order)
                .where(Order.status != "cancelled")
                .group_by(OrderItem.product_id)
            ).all()
        )
    oversold = {
        pid: sold.get(pid, 0) - SCARCE.get(pid, PLENTY)
        for pid in stock
        if stock[pid] < 0 or stock[pid] + sold.get(pid, 0) != SCARCE.get(pid, PLENTY)
    }
    return {"oversold": oversold, "scarce_left": {pid: stock[pid] for pid in SCARCE}}


def persisted_seqs(url: str, emails: dict[str, str]) -> dict[str, dict[int, dict]]:
    """Every user's notifications as the database has them, by seq."""
    with database_session(url) as session:
        rows = session.execute(
            select(User.email, Notification).join(Notification, Notification.user_id == User.id)
        )
        found: dict[str, dict[int, dict]] = defaultdict(dict)
        for email, note in rows:
            found[email][note.seq] = note.to_payload()
    return {email: found.get(email, {}) for email in emails}


async def wait_for_delivery(
    sockets: list[Inbox], expected: dict[str, dict[int, dict]], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(expected[sock.user].keys() <= sock.seqs.keys() for sock in sockets):
            return
        await asyncio.sleep(0.2)


def check_delivery(sockets: list[Inbox], expected: dict[str, dict[int, dict]], report: Report) -> dict:
    missing = extra = changed = 0
    for sock in sockets:
        want, got = expected[sock.user], sock.seqs
        missing += len(want.keys() - got.keys())
        extra += len(got.keys() - want.keys())
        changed += sum(1 for seq in want.keys() & got.keys() if want[seq] != got[seq])
    if missing or extra or changed:
        report.error(f"delivery: {missing} missing, {extra} unknown, {changed} different")
    return {
        "notifications_persisted": sum(len(seqs) for seqs in expected.values()),
        "deliveries_expected": sum(len(expected[sock.user]) for sock in sockets),
        "missing": missing,
        "unknown": extra,
        "different": changed,
        "duplicates_dropped": sum(sock.duplicates for sock in sockets),
    }


# -- the run -----------------------------------------------------------------------------------------


async def soak(args) -> dict:
    report = Report()
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    url = f"sqlite:///{folder / 'soak.db'}"
    emails = setup_database(url, args.users)
    server = LiveServer(url, folder, LOGIN_RATE_LIMIT="100000 per minute").start()
    rss: list[tuple[float, int]] = []
    stop_sampling = threading.Event()
    try:
        sampler = threading.Thread(
            target=sample_rss, args=(server.process.pid, stop_sampling, rss), daemon=True
        )
        sampler.start()
        shoppers = [sign_in(server.url, email) for email in emails]
        admin = sign_in(server.url, DEMO_ADMIN[0], DEMO_ADMIN[2])
        cookies = {email: shopper.cookie_header for email, shopper in zip(emails, shoppers, strict=True)}
        cookies[DEMO_ADMIN[0]] = admin.cookie_header
        sockets = await open_sockets(server.url, cookies, args.sockets, report)
        report.counts["sockets"] = len(sockets)
        started = time.monotonic()
        until = started + args.seconds
        actors = [
            # each thread has its own shoppers: one cart is never checked out by two threads at once
            threading.Thread(
                target=run_shopper, args=(shoppers[n :: args.shoppers], until, args.pause, report, n)
            )
            for n in range(args.shoppers)
        ]
        actors.append(threading.Thread(target=run_admin, args=(admin, url, until, args.pause, report)))
        for actor in actors:
            actor.start()
        while any(actor.is_alive() for actor in actors):
            await asyncio.sleep(0.5)
        workload_end = time.monotonic() - started
        expected = persisted_seqs(url, cookies)
        await wait_for_delivery(sockets, expected, timeout=120)
        delivery = check_delivery(sockets, expected, report)
        for sock in sockets:
            if sock.conn.closed:
                report.error(f"socket of {sock.user} was closed by the server")
            sock.conn.close()
        stock = check_stock(url)
        time.sleep(2)
    finally:
        stop_sampling.set()
        server.stop()
    memory = memory_verdict(rss, workload_end)
    verdict = {
        "zero_oversold": stock["oversold"] == {},
        "every_notification_once": delivery["missing"] == delivery["unknown"] == delivery["different"] == 0,
        "no_errors": report.counts["errors"] == 0,
        "memory_within_10_percent": memory["end_over_plateau"] <= 1.10,
    }
    return {
        "ok": all(verdict.values()),
        "verdict": verdict,
        "seconds": args.seconds,
        "counts": dict(report.counts),
        "errors": report.errors,
        "stock": stock,
        "delivery": delivery,
        "memory": memory,
    }


def parse(argv: list[str]):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--sockets", type=int, default=500)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--shoppers", type=int, default=3, help="threads checking out at once")
    parser.add_argument("--pause", type=float, default=0.1, help="seconds each actor waits between actions")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    result = asyncio.run(soak(parse(sys.argv[1:] if argv is None else argv)))
    print(json.dumps(result, indent=2, default=str))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
