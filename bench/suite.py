"""Measurements (a), (b) and (c) on one running target, in one pass.

One server run:
1. 1,000 idle clients connect *without* the compression offer: the server's
   memory growth over them is (c)'s plain figure;
2. the owner connects and (a) pushes 200 order-status changes to them;
3. those 1,000 subscribe to a product, (b)'s first fan-out; 4,000 more
   connect and subscribe for the 5,000 fan-out; when the plan says so, they
   then sit idle a while, the server's CPU over them their cost at rest;
4. the ramp goes on to the total (10,000 for the shop) *with* the browser's
   compression offer, idle: the memory growth over it is (c)'s offer figure,
   and refused or dropped connections are counted.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from targets import Target

from testing import sioclient

SETTLE_SECONDS = 1.0

Probe = Callable[[int], Awaitable[dict]]


@dataclass
class Plan:
    idle: int = 1000  # (a): other idle clients connected (opened plain: (c)'s plain figure)
    changes: int = 200  # (a): status changes measured
    fanouts: tuple[int, ...] = (1000, 5000)  # (b): subscriber counts
    fanout_rounds: int = 3  # (b): stock changes per subscriber count
    fanout_offer: bool = True  # (b): its new connections make the compression offer
    total: int = 10_000  # (c): connections held at the end, the last ramp with the offer
    concurrency: int = 64  # handshakes in flight during a ramp
    ramp_seconds: float | None = 60  # any ramp, (a) or a fan-out size stops starting new work after this long
    last_ramp_seconds: float | None = None  # the same for the last ramp (default: ramp_seconds)
    rest_seconds: float = 0.0  # then the largest fan-out's sockets idle this long, the server's CPU read


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def print_latencies(title: str, unit: str, rows: list[tuple[str, list[float], float]]) -> None:
    """A table of (name, latencies in seconds, CPU seconds per item): p50, p99, CPU per ``unit``."""
    print(f"\n{title}")
    print(f"{'':42} {'p50 ms':>9} {'p99 ms':>9} {'CPU ms/' + unit:>12}")
    for name, latencies, cpu in rows:
        p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
        print(f"{name:42} {p50:9.1f} {p99:9.1f} {cpu * 1000:12.2f}")


def summary_ms(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50_ms": _ms(percentile(values, 50)),
        "p95_ms": _ms(percentile(values, 95)),
        "p99_ms": _ms(percentile(values, 99)),
        "max_ms": _ms(max(values) if values else None),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


async def push_latency(target: Target, changes: int, seconds: float | None = None) -> dict:
    """(a): HTTP request sent → the owner's socket has the event (for at most ``seconds``)."""
    end_to_end, push_leg, lost = [], [], 0
    deadline = None if seconds is None else time.monotonic() + seconds
    for _ in range(changes):
        if deadline is not None and time.monotonic() > deadline:
            break
        try:
            key, waiter = await _trigger(target, target.push_status, 1)
        except RuntimeError:  # the server answered the change with an error: nothing to wait for
            lost += 1
            continue
        try:
            await asyncio.wait_for(waiter.done.wait(), 10)
        except TimeoutError:
            lost += 1
            continue
        finally:
            target.inbox.forget(key)
        end_to_end.append(waiter.times[0] - waiter.http_sent)
        if waiter.sent:
            push_leg.append(waiter.times[0] - waiter.sent[0])
    return {"end_to_end": summary_ms(end_to_end), "from_payload_time": summary_ms(push_leg), "lost": lost}


