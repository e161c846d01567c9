"""Who is here: presence and typing for the order conversation, across workers.

python-socketio's rooms are per worker, so presence is kept where every worker
sees it: in Redis when a message queue is configured, in this process's memory
for the embedded single process. Each entry carries an expiry that its worker
refreshes while the socket lives; a worker killed with ``kill -9`` stops
refreshing, and its sockets drop out within PRESENCE_TTL_SECONDS.

A socket is *online* from connect to disconnect (a shopper "on the site", an
admin "has the shop open"); it *views* an order between ``watch_order`` and
``unwatch_order`` or disconnect. Every worker recomputes the presence of the
orders its own sockets watch every TICK_SECONDS and tells them (and only
them) when it changed; a change made on this worker is told here at once.

Typing is not stored: throttled per socket and order (TYPING_EVERY_SECONDS), sent
to the other side and to the other admins, and shown by the client for
TYPING_SECONDS (on <body>) unless it comes again.
"""

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from flask import Flask

from shop.extensions import socketio
from shop.models.message import SHOP_NAME
from shop.realtime import publisher
from shop.realtime.rooms import order_room, order_shop_room
from shop.services.errors import InvalidInput
from shop.services.messages import Watch
from shop.sockets.tasks import TaskWhileBusy

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
MAX_WATCHED_ORDERS = 20
TYPING_EVERY_SECONDS = 1.0  # at most one typing event per socket and order this often
REDIS_CONNECTIONS = 16  # per worker


