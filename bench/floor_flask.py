"""Floor 1: a minimal hand-written Flask-SocketIO app on the shop's async mode.

No login, no database: a client joins the room named in its connect auth
(``{"room": ...}``, default ``all``) and ``GET /emit/<room>/<event>`` emits a
payload shaped like the shop's (same keys, same size) plus ``t``, the send
time. It is served by the shop's own server modules (serving/): the same
listen backlog, connection cap, collector thresholds and WebSocket handling.
Unlike the shop it accepts the browser's compression offer, as Flask-SocketIO
does by default (the bench runs it with the offer and without). Whatever the
shop costs above this is the shop's own.

Run: ``SOCKETIO_ASYNC_MODE=eventlet PORT=5001 python bench/floor_flask.py``
"""

import os
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "eventlet")
if MODE == "eventlet":
    import eventlet

    eventlet.monkey_patch()
elif MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()

import sys  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

from flask import Flask  # noqa: E402
from flask_socketio import SocketIO, join_room  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # serving/

app = Flask(__name__)
app.config.update(LISTEN_BACKLOG=2048, MAX_CONNECTIONS=12000, SOCKETIO_MAX_HTTP_BUFFER_SIZE=16384)
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
    from importlib import import_module

    from serving import SERVERS
    from serving.collector import tune_gc

    tune_gc()
    import_module(SERVERS[MODE]).serve(app, host, port)


if __name__ == "__main__":
    serve("127.0.0.1", int(os.environ.get("PORT", "5001")))
