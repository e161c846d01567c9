"""``make bench``: every figure of issue 6 beside its floor, in one run.

    .venv/bin/python bench/run.py                 # the full run (6-7 minutes)
    .venv/bin/python bench/run.py --scale 0.1     # a quick smoke run, 1/10 of the load
    .venv/bin/python bench/run.py --modes eventlet --parts a,b,c

Prints a table and writes bench/results/latest.json (and a copy named by
the time). Servers run on the first core, this load generator and wrk on
the other; the open-file limit is raised to the hard limit (20,000 here).

Per async mode, two servers in turn, each measured in one pass (bench/suite.py):
- the shop: 1,000 idle shoppers connect without compression offer, the
  owner, (a) 200 status changes, (b) stock changes to 1,000 then 5,000
  subscribers, then (c) the ramp goes on to 10,000 with the browser's
  compression offer; under the first mode (eventlet) the same server also
  answers the client check and (d)'s page load, before any socket and with
  the 5,000 subscribers connected, and those 5,000 first sit idle for
  REST_SECONDS (the server's CPU at rest; the minimal app's too);
- the minimal Flask-SocketIO app: the same, plain frames throughout, and
  the last ramp (with the offer) to 7,001.
Under threading both stop at 2,000 connections, (b) at 1,000 (see below).
Then the raw websockets floor (a)-(c), gunicorn gthread for (d), and two
workers on Redis for (e). (g), the position check's cost per round with
10,000 idle sockets (bench/positions.py), runs only when named: --parts g.
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
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import check_client  # noqa: E402
import dataset  # noqa: E402
import positions  # noqa: E402
import procs  # noqa: E402
import report  # noqa: E402
import scaleout  # noqa: E402
import throughput  # noqa: E402
from procs import PYTHON, Server, shop_server  # noqa: E402
from suite import Plan, progress, run_suite  # noqa: E402
from targets import FloorTarget, ShopTarget  # noqa: E402

from testing.shopper import Shopper, admin_on  # noqa: E402

MODES = ("eventlet", "gevent", "threading")
PARTS = ("check", "a", "b", "c", "d", "e")
ON_REQUEST = ("g",)  # not in a default run (it would double its time)
RESULTS = BENCH / "results"
REDIS_URL = "redis://127.0.0.1:6379/0"
# Engine.IO's ping interval (config.py's SOCKETIO_PING_INTERVAL, the library's default):
# every socket's ping falls in the window once, whether the server spreads them or
# sends them in bursts (the minimal app's sockets, connected together, ping together).
REST_SECONDS = 25.0


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.parts = set(args.parts)
        self.server_cpus, self.load_cpus = procs.cores()
        self.work = Path(tempfile.mkdtemp(prefix="hearth-bench-"))
        self.log_dir = RESULTS / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.secret = secrets.token_hex(32)
        scale = args.scale
        self.plan = Plan(
            idle=max(10, int(1000 * scale)),
            changes=max(20, int(200 * scale)),
            fanouts=(max(10, int(1000 * scale)), max(20, int(5000 * scale))),
            fanout_rounds=args.rounds,
            total=max(40, int(10_000 * scale)),
            ramp_seconds=args.step_seconds,
        )
        # The floors' last ramp (with the offer) is 2,000 connections: enough
        # for a figure per connection, at a fraction of the time.
        self.floor_plan = replace(
            self.plan, total=self.plan.fanouts[-1] + 1 + max(20, int(2000 * scale)), fanout_offer=False
        )
        self.plan.last_ramp_seconds = args.ramp_seconds
        # Threading mode runs four OS threads per connection (the request's,
        # simple-websocket's reader, Engine.IO's writer and ping task): a ramp towards
        # 5,000 livelocked the server (load average above 6,000, no progress for
        # minutes). It is measured up to 2,000 connections, (b) at 1,000.
        threading_total = max(40, int(2000 * scale))
        self.threading_plans = (
            replace(self.plan, fanouts=self.plan.fanouts[:1], total=threading_total),
            replace(self.floor_plan, fanouts=self.plan.fanouts[:1], total=threading_total),
        )
        self.results: dict = {}
        self.started = time.monotonic()

    # -- data ------------------------------------------------------------------
    def prepare(self) -> None:
        started = time.monotonic()
        self.template = self.work / "template.db"
        orders = self.plan.changes // 3 + 4
        self.data = dataset.build(self._url(self.template), users=self.plan.total, orders=orders)
        tokens = [*self.data.user_tokens, self.data.owner_token]
        *self.cookies, self.owner_cookie = dataset.session_cookies(
            self._url(self.template), self.secret, tokens
        )
        self.results["prepare_seconds"] = round(time.monotonic() - started, 1)

    def _url(self, path: Path) -> str:
        return f"sqlite:///{path}"

    def fresh_database(self, name: str) -> str:
        path = self.work / f"{name}.db"
        shutil.copyfile(self.template, path)
        return self._url(path)

    # -- servers ---------------------------------------------------------------
    def shop(self, name: str, mode: str, hello: bool = False) -> Server:
        """``python wsgi.py`` (with ``hello``: bench/shop_hello.py, the same plus one route)."""
        server = shop_server(
            name, self.fresh_database(name), mode, self.secret, self.server_cpus, self.log_dir
        )
        if hello:
            server.argv = [PYTHON, str(BENCH / "shop_hello.py")]
        return server.start()

    def floor(self, name: str, mode: str | None) -> Server:
        script = "floor_raw.py" if mode is None else "floor_flask.py"
        env = {} if mode is None else {"SOCKETIO_ASYNC_MODE": mode}
        return Server(name, [PYTHON, str(BENCH / script)], env, self.server_cpus, self.log_dir).start()

    def shop_target(self, server: Server, deflate: bool) -> ShopTarget:
        admin = admin_on(server.url)
        csrf = admin.csrf_token(f"/admin/orders/{self.data.order_ids[0]}")
        # One signed cookie, checked against the server before it is trusted 10,000 times.
        probe = Shopper(server.url)
        probe.http.headers["Cookie"] = self.cookies[0]
        if probe.get("/orders", allow_redirects=False).status_code != 200:
            raise RuntimeError("a bench session cookie was not accepted by the shop")
        return ShopTarget(
            server,
            self.cookies,
            self.owner_cookie,
            admin.cookie_header,
            csrf,
            self.data.order_ids,
            self.data.fanout_product_id,
            deflate,
        )

    # -- runs ------------------------------------------------------------------
    async def run(self) -> dict:
        if set(self.parts) - set(ON_REQUEST):
            progress(f"data: {self.plan.total:,} signed-in shoppers and the owner's orders")
            self.prepare()
        if self.parts & {"check", "a", "b", "c", "d"}:
            for mode in self.args.modes:
                what = f"{mode}: the shop, then the minimal Flask-SocketIO app"
                await self.timed(mode, what, lambda mode=mode: self.push_suite(mode))
        if self.parts & {"a", "b", "c"}:
            await self.timed("raw", "the raw websockets floor", self.raw_floor)
        if "d" in self.parts:
            await self.timed("gthread", "(d) the same app under gunicorn's gthread worker", self.gthread)
        if "e" in self.parts:
            await self.timed("e", "(e) two workers on PostgreSQL and Redis", self.scaleout)
        if "g" in self.parts:
            await self.timed("g", "(g) the position check with 10,000 idle sockets", self.positions)
        return self.results

    async def timed(self, name: str, what: str, step) -> None:
        started = time.monotonic()
        progress(f"{what} ...")
        try:
            await step()
        except Exception as exc:  # one broken step must not lose the others' figures
            self.results.setdefault("errors", {})[name] = repr(exc)
            progress(f"{name} failed: {exc!r}")
        seconds = self.results.setdefault("seconds", {})[name] = round(time.monotonic() - started, 1)
        progress(f"{name} done in {seconds} s, {time.monotonic() - self.started:.0f} s so far")
        save(self.args.out, self.results)  # a run stopped half-way keeps what it measured

    async def push_suite(self, mode: str) -> None:
        """The shop, then the minimal app, on one async mode (see the module docstring)."""
        found = self.results.setdefault("modes", {}).setdefault(mode, {})
        main = mode == self.args.modes[0]
        extras = main and bool(self.parts & {"check", "d"})
        shop_plan, floor_plan = self.threading_plans if mode == "threading" else (self.plan, self.floor_plan)
        if main:
            shop_plan = replace(shop_plan, rest_seconds=REST_SECONDS)
            floor_plan = replace(floor_plan, rest_seconds=REST_SECONDS)
        server = self.shop(f"shop-{mode}", mode, hello=extras)
        found["shop"] = await self._suite(
            server, lambda: self.shop_target(server, True), shop_plan, probe=extras
        )
        if self.parts & {"a", "b", "c"}:
            server = self.floor(f"minimal-{mode}", mode)
            found["minimal"] = await self._suite(
                server, lambda: FloorTarget("minimal", server, False), floor_plan
            )

    async def raw_floor(self) -> None:
        server = self.floor("raw", None)
        self.results["raw"] = await self._suite(
            server, lambda: FloorTarget("raw", server, False, raw=True), self.floor_plan
        )

    async def _suite(
        self, server: Server, make_target, plan: Plan | None = None, probe: bool = False
    ) -> dict:
        """Run on a started server; then kill the server first, so that closing
        10,000 sockets costs it nothing, and close every socket opened."""
        target = None
        try:
            target = make_target()
            if probe and "check" in self.parts:
                progress(f"{server.name}: client check, three tabs of one shopper")
                self.results["client_check"] = await self.check(target)
            plan = plan or self.plan
            if probe and not self.parts & {"a", "b", "c"}:
                plan = replace(plan, total=self.plan.fanouts[-1] + 1, last_ramp_seconds=0)
            result = await run_suite(
                target, plan, self.pages(server) if probe and "d" in self.parts else None
            )
            result["http_failures"] = getattr(target, "http_failures", 0)
            return result
        finally:
            opened = target.opened if target is not None else []
            for conn in opened:
                conn.closing = True
            server.stop()
            for conn in opened:
                conn.close()

    async def check(self, target: ShopTarget) -> dict:
        return await check_client.check(
            target.server.url,
            self.owner_cookie,
            target.admin,
            target.csrf_token,
            self.data.order_ids[-1],
            self.data.fanout_product_id + 1,
        )

    def pages(self, server: Server):
        """(d) on the shop's own server: the catalogue and hello-world, by wrk."""
        seconds = self.args.wrk_seconds

        async def probe(sockets: int) -> dict:
            found = await throughput.measure(
                server,
                seconds,
                self.load_cpus,
                signed_in=self.owner_cookie,
                pages=None if sockets else self.signed_in_pages(),
            )
            self.results.setdefault("d", {})["sockets_0" if not sockets else "sockets_loaded"] = {
                "sockets": sockets,
                **found,
            }
            return found

        return probe

    def signed_in_pages(self) -> dict[str, str]:
        """The pages a signed-in shopper loads most, as the owner (their cart, their order)."""
        return {
            "catalogue": "/",
            "product page": f"/products/{self.data.fanout_product_id}",
            "cart": "/cart",
            "order page": f"/orders/{self.data.order_ids[-1]}",
        }

    async def gthread(self) -> None:
        """(d)'s reference: the same app, HTTP only, under gunicorn's gthread worker."""
        env = {
            "SHOP_CONFIG": "development",
            "SECRET_KEY": self.secret,
            "DATABASE_URL": self.fresh_database("gthread"),
            "SOCKETIO_ASYNC_MODE": "threading",
        }
        server = throughput.gunicorn_server(env, self.server_cpus, self.log_dir).start()
        try:
            found = await throughput.measure(
                server, self.args.wrk_seconds, self.load_cpus, hello=False, signed_in=self.owner_cookie
            )
            self.results.setdefault("d", {})["gthread"] = found
        finally:
            server.stop()

    async def scaleout(self) -> None:
        channel = f"hearth-bench-{secrets.token_hex(4)}"
        self.results["e"] = await scaleout.measure(
            self.secret, channel, self.args.e_changes, self.server_cpus, self.log_dir, REDIS_URL
        )

    async def positions(self) -> None:
        sockets = max(100, int(10_000 * self.args.scale))
        self.results["g"] = await positions.measure(
            sockets, 1.0, 30.0, ["sqlite", "postgresql"], self.work, self.log_dir
        )

    def cleanup(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def save(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--modes", default=",".join(MODES), help="async modes, the first also serves (d)")
    parser.add_argument("--parts", default=",".join(PARTS), help="check,a,b,c,d,e (and g on request)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full load (0.1 = smoke)")
    parser.add_argument("--rounds", type=int, default=5, help="stock changes per fan-out size")
    parser.add_argument(
        "--ramp-seconds", type=float, default=45, help="the shop's last ramp (to 10,000) stops starting then"
    )
    parser.add_argument(
        "--step-seconds", type=float, default=60, help="any other ramp, (a), or fan-out size stops then"
    )
    parser.add_argument("--e-changes", type=int, default=100, help="status changes per (e) configuration")
    parser.add_argument("--wrk-seconds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    args.modes = [mode for mode in args.modes.split(",") if mode]
    args.parts = [part for part in args.parts.split(",") if part]
    unknown = set(args.modes) - set(MODES) | set(args.parts) - set(PARTS) - set(ON_REQUEST)
    if unknown or not args.modes:
        parser.error(f"unknown: {', '.join(sorted(unknown))}" if unknown else "name at least one mode")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bench = Bench(args)
    os.sched_setaffinity(0, bench.load_cpus)
    fd_limit = procs.raise_fd_limit(20_000)
    started = time.monotonic()
    load_before = os.getloadavg()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        results = runner(bench.run())
    finally:
        bench.cleanup()
    results["machine"] = report.machine(fd_limit, bench.server_cpus, bench.load_cpus, load_before)
    results["scale"] = args.scale
    results["total_seconds"] = round(time.monotonic() - started, 1)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    save(args.out, results)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    save(args.out.parent / f"run-{stamp}.json", results)
    print(report.render(results))
    print(f"\nfigures written to {args.out}")
    return 1 if results.get("errors") else 0


if __name__ == "__main__":
    sys.exit(main())