class MemoryStore:
    """Presence for one process: dictionaries with expiry times."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self.sockets: dict[str, tuple[int, bool, float]] = {}
        self.viewers: dict[int, dict[str, tuple[str, float]]] = {}

    def add_socket(self, sid: str, user_id: int, admin: bool, ttl: float) -> None:
        self.sockets[sid] = (user_id, admin, self.clock() + ttl)

    def add_sockets(self, sockets: dict[str, tuple[int, bool]], ttl: float) -> None:
        for sid, (user_id, admin) in sockets.items():
            self.add_socket(sid, user_id, admin, ttl)

    def remove_socket(self, sid: str, user_id: int, admin: bool) -> None:
        self.sockets.pop(sid, None)

    def view(self, order_id: int, sid: str, name: str, ttl: float) -> None:
        self.viewers.setdefault(order_id, {})[sid] = (name, self.clock() + ttl)

    def unview(self, order_id: int, sid: str) -> None:
        self.viewers.get(order_id, {}).pop(sid, None)

    def refresh(self, sockets: dict[str, tuple[int, bool]], views: list[tuple[str, Watch]], ttl: float):
        for sid, (user_id, admin) in sockets.items():
            self.add_socket(sid, user_id, admin, ttl)
        for sid, watch in views:
            self.view(watch.order_id, sid, watch.name, ttl)

    def user_online(self, user_id: int) -> bool:
        now = self.clock()
        return any(u == user_id and expires > now for u, _, expires in self.sockets.values())

    def shop_online(self) -> bool:
        now = self.clock()
        return any(admin and expires > now for _, admin, expires in self.sockets.values())

    def viewing(self, order_id: int) -> list[str]:
        now = self.clock()
        return sorted({name for name, expires in self.viewers.get(order_id, {}).values() if expires > now})


class RedisStore:
    """Presence shared by every worker: sorted sets whose scores are expiry times."""

    def __init__(self, url: str, prefix: str, clock=time.time):
        # Bounded: thousands of handlers at once (a reconnect storm, a worker's sockets all
        # leaving) wait for one of these instead of each opening a connection of its own.
        pool = redis.BlockingConnectionPool.from_url(url, max_connections=REDIS_CONNECTIONS, timeout=5)
        self.redis = redis.Redis(connection_pool=pool, socket_timeout=5)
        self.prefix = prefix
        self.clock = clock

    def _user(self, user_id: int) -> str:
        return f"{self.prefix}:user:{user_id}"

    def _admins(self) -> str:
        return f"{self.prefix}:admins"

    def _order(self, order_id: int) -> str:
        return f"{self.prefix}:order:{order_id}"

    def add_socket(self, sid: str, user_id: int, admin: bool, ttl: float) -> None:
        self.add_sockets({sid: (user_id, admin)}, ttl)

    def add_sockets(self, sockets: dict[str, tuple[int, bool]], ttl: float, pipe=None) -> None:
        expires = self.clock() + ttl
        pipe = pipe or self.redis.pipeline(transaction=False)
        for sid, (user_id, admin) in sockets.items():
            pipe.zadd(self._user(user_id), {sid: expires})
            pipe.expire(self._user(user_id), int(ttl) + 1)
            if admin:
                pipe.zadd(self._admins(), {sid: expires})
        pipe.execute()

    def remove_socket(self, sid: str, user_id: int, admin: bool) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrem(self._user(user_id), sid)
        if admin:
            pipe.zrem(self._admins(), sid)
        pipe.execute()

    def view(self, order_id: int, sid: str, name: str, ttl: float) -> None:
        self.redis.zadd(self._order(order_id), {json.dumps([sid, name]): self.clock() + ttl})

    def unview(self, order_id: int, sid: str) -> None:
        key = self._order(order_id)
        for member in self.redis.zrange(key, 0, -1):
            if json.loads(member)[0] == sid:
                self.redis.zrem(key, member)

    def refresh(self, sockets: dict[str, tuple[int, bool]], views: list[tuple[str, Watch]], ttl: float):
        pipe = self.redis.pipeline(transaction=False)
        expires = self.clock() + ttl
        for sid, watch in views:
            pipe.zadd(self._order(watch.order_id), {json.dumps([sid, watch.name]): expires})
        self.add_sockets(sockets, ttl, pipe)

    def user_online(self, user_id: int) -> bool:
        return self.redis.zcount(self._user(user_id), self.clock(), "+inf") > 0

    def shop_online(self) -> bool:
        now = self.clock()
        self.redis.zremrangebyscore(self._admins(), "-inf", now)
        return self.redis.zcount(self._admins(), now, "+inf") > 0

    def viewing(self, order_id: int) -> list[str]:
        key, now = self._order(order_id), self.clock()
        self.redis.zremrangebyscore(key, "-inf", now)
        return sorted({json.loads(member)[1] for member in self.redis.zrangebyscore(key, now, "+inf")})


class Presence:
    """This worker's sockets and the orders they watch, over a shared store.

    With ``write_every`` (the Redis store) a new socket is added by a task of the
    worker, with every other added since, in one round trip ``write_every``
    seconds after the first, not in its connect handler; until then this worker
    counts it from ``adding``. Without (the memory store), at once.
    """

    def __init__(self, store, ttl: float, write_every: float | None = None):
        self.store = store
        self.ttl = ttl
        self.write_every = write_every
        self.sockets: dict[str, tuple[int, bool]] = {}
        self.adding: dict[str, tuple[int, bool]] = {}
        self.writer = TaskWhileBusy(self._add_after_a_while, lambda: bool(self.adding))
        self.watches: dict[str, dict[int, Watch]] = {}
        self.last_told: dict[int, tuple] = {}
        self.typed: dict[tuple[str, int], float] = {}

    def connected(self, sid: str, user_id: int, admin: bool) -> None:
        self.sockets[sid] = (user_id, admin)
        if self.write_every is None:
            self.store.add_socket(sid, user_id, admin, self.ttl)
            return
        with self.writer.lock:
            self.adding[sid] = (user_id, admin)
        self.writer.wake()

    def _add_after_a_while(self) -> None:
        socketio.sleep(self.write_every)
        with self.writer.lock:
            adding, self.adding = self.adding, {}
        with store_may_fail("add sockets"):
            self.store.add_sockets(adding, self.ttl)
        for sid in adding.keys() - self.sockets.keys():  # left while being added
            with store_may_fail("remove a socket"):
                self.store.remove_socket(sid, *adding[sid])

    def disconnected(self, sid: str) -> None:
        for watch in list(self.watches.get(sid, {}).values()):
            self.unwatch(sid, watch.order_id)
        self.watches.pop(sid, None)
        user = self.sockets.pop(sid, None)
        with self.writer.lock:
            still_adding = self.adding.pop(sid, None) is not None
        if user is not None and not still_adding:
            with store_may_fail("remove a socket"):
                self.store.remove_socket(sid, *user)

    def _user_online(self, user_id: int) -> bool:
        return any(user == user_id for user, _ in self._adding()) or self.store.user_online(user_id)

    def _shop_online(self) -> bool:
        return any(admin for _, admin in self._adding()) or self.store.shop_online()

    def _adding(self) -> list[tuple[int, bool]]:
        with self.writer.lock:
            return list(self.adding.values())

    def watch(self, sid: str, watch: Watch) -> dict:
        """Start watching and tell the order's watchers here; the presence as this side sees it."""
        watched = self.watches.setdefault(sid, {})
        if len(watched) >= MAX_WATCHED_ORDERS and watch.order_id not in watched:
            raise InvalidInput(f"Watch at most {MAX_WATCHED_ORDERS} orders at once.")
        watched[watch.order_id] = watch
        if watch.for_shop:
            with store_may_fail("add a viewer"):
                self.store.view(watch.order_id, sid, watch.name, self.ttl)
        customer, shop = self.tell(watch.order_id, watch.owner_id)
        return shop if watch.for_shop else customer

    def unwatch(self, sid: str, order_id: int) -> None:
        watch = self.watches.get(sid, {}).pop(order_id, None)
        if watch is None:
            return
        self.typed.pop((sid, order_id), None)
        if watch.for_shop:
            with store_may_fail("remove a viewer"):
                self.store.unview(order_id, sid)
            self.tell(order_id, watch.owner_id)

    def watching(self, sid: str, order_id: int) -> Watch:
        watch = self.watches.get(sid, {}).get(order_id)
        if watch is None:
            raise InvalidInput("Watch the order first (watch_order).")
        return watch

    def payloads(self, order_id: int, owner_id: int, shop_online: bool | None = None) -> tuple[dict, dict]:
        """The order's presence as the customer and as the shop see it (nobody, while
        the store cannot be read: its entries are back at the next refresh).
        ``shop_online`` is the same for every order: a tick reads it once."""
        customer = {"order_id": order_id, "customer_online": False, "shop_online": False}
        viewing: list[str] = []
        with store_may_fail("read presence"):
            online = self._shop_online() if shop_online is None else shop_online
            customer.update(customer_online=self._user_online(owner_id), shop_online=online)
            viewing = self.store.viewing(order_id)
        return customer, {**customer, "viewing": viewing}

    def tell(self, order_id: int, owner_id: int) -> tuple[dict, dict]:
        """Push the order's presence to its watchers on this worker now; the other workers
        tell theirs at their next tick. (Each worker telling only its own sockets keeps
        ``last_told`` true to what they were told, so that no change goes unsaid.)"""
        customer, shop = self.payloads(order_id, owner_id)
        publisher.send_here("presence", customer, order_room(order_id))
        publisher.send_here("presence", shop, order_shop_room(order_id))
        self.last_told[order_id] = (customer, shop)
        return customer, shop

    def tick(self, refresh: bool) -> None:
        """Refresh this worker's entries; tell its own watchers what changed (expiry included)."""
        if refresh:
            views = [(sid, w) for sid, ws in self.watches.items() for w in ws.values() if w.for_shop]
            with store_may_fail("refresh this worker's entries"):
                self.store.refresh(dict(self.sockets), views, self.ttl)
        orders = {w.order_id: w.owner_id for ws in self.watches.values() for w in ws.values()}
        for order_id in list(self.last_told):
            if order_id not in orders:
                del self.last_told[order_id]
        shop_online = None
        if orders:
            with store_may_fail("read presence"):
                shop_online = self._shop_online()
        for order_id, owner_id in orders.items():
            customer, shop = self.payloads(order_id, owner_id, shop_online)
            if self.last_told.get(order_id) != (customer, shop):
                self.last_told[order_id] = (customer, shop)
                publisher.send_here("presence", customer, order_room(order_id))
                publisher.send_here("presence", shop, order_shop_room(order_id))

    def typing(self, sid: str, order_id: int, now: float | None = None) -> None:
        """Tell the other side (and the other admins) that this socket's person types; throttled."""
        watch = self.watching(sid, order_id)
        now = time.monotonic() if now is None else now
        if now - self.typed.get((sid, order_id), float("-inf")) < TYPING_EVERY_SECONDS:
            return
        self.typed[(sid, order_id)] = now
        if watch.for_shop:  # the customer sees the shop type, never which admin
            shown = {"order_id": order_id, "name": SHOP_NAME, "is_shop": True}
            publisher.send("typing", shown, order_room(order_id))
        payload = {"order_id": order_id, "name": watch.name, "is_shop": watch.for_shop}
        publisher.send("typing", payload, order_shop_room(order_id), skip_sid=sid)


