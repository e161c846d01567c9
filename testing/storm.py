"""A reconnect storm, for tests/scaleout/test_storm.py and bench/storm.py.

Every shopper's socket is open on one of the workers; both workers die at once
(SIGKILL) with their sockets on them; while they are down each shopper falls
``products`` notifications behind (products they wait for come back, set from
the CLI); the workers restart and every socket reconnects and syncs as the
browser client does (static/js/live/): socket.io-client's reconnect backoff, a
refused connect (``server_busy``) tried again with the same backoff, a sync
refused as ``server_busy`` asked again after a short spread-out pause, up to
three times, then at the next position check.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import insert

from shop.models import StockWatch
from testing import crowd
from testing.apps import database_session
from testing.data import insert_product
from testing.server import LiveServer
from testing.sioclient import ConnectRefused, SioConnection, connect

POSITION_CHECK_SECONDS = 15  # the shop's default: when a browser that gave up on a sync hears again
SYNC_RETRIES = 3


def waiting_crowd(
    database_url: str, secret: str, shoppers: int, products: int
) -> tuple[list[str], list[int]]:
    """``shoppers`` signed-in shoppers, each waiting for the same ``products`` sold-out
    products; their cookies (signed with ``secret``) and the products."""
    product_ids = [insert_product(database_url, stock=0) for _ in range(products)]
    with database_session(database_url, SECRET_KEY=secret) as session:
        user_ids = crowd.insert_shoppers(shoppers, prefix="storm")
        watches = [{"user_id": u, "product_id": p} for u in user_ids for p in product_ids]
        session.execute(insert(StockWatch), watches)
        session.commit()
        cookies = crowd.session_cookies(current_app, crowd.insert_sessions(user_ids))
    return cookies, product_ids


def backoff(attempt: int, base: float, most: float) -> float:
    """static/js/live/socket.js's backoff (socket.io-client's own for reconnects)."""
    return min(base * 2**attempt, most) * (0.5 + random.random())


def reconnect_delay(attempt: int) -> float:
    return backoff(attempt, 1.0, 10.0)


def busy_delay(attempt: int) -> float:
    return backoff(attempt, 0.5, 4.0)


class Tab:
    """One browser tab's socket: the notifications pushed to it and those it synced."""

    def __init__(self, url: str, cookie: str):
        self.url, self.cookie = url, cookie
        self.pushed: list[int] = []
        self.synced: list[int] = []
        self.refusals: list[str] = []
        self.caught_up_at: float | None = None

    def record(self, _conn: SioConnection, event: str, data, _received: float) -> None:
        if event == "notification":
            self.pushed.append(data["seq"])

    async def connect(self) -> SioConnection:
        """Connect as the browser does: after a refusal or a failure, again after its backoff."""
        attempt = 0
        while True:
            try:
                return await connect(self.url, cookie=self.cookie, on_event=self.record, timeout=30)
            except ConnectRefused as refused:
                self.refusals.append(f"connect refused: {refused}"[:60])
            except (TimeoutError, OSError):
                self.refusals.append("connect failed")
            await asyncio.sleep(reconnect_delay(attempt))
            attempt += 1

    async def reconnect_and_sync(self) -> SioConnection:
        """Reconnect after the browser's first delay, then sync until current."""
        await asyncio.sleep(reconnect_delay(0))
        while True:
            conn = await self.connect()
            after, busy = 0, 0  # 0: what this tab had seen before the storm
            while not conn.closed:
                try:
                    ack = await conn.call("sync", {"after_seq": after}, timeout=60)
                except (TimeoutError, ConnectionError):
                    break
                if not ack["ok"]:
                    self.refusals.append(ack["error"]["code"])
                    retry = ack["error"]["code"] == "server_busy" and busy < SYNC_RETRIES
                    await asyncio.sleep(busy_delay(busy) if retry else POSITION_CHECK_SECONDS)
                    busy = busy + 1 if retry else 0
                    continue
                self.synced += [n["seq"] for n in ack["notifications"]]
                after = ack["up_to_seq"]
                if not ack["more"]:
                    self.caught_up_at = time.monotonic()
                    return conn


@dataclass
class StormResult:
    shoppers: int
    connected_seconds: float  # the first connects, before the storm
    caught_up_seconds: float  # from both workers serving again to the last tab current
    caught_up_at: list[float]  # each tab's time to catch up, from the same moment, sorted
    behind: int  # tabs whose syncs did not give exactly the missed notifications
    twice: int  # tabs pushed a seq twice, or one that does not exist
    refusals: Counter = field(default_factory=Counter)


async def storm(
    workers: list[LiveServer],
    cookies: list[str],
    product_ids: list[int],
    restarted: Callable[[], None] | None = None,
    log: Callable[[str], None] = print,
) -> StormResult:
    """Run the storm; ``restarted()`` is called once every worker serves again."""
    tabs = [Tab(workers[i % len(workers)].url, cookie) for i, cookie in enumerate(cookies)]
    began = time.monotonic()
    opened = await asyncio.gather(*(tab.connect() for tab in tabs))
    connected_seconds = time.monotonic() - began
    log(f"{len(tabs)} sockets connected in {connected_seconds:.1f} s")
    for worker in workers:
        worker.stop(signal.SIGKILL)
    for product_id in product_ids:  # while every socket is down: one notification each
        began = time.monotonic()
        done = workers[0].cli("stock", "set", str(product_id), "5", timeout=300)
        log(f"stock set for {len(tabs)} watchers took {time.monotonic() - began:.1f} s")
        assert done.returncode == 0, done.stderr
    reconnecting = [asyncio.create_task(tab.reconnect_and_sync()) for tab in tabs]
    try:
        for worker in workers:
            await asyncio.to_thread(worker.start, 60)
        started = time.monotonic()
        if restarted is not None:
            restarted()
        await asyncio.wait_for(asyncio.gather(*reconnecting), timeout=600)
        took = time.monotonic() - started
    finally:
        for task in reconnecting:
            task.cancel()
        for conn in opened + [task.result() for task in reconnecting if task.done() and not task.cancelled()]:
            conn.close()
    expected = list(range(1, len(product_ids) + 1))
    return StormResult(
        shoppers=len(tabs),
        connected_seconds=connected_seconds,
        caught_up_seconds=took,
        caught_up_at=sorted(tab.caught_up_at - started for tab in tabs if tab.caught_up_at is not None),
        behind=sum(tab.synced != expected for tab in tabs),
        twice=sum(len(t.pushed) != len(set(t.pushed)) or not set(t.pushed) <= set(expected) for t in tabs),
        refusals=Counter(code for tab in tabs for code in tab.refusals),
    )
