"""(f) The order conversation: a shopper's message → the admin's socket, on one eventlet
worker with 1,000 idle logged-in sockets connected, beside the order-status push of the
same run and two floors on the same server and sockets.

    .venv/bin/python bench/conversation.py              # about a minute
    .venv/bin/python bench/conversation.py --messages 50

- *message*: the owner's ``send_message`` is sent → the admin's socket, watching the
  order, has the ``message`` (a committed row, notification rows for every admin, the
  pushes after commit);
- *order status*: the admin's ``POST /admin/orders/<id>/status`` is sent → the owner's
  socket has the ``order_status`` (bench (a)'s path);
- floor *typing relay*: the owner's ``typing`` → the admin's socket has the ``typing``:
  the same hop from one socket through the shop's guard to another, with no database;
- floor *ack round trip*: ``unsubscribe_product`` to the owner's own socket and back:
  the guard and the ack, no database, no second socket.

Prints the table (each figure beside the target, p99 under 20 ms for the message) and
writes bench/results/conversation.json. SQLite, as ``make run`` serves.
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
from pathlib import Path
from uuid import uuid4

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import dataset  # noqa: E402
import procs  # noqa: E402
from procs import shop_server  # noqa: E402
from scaleout import admin_session, status_changes  # noqa: E402
from suite import summary_ms  # noqa: E402
from targets import NEXT, Inbox  # noqa: E402

from shop.sockets.presence import MAX_WATCHED_ORDERS  # noqa: E402
from testing import sioclient  # noqa: E402

RESULTS = BENCH / "results"
TARGET_P99_MS = 20.0
IDLE = 1000


class Arrivals:
    """The events one socket receives, by what identifies each; each arrival's time."""

    def __init__(self) -> None:
        self.waiting: dict[tuple, asyncio.Future] = {}

    def expect(self, key: tuple) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiting[key] = future
        return future

    def on_event(self, conn, name: str, data, received: float) -> None:
        if name == "message":
            key = (name, data.get("client_id"))
        elif name == "typing":
            key = (name, data.get("order_id"))
        else:
            return
        future = self.waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(received)


async def one_way(send, arrival: asyncio.Future) -> float:
    sent = time.time()
    await send()
    return await asyncio.wait_for(arrival, 10) - sent


async def messages(owner, admin_arrivals: Arrivals, order_id: int, count: int) -> list[float]:
    found = []
    for _ in range(count):
        client_id = uuid4().hex
        arrival = admin_arrivals.expect(("message", client_id))
        payload = {"order_id": order_id, "body": "Can it ship before Friday?", "client_id": client_id}
        found.append(await one_way(lambda payload=payload: _ok(owner.call("send_message", payload)), arrival))
    return found


async def typings(owner, admin_arrivals: Arrivals, order_ids: list[int], count: int) -> list[float]:
    """Typing is throttled per socket and order: one order after another, none twice a second."""
    found = []
    for n in range(count):
        order_id = order_ids[n % len(order_ids)]
        if n and n % len(order_ids) == 0:
            await asyncio.sleep(1.1)
        arrival = admin_arrivals.expect(("typing", order_id))
        payload = {"order_id": order_id}
        found.append(await one_way(lambda payload=payload: _ok(owner.call("typing", payload)), arrival))
    return found


async def round_trips(owner, count: int) -> list[float]:
    found = []
    for _ in range(count):
        sent = time.time()
        await _ok(owner.call("unsubscribe_product", {"product_id": 1}))
        found.append(time.time() - sent)
    return found


async def statuses(base_url: str, admin_cookie: str, csrf: str, orders: list[int], inbox, count: int):
    admin = sioclient.Http(base_url, admin_cookie)
    (found,) = await status_changes(admin, csrf, orders, [inbox], count)
    return found


async def _ok(call) -> None:
    ack = await call
    if not ack.get("ok"):
        raise RuntimeError(f"refused: {ack}")


