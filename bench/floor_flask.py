"""Floor 1: a minimal hand-written Flask-SocketIO app on the shop's async mode.

No login, no database: a client joins the room named in its connect auth
(``{"room": ...}``, default ``all``) and ``GET /emit/<room>/<event>`` emits a
payload shaped like the shop's (same keys, same size) plus ``t``, the send
time. It is served the way the shop serves itself (shop/server.py):
``socketio.run`` with the same listen backlog, connection cap, collector
thresholds and, under gevent, TCP_NODELAY. Unlike the shop it accepts the
browser's compression offer, as Flask-SocketIO does by default (the bench
runs it with the offer and without). Whatever the shop costs above this is
the shop's own.

Run: ``SOCKETIO_ASYNC_MODE=eventlet PORT=5001 python bench/floor_flask.py``
"""

import os

MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "eventlet")
if MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
elif MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

import gc  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from functools import partial  # noqa: E402

from flask import Flask  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

BACKLOG = 2048
MAX_CONNECTIONS = 12000

app = Flask(__name__)
socketio = SocketIO(app, async_mode=MODE, cors_allowed_origins="*", logger=False, engineio_logger=False)


@socketio.on("connect")
def on_connect(auth=None):
    join_room((auth or {}).get("room", "all"))


@app.route("/emit/<room>/<event>")
def emit(room: str, event: str):
    socketio.emit(event, payload(event), to=room)
    return "ok"


@app.route("/healthz")
def healthz():
    return "ok"


def payload(event: str) -> dict:
    if event == "order_status":
        return {
            "order_id": 1234,
            "status": "processing",
            "previous_status": "placed",
            "updated_at": datetime.now(UTC).isoformat(),
            "t": time.time(),
        }
    return {"product_id": 1, "stock": 41, "in_stock": True, "t": time.time()}


def serve(host: str, port: int) -> None:
    options: dict = {"log_output": False}
    if MODE == "eventlet":
        eventlet.listen = partial(eventlet.listen, backlog=BACKLOG)
        options["max_size"] = MAX_CONNECTIONS
    elif MODE == "gevent":
        from gevent import pywsgi

        class NoDelayHandler(pywsgi.WSGIHandler):
            def __init__(self, sock, *args, **kwargs):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                super().__init__(sock, *args, **kwargs)

        options.update(handler_class=NoDelayHandler, backlog=BACKLOG, spawn=MAX_CONNECTIONS)
    else:
        options["allow_unsafe_werkzeug"] = True
    tune_gc()
    socketio.run(app, host=host, port=port, **options)


def tune_gc() -> None:
    """The shop's collector settings (shop/server.py), so that both pause alike."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 100)


if __name__ == "__main__":
    serve("127.0.0.1", int(os.environ.get("PORT", "5001")))
