"""The shop exactly as ``python wsgi.py`` serves it, plus one hello-world route.

For measurement (d): the catalogue and ``/bench/hello`` are then served by
the same process, server and middleware (Flask-SocketIO's WSGI wrapper,
Flask-Login, CSRF, the security headers), so their ratio is what the
shop's page costs above the bare stack. Every response also says how many
statements its request sent to the database (``X-Bench-Queries``, BEGIN
not counted), for the query count per page; ``/bench/gc`` says how many
collections of each generation the collector ran so far and the seconds
they took (timed with ``gc.callbacks``), for the collector's share of a run.
"""

import gc
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import wsgi  # noqa: E402  (monkey-patches first, then builds the app)
from serving import serve  # noqa: E402


def hello() -> str:
    return "Hello, world!"


def time_collections():
    """Count and time every collection; return the view that reports them."""
    collections, seconds, started = [0, 0, 0], [0.0, 0.0, 0.0], []

    def timed(phase, info):
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            generation = info["generation"]
            collections[generation] += 1
            seconds[generation] += time.perf_counter() - started[0]

    gc.callbacks.append(timed)
    return lambda: {"collections": collections, "seconds": seconds}


def count_queries(app) -> None:
    from flask import g
    from sqlalchemy import event
    from throughput import QUERIES_HEADER

    from shop.extensions import db

    def counted(_conn, _cursor, statement, _params, _context, _many):
        if g and not statement.startswith("BEGIN"):
            g.bench_queries = g.get("bench_queries", 0) + 1

    def say(response):
        response.headers[QUERIES_HEADER] = str(g.get("bench_queries", 0))
        return response

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", counted)
    app.after_request(say)


if __name__ == "__main__":
    wsgi.app.add_url_rule("/bench/hello", "bench_hello", hello)
    wsgi.app.add_url_rule("/bench/gc", "bench_gc", time_collections())
    count_queries(wsgi.app)
    serve(wsgi.app, host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