async def measure(args: argparse.Namespace, work: Path) -> dict:
    secret = secrets.token_hex(16)
    url = f"sqlite:///{work / 'conversation.db'}"
    orders = args.changes // len(NEXT) + MAX_WATCHED_ORDERS + 2
    data = dataset.build(url, users=IDLE, orders=orders)
    *cookies, owner_cookie = dataset.session_cookies(url, secret, [*data.user_tokens, data.owner_token])
    server_cpus, _ = procs.cores()
    limits = {"MESSAGES_PER_MINUTE": "100000", "SOCKET_EVENT_RATE": "1000", "SOCKET_EVENT_BURST": "1000"}
    server = shop_server("f-conversation", url, "eventlet", secret, server_cpus, work, **limits).start()
    try:
        idle = await sioclient.connect_many(server.url, cookies, deflate=False)
        watched, status_orders = data.order_ids[:MAX_WATCHED_ORDERS], data.order_ids[MAX_WATCHED_ORDERS:]
        admin_cookie, csrf = admin_session(server, status_orders[0])
        arrivals, inbox = Arrivals(), Inbox()
        admin = await sioclient.connect(server.url, cookie=admin_cookie, on_event=arrivals.on_event)
        owner = await sioclient.connect(server.url, cookie=owner_cookie, on_event=inbox.on_event)
        for order_id in watched:
            await _ok(admin.call("watch_order", {"order_id": order_id}))
            await _ok(owner.call("watch_order", {"order_id": order_id}))
        await messages(owner, arrivals, watched[0], 10)  # warm up
        timed = {
            "message": (lambda: messages(owner, arrivals, watched[0], args.messages), args.messages),
            "order_status": (
                lambda: statuses(server.url, admin_cookie, csrf, status_orders, inbox, args.changes),
                args.changes,
            ),
            "floor_typing_relay": (lambda: typings(owner, arrivals, watched, args.messages), args.messages),
            "floor_ack_round_trip": (lambda: round_trips(owner, args.messages), args.messages),
        }
        results = {"idle_sockets": len(idle), "load_average_before": os.getloadavg()[0]}
        for name, (run, count) in timed.items():
            cpu = server.cpu_seconds()
            results[name] = summary_ms(await run())
            results[name]["server_cpu_ms_each"] = round((server.cpu_seconds() - cpu) * 1000 / count, 2)
        results["server_rss_kib"] = server.rss_kib()
        for conn in (*idle, admin, owner):
            conn.closing = True
            conn.close()
        return results
    finally:
        server.stop()


def render(results: dict) -> str:
    def row(name: str, figures: dict, target: str = "") -> str:
        p50, p99, cpu = figures.get("p50_ms"), figures.get("p99_ms"), figures.get("server_cpu_ms_each")
        return f"| {name} | {p50} / {p99} ms | {cpu} ms | {figures.get('n')} | {target} |"

    message = results["message"]
    met = message.get("p99_ms") is not None and message["p99_ms"] < TARGET_P99_MS
    lines = [
        f"(f) order conversation, one eventlet worker, {results['idle_sockets']} idle sockets connected"
        f" (load average {results['load_average_before']:.1f} before)",
        "",
        "| | p50 / p99 | server CPU each | samples | target |",
        "|---|---|---|---|---|",
        row(
            "message: send_message → the admin's socket",
            message,
            f"p99 < {TARGET_P99_MS:.0f} ms: {'met' if met else 'MISSED'}",
        ),
        row("order status: admin POST → the owner's socket", results["order_status"]),
        row("floor: typing relay, socket → socket, no database", results["floor_typing_relay"]),
        row("floor: ack round trip on one socket", results["floor_ack_round_trip"]),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200, help="messages (and floor samples) timed")
    parser.add_argument("--changes", type=int, default=100, help="order status changes timed")
    parser.add_argument("--out", type=Path, default=RESULTS / "conversation.json")
    args = parser.parse_args(argv)
    _, load_cpus = procs.cores()
    os.sched_setaffinity(0, load_cpus)
    procs.raise_fd_limit(20_000)
    work = Path(tempfile.mkdtemp(prefix="hearth-bench-f-"))
    try:
        results = asyncio.run(measure(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(render(results))
    print(f"\nfigures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