@contextmanager
def store_may_fail(what: str) -> Iterator[None]:
    """Redis down must not refuse a connection or fail an event: presence is a hint,
    and every entry comes back at its worker's next refresh."""
    try:
        yield
    except redis.RedisError as exc:
        log.warning("presence: could not %s: %s", what, exc)


_presence: Presence | None = None


def init_presence(app: Flask) -> None:
    global _presence
    config = app.config
    url = config["SOCKETIO_MESSAGE_QUEUE"]
    if url and url.startswith(("redis://", "rediss://")):
        store = RedisStore(url, f"{config['SOCKETIO_CHANNEL']}:presence")
        _presence = Presence(store, config["PRESENCE_TTL_SECONDS"], config["SOCKET_RECORD_SECONDS"])
    else:
        _presence = Presence(MemoryStore(), config["PRESENCE_TTL_SECONDS"])


def presence() -> Presence:
    assert _presence is not None, "init_presence was not called"
    return _presence


class PresenceKeeper:
    """The worker's job, every TICK_SECONDS: recompute what its sockets are shown, and
    refresh its entries a few times per PRESENCE_TTL_SECONDS."""

    def __init__(self) -> None:
        self.ticks = 0

    def run(self, app: Flask) -> None:
        every = max(1, int(app.config["PRESENCE_TTL_SECONDS"] / 3 / TICK_SECONDS))
        presence().tick(refresh=self.ticks % every == 0)
        self.ticks += 1