async def fanout(
    target: Target, subscribers: int, rounds: int, first_value: int, seconds: float | None = None
) -> dict:
    """(b): one stock change → time until the median and the last subscriber has it."""
    medians, lasts, legs, missing = [], [], [], 0
    deadline = None if seconds is None else time.monotonic() + seconds
    for round_no in range(rounds):
        if deadline is not None and time.monotonic() > deadline:
            break
        value = first_value + round_no
        try:
            key, waiter = await _trigger(target, lambda arm, v=value: target.push_stock(v, arm), subscribers)
        except RuntimeError:
            missing += subscribers
            continue
        try:
            await asyncio.wait_for(waiter.done.wait(), 30)
        except TimeoutError:
            missing += subscribers - len(waiter.times)
        finally:
            target.inbox.forget(key)
        if not waiter.times:
            continue
        times = sorted(waiter.times)
        medians.append(times[len(times) // 2] - waiter.http_sent)
        lasts.append(times[-1] - waiter.http_sent)
        if waiter.sent:
            legs.append(times[-1] - waiter.sent[0])
        await asyncio.sleep(0.2)  # let the server drain before the next round
    return {
        "subscribers": subscribers,
        "rounds": rounds,
        "median_ms": _ms(percentile(medians, 50)),
        "last_ms": _ms(percentile(lasts, 50)),
        "last_worst_ms": _ms(max(lasts) if lasts else None),
        "last_from_payload_ms": _ms(percentile(legs, 50)),
        "missing": missing,
    }


async def _trigger(target: Target, push, count: int):
    """Push, with the waiter for the resulting event armed before the request
    goes out (the target names the event's key first), so none arrives unseen."""
    armed = {}

    def arm(key: tuple) -> None:
        armed["key"] = key
        armed["waiter"] = target.inbox.expect(key, count)

    sent = await push(arm)
    waiter = armed["waiter"]
    waiter.http_sent = sent
    return armed["key"], waiter


class CpuMeter:
    """The server's CPU time spent from now on, per operation."""

    def __init__(self, target: Target) -> None:
        self.server = target.server
        self.start = self.server.cpu_seconds()

    def per(self, operations: int) -> float | None:
        if not operations:
            return None
        return round((self.server.cpu_seconds() - self.start) * 1000 / operations, 3)


async def at_rest(target: Target, sockets: int, seconds: float) -> dict:
    """The share of a core the server spends while ``sockets`` idle sockets are all it
    has: their own cost (pings, timers, the collector), read off the process in one
    window rather than from two throughput runs a minute apart on a host whose speed moves."""
    await asyncio.sleep(SETTLE_SECONDS)
    start, started = target.server.cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    return {
        "sockets": sockets,
        "seconds": round(elapsed, 1),
        "server_cpu_share": round((target.server.cpu_seconds() - start) / elapsed, 4),
    }


class Ramps:
    """Every connection ramp of one run: how many, how long, how much server CPU."""

    def __init__(self, target: Target, concurrency: int, seconds_limit: float | None = None) -> None:
        self.target = target
        self.concurrency = concurrency
        self.seconds_limit = seconds_limit
        self.count = 0
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    async def open(
        self, count: int, deflate: bool | None = None, seconds: float | None = None
    ) -> list[sioclient.SioConnection]:
        if count <= 0:
            return []
        seconds = self.seconds_limit if seconds is None else seconds
        server = self.target.server
        started, cpu = time.monotonic(), server.cpu_seconds()
        deadline = None if seconds is None else started + seconds
        conns = await self.target.connect(count, self.concurrency, deflate, deadline)
        self.seconds += time.monotonic() - started
        self.cpu_seconds += server.cpu_seconds() - cpu
        self.count += len(conns)
        return conns

    def figures(self) -> dict:
        return {
            "ramp_per_s": round(self.count / self.seconds) if self.seconds else None,
            "server_cpu_ms_per_connect": round(self.cpu_seconds * 1000 / self.count, 3)
            if self.count
            else None,
        }


async def run_suite(target: Target, plan: Plan, probe: Probe | None = None) -> dict:
    """(a), (b), (c) against one freshly started server (see the module docstring).

    ``probe(sockets)``, when given, runs on the fresh server and again with the
    largest fan-out's subscribers still connected: (d) measures page
    throughput there.
    """
    server = target.server
    result: dict = {"target": target.name}
    lap = Laps(result.setdefault("seconds", {}))
    ramps = Ramps(target, plan.concurrency, plan.ramp_seconds)
    await asyncio.sleep(SETTLE_SECONDS)
    if probe is not None:
        progress(f"{server.name}: (d) pages with wrk, no socket connected")
        result["probe_idle"] = await probe(0)
        lap("d_idle")
    rss_start = server.rss_kib()
    progress(f"{server.name}: {plan.idle:,} idle sockets connecting, no compression offer")
    conns = await ramps.open(plan.idle, deflate=False)
    await asyncio.sleep(SETTLE_SECONDS)
    rss_plain = server.rss_kib()
    conns.insert(0, await target.connect_owner())
    lap("idle_ramp")
    meter = CpuMeter(target)
    progress(f"{server.name}: (a) {plan.changes} status changes, each to the owner's socket")
    result["a"] = {"idle_clients": plan.idle, **await push_latency(target, plan.changes, plan.ramp_seconds)}
    result["a"]["server_cpu_ms_per_change"] = meter.per(plan.changes)
    lap("a")
    result["b"] = await fanouts(target, plan, conns, ramps)
    lap("b")
    if plan.rest_seconds:
        progress(f"{server.name}: {len(conns):,} sockets at rest for {plan.rest_seconds:.0f} s")
        result["at_rest"] = await at_rest(target, len(conns), plan.rest_seconds)
        lap("at_rest")
    if probe is not None:
        progress(f"{server.name}: (d) pages with wrk, {len(conns):,} sockets connected")
        result["probe_loaded"] = await probe(len(conns))
        lap("d_loaded")
    await asyncio.sleep(SETTLE_SECONDS)
    rss_before, before = server.rss_kib(), len(conns)
    progress(f"{server.name}: (c) ramp to {plan.total:,} sockets with the browser's compression offer")
    conns += await ramps.open(plan.total - len(conns), deflate=True, seconds=plan.last_ramp_seconds)
    result["c"] = {
        "wanted": plan.total,
        **await hold(target, conns, rss_start),
        "kib_per_connection_plain": _per(rss_plain - rss_start, plan.idle),
        "kib_per_connection_offer": _per(target.server.rss_kib() - rss_before, len(conns) - before),
        "offer_sample": len(conns) - before,
        **ramps.figures(),
    }
    lap("c")
    return result


def progress(text: str) -> None:
    """A line per step on stderr, so that a long run shows what it is doing."""
    print(f"[{time.strftime('%H:%M:%S')}]   {text}", file=sys.stderr, flush=True)


class Laps:
    """Wall time per step of a run, so a slow benchmark shows where it spends it."""

    def __init__(self, into: dict) -> None:
        self.into = into
        self.last = time.monotonic()

    def __call__(self, step: str) -> None:
        now = time.monotonic()
        self.into[step] = round(now - self.last, 1)
        self.last = now


def _per(kib: int, connections: int) -> float | None:
    return round(kib / connections, 1) if connections > 0 else None


async def fanouts(target: Target, plan: Plan, conns: list, ramps: Ramps) -> list[dict]:
    """(b) for each subscriber count, growing ``conns`` (owner first) as needed."""
    found = []
    value = 100
    for subscribers in plan.fanouts:
        progress(
            f"{target.server.name}: (b) {subscribers:,} subscribers: connecting, subscribing, "
            f"{plan.fanout_rounds} stock changes"
        )
        conns += await ramps.open(subscribers + 1 - len(conns), deflate=plan.fanout_offer)
        started, meter = time.monotonic(), CpuMeter(target)
        subscribed = await target.subscribe(conns[1 : subscribers + 1], plan.concurrency, plan.ramp_seconds)
        subscribing = {
            "seconds": round(time.monotonic() - started, 1),
            "server_cpu_ms_each": meter.per(subscribers),
        }
        meter = CpuMeter(target)
        item = await fanout(target, subscribed, plan.fanout_rounds, value, plan.ramp_seconds)
        item["server_cpu_ms_per_change"] = meter.per(plan.fanout_rounds)
        item["subscribing"] = subscribing
        found.append(item)
        value += plan.fanout_rounds
    return found


async def hold(target: Target, conns: list[sioclient.SioConnection], rss_start: int) -> dict:
    """Settle, then read memory, open connections and losses."""
    await asyncio.sleep(SETTLE_SECONDS)
    rss_end = target.server.rss_kib()
    held = sum(1 for conn in conns if not conn.closed)
    stats = target.stats
    return {
        "attempted": len(conns) + stats.refused,
        "held": held,
        "refused": stats.refused,
        "dropped": stats.dropped,
        "not_attempted": stats.not_attempted,
        "errors": stats.errors,
        "rss_start_mib": round(rss_start / 1024, 1),
        "rss_end_mib": round(rss_end / 1024, 1),
        "kib_per_connection": round((rss_end - rss_start) / max(held, 1), 1),
        "server_fds": target.server.open_fds(),
        "server_threads": target.server.threads(),
    }
