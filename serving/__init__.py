"""How the shop is served: one module per server, chosen by SOCKETIO_ASYNC_MODE.

The only code that knows eventlet or gevent (wsgi.py patches the standard
library for them first). Each server module opens its own listening socket
with the backlog and connection cap from the config, hands the app's
CPU-bound work (password hashing, photos) a real OS thread, and carries the small,
tested adjustments to its WebSocket handling that the shop relies on.
"""

from importlib import import_module

from flask import Flask

from serving.collector import tune_gc
from serving.compression import without_websocket_compression
from serving.pings import spread_pings, sweep_timeouts
from shop import offload, worker

SERVERS = {
    "eventlet": "serving.eventlet_server",
    "gevent": "serving.gevent_server",
    "threading": "serving.werkzeug_server",
}


def serve(app: Flask, host: str, port: int) -> None:
    """Serve ``app`` (HTTP and Socket.IO) until interrupted."""
    mode = app.config["SOCKETIO_ASYNC_MODE"]
    server = import_module(SERVERS[mode])
    app.wsgi_app = without_websocket_compression(app.wsgi_app)
    offload.use_executor(
        server.run_in_os_thread, app.config["PASSWORD_HASH_CONCURRENCY"], app.config["IMAGE_CONCURRENCY"]
    )
    print(f"Serving the shop on http://{host}:{port} ({mode}); Ctrl+C to stop.", flush=True)
    tune_gc(app.config["GC_THRESHOLDS"])
    spread_pings(call_later=getattr(server, "call_later", None))
    sweep_timeouts()
    worker.start(app)
    server.serve(app, host, port)
