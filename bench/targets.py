"""The three things measured side by side, behind one interface.

A target knows how to open an idle connection, the owner's connection, how
to trigger one order-status push to the owner and one stock push to every
subscriber, and how to subscribe connections. ``ShopTarget`` does it the way
a browser and an admin do on the real shop (session cookies, Origin, CSRF
form posts to the admin pages); the two floors do the least that produces
the same bytes on the wire.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from procs import Server

from testing import sioclient

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
NEXT = {"placed": "processing", "processing": "shipped", "shipped": "delivered"}


@dataclass
class Waiter:
    count: int
    times: list[float] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)  # send time carried by the payload
    done: asyncio.Event = field(default_factory=asyncio.Event)
    http_sent: float = 0.0


class Inbox:
    """Matches pushed events to what a measurement waits for."""

    def __init__(self) -> None:
        self.waiters: dict[tuple, Waiter] = {}
        self.received = 0

    def expect(self, key: tuple, count: int) -> Waiter:
        waiter = Waiter(count)
        self.waiters[key] = waiter
        return waiter

    def forget(self, key: tuple) -> None:
        self.waiters.pop(key, None)

    def on_event(self, conn: sioclient.SioConnection, name: str, data: Any, received: float) -> None:
        self.received += 1
        if name == "order_status":
            key = (name, data["order_id"], data["status"])
        elif name == "stock":
            key = (name, data["product_id"], data["stock"])
        else:
            return
        waiter = self.waiters.get(key)
        if waiter is None:
            return
        waiter.times.append(received)
        sent = payload_time(data)
        if sent is not None:
            waiter.sent.append(sent)
        if len(waiter.times) >= waiter.count:
            waiter.done.set()


def payload_time(data: dict) -> float | None:
    """The send time a payload carries: ``t`` (floors) or ``updated_at`` (the shop)."""
    if "t" in data:
        return data["t"]
    if data.get("updated_at"):
        return datetime.fromisoformat(data["updated_at"]).timestamp()
    return None


class Target:
    name = "target"
    server: Server
    inbox: Inbox
    deflate: bool
    stats: sioclient.Stats
    opened: list[sioclient.SioConnection]  # every connection, to close them all at the end

    async def connect(
        self, count: int, concurrency: int = 64, deflate: bool | None = None, deadline: float | None = None
    ) -> list[sioclient.SioConnection]:
        """Open ``count`` idle connections (``deflate``: make the browser's
        compression offer; None: the target's default)."""
        raise NotImplementedError

    async def connect_owner(self) -> sioclient.SioConnection:
        raise NotImplementedError

    async def _open_many(
        self, cookies: list, concurrency: int, deflate: bool | None, deadline: float | None, **options
    ) -> list[sioclient.SioConnection]:
        """One connection per cookie (None: no cookie), recorded in ``opened``."""
        conns = await sioclient.connect_many(
            self.server.url,
            cookies,
            concurrency=concurrency,
            deadline=deadline,
            deflate=self.deflate if deflate is None else deflate,
            on_event=self.inbox.on_event,
            stats=self.stats,
            **options,
        )
        self.opened += conns
        return conns

    async def subscribe(
        self, conns: list[sioclient.SioConnection], concurrency: int = 64, seconds: float | None = None
    ) -> int:
        return len(conns)

    async def push_status(self, arm: Callable[[tuple], None]) -> float:
        """Trigger one order-status push to the owner; return the HTTP send time.

        ``arm`` is called with the key of the event to wait for before the
        request goes out."""
        raise NotImplementedError

    async def push_stock(self, value: int, arm: Callable[[tuple], None]) -> float:
        """Trigger one stock push to every subscriber; return the HTTP send time."""
        raise NotImplementedError


class ShopTarget(Target):
    name = "shop"

    def __init__(
        self,
        server: Server,
        cookies: list[str],
        owner_cookie: str,
        admin_cookie: str,
        csrf_token: str,
        order_ids: list[int],
        product_id: int,
        deflate: bool,
    ) -> None:
        self.server = server
        self.cookies = cookies
        self.next_cookie = 0
        self.owner_cookie = owner_cookie
        self.admin = sioclient.Http(server.url, admin_cookie)
        self.csrf_token = csrf_token
        self.changes = ((order_id, status) for order_id in order_ids for status in NEXT.values())
        self.product_id = product_id
        self.deflate = deflate
        self.inbox = Inbox()
        self.stats = sioclient.Stats()
        self.opened = []
        self.http_failures = 0

    async def connect(
        self, count: int, concurrency: int = 64, deflate: bool | None = None, deadline: float | None = None
    ) -> list[sioclient.SioConnection]:
        cookies = self.cookies[self.next_cookie : self.next_cookie + count]
        # A ramp that ran out of time (a busy machine) left its cookies unused, not free:
        # what the last ramp lacks for them is counted as not tried instead of failing the run.
        self.stats.not_attempted += count - len(cookies)
        self.next_cookie += len(cookies)
        return await self._open_many(cookies, concurrency, deflate, deadline)

    async def connect_owner(self) -> sioclient.SioConnection:
        conn = await sioclient.connect(
            self.server.url, cookie=self.owner_cookie, deflate=self.deflate, on_event=self.inbox.on_event
        )
        self.opened.append(conn)
        return conn

    async def subscribe(
        self, conns: list[sioclient.SioConnection], concurrency: int = 64, seconds: float | None = None
    ) -> int:
        gate = asyncio.Semaphore(concurrency)
        deadline = None if seconds is None else time.monotonic() + seconds

        async def one(conn: sioclient.SioConnection) -> bool:
            async with gate:
                if deadline is not None and time.monotonic() > deadline:
                    return False
                try:
                    ack = await conn.call("subscribe_product", {"product_id": self.product_id})
                except (TimeoutError, ConnectionError):
                    return False
                return bool(ack.get("ok"))

        return sum(await asyncio.gather(*(one(conn) for conn in conns)))

    async def push_status(self, arm: Callable[[tuple], None]) -> float:
        order_id, status = next(self.changes)
        arm(("order_status", order_id, status))
        return await self._post(f"/admin/orders/{order_id}/status", {"status": status, "note": ""})

    async def push_stock(self, value: int, arm: Callable[[tuple], None]) -> float:
        arm(("stock", self.product_id, value))
        return await self._post(f"/admin/products/{self.product_id}/stock", {"stock": str(value)})

    async def _post(self, path: str, form: dict) -> float:
        sent = time.time()
        status, _ = await self.admin.request("POST", path, {"csrf_token": self.csrf_token, **form})
        if status != 302:
            self.http_failures += 1
            raise RuntimeError(f"POST {path} answered {status}, not 302")
        return sent


class FloorTarget(Target):
    """The minimal Flask-SocketIO app (rooms chosen in the connect auth) or,
    with ``raw=True``, the raw websockets server (room in the query string)."""

    def __init__(self, name: str, server: Server, deflate: bool, raw: bool = False) -> None:
        self.name = name
        self.server = server
        self.deflate = deflate
        self.raw = raw
        self.inbox = Inbox()
        self.stats = sioclient.Stats()
        self.opened = []
        self.http = sioclient.Http(server.url)
        self.rounds = itertools.count()

    def _room_kwargs(self, room: str) -> dict:
        if self.raw:
            return {"raw": True, "path": f"/?room={room}"}
        return {"auth": {"room": room}}

    async def connect(
        self, count: int, concurrency: int = 64, deflate: bool | None = None, deadline: float | None = None
    ) -> list[sioclient.SioConnection]:
        rooms = self._room_kwargs("all")
        return await self._open_many([None] * count, concurrency, deflate, deadline, **rooms)

    async def connect_owner(self) -> sioclient.SioConnection:
        conn = await sioclient.connect(
            self.server.url, deflate=self.deflate, on_event=self.inbox.on_event, **self._room_kwargs("owner")
        )
        self.opened.append(conn)
        return conn

    async def push_status(self, arm: Callable[[tuple], None]) -> float:
        arm(("order_status", 1234, "processing"))
        return await self._emit("owner", "order_status")

    async def push_stock(self, value: int, arm: Callable[[tuple], None]) -> float:
        arm(("stock", 1, 41))
        return await self._emit("all", "stock")

    async def _emit(self, room: str, event: str) -> float:
        sent = time.time()
        status, _ = await self.http.request("GET", f"/emit/{room}/{event}")
        if status != 200:
            raise RuntimeError(f"emit answered {status}")
        return sent
