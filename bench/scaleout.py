"""(e) Two eventlet workers on PostgreSQL and Redis: cross-worker push latency.

First one worker alone (no message queue), the owner's socket on it; then
two workers sharing a Redis channel of their own, the owner connected to
both (two tabs), every status change posted to worker A: the tab on A
measures same-worker latency through the queue, the tab on B cross-worker.
Each run uses its own PostgreSQL database, dropped at the end.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import dataset
from procs import Server, shop_server
from suite import summary_ms
from targets import NEXT, Inbox

from testing import sioclient
from testing.services import postgres_database
from testing.shopper import admin_on


def admin_session(server: Server, order_id: int) -> tuple[str, str]:
    """A real admin login over HTTP: (Cookie header, CSRF token of its session)."""
    admin = admin_on(server.url)
    token = admin.csrf_token(f"/admin/orders/{order_id}")
    return admin.cookie_header, token


async def status_changes(
    admin: sioclient.Http, csrf: str, orders: list[int], inboxes: list[Inbox], count: int
) -> list[list[float]]:
    """Post ``count`` status changes; per inbox, the latency of each."""
    latencies: list[list[float]] = [[] for _ in inboxes]
    steps = ((order_id, status) for order_id in orders for status in NEXT.values())
    for _ in range(count):
        order_id, status = next(steps)
        key = ("order_status", order_id, status)
        waiters = [inbox.expect(key, 1) for inbox in inboxes]
        sent = time.time()
        code, _ = await admin.request(
            "POST", f"/admin/orders/{order_id}/status", {"csrf_token": csrf, "status": status, "note": ""}
        )
        if code != 302:
            raise RuntimeError(f"status change answered {code}")
        for waiter, found in zip(waiters, latencies, strict=True):
            try:
                await asyncio.wait_for(waiter.done.wait(), 10)
                found.append(waiter.times[0] - sent)
            except TimeoutError:
                pass
        for inbox in inboxes:
            inbox.forget(key)
    return latencies


async def measure(
    secret: str, channel: str, changes: int, cpus: set[int], log_dir: Path, redis_url: str
) -> dict:
    orders_needed = 2 * (changes // len(NEXT) + 1)
    with postgres_database() as url:
        data = dataset.build(url, users=0, orders=orders_needed)
        owner_cookie = dataset.session_cookies(url, secret, [data.owner_token])[0]
        half = len(data.order_ids) // 2
        single = await _single(url, secret, owner_cookie, data.order_ids[:half], changes, cpus, log_dir)
        pair = await _pair(
            url, secret, owner_cookie, data.order_ids[half:], changes, cpus, log_dir, redis_url, channel
        )
    return {
        "database": "postgresql",
        "queue": f"{redis_url} channel {channel}",
        "single_worker": summary_ms(single),
        "same_worker_via_queue": summary_ms(pair[0]),
        "cross_worker": summary_ms(pair[1]),
    }


async def _single(url, secret, owner_cookie, orders, changes, cpus, log_dir) -> list[float]:
    server = shop_server("e-single", url, "eventlet", secret, cpus, log_dir).start()
    try:
        cookie, csrf = admin_session(server, orders[0])
        inbox = Inbox()
        owner = await sioclient.connect(server.url, cookie=owner_cookie, on_event=inbox.on_event)
        admin = sioclient.Http(server.url, cookie)
        (latencies,) = await status_changes(admin, csrf, orders, [inbox], changes)
        owner.closing = True
        return latencies
    finally:
        server.stop()


async def _pair(url, secret, owner_cookie, orders, changes, cpus, log_dir, redis_url, channel):
    queue = {"SOCKETIO_MESSAGE_QUEUE": redis_url, "SOCKETIO_CHANNEL": channel}
    workers = [shop_server(f"e-worker-{n}", url, "eventlet", secret, cpus, log_dir, **queue) for n in "ab"]
    try:
        for worker in workers:
            worker.start()
        cookie, csrf = admin_session(workers[0], orders[0])
        inboxes = [Inbox(), Inbox()]
        tabs = [
            await sioclient.connect(worker.url, cookie=owner_cookie, on_event=inbox.on_event)
            for worker, inbox in zip(workers, inboxes, strict=True)
        ]
        await asyncio.sleep(0.5)  # both workers subscribed to the channel
        admin = sioclient.Http(workers[0].url, cookie)
        latencies = await status_changes(admin, csrf, orders, inboxes, changes)
        for tab in tabs:
            tab.closing = True
        return latencies
    finally:
        for worker in workers:
            worker.stop()
