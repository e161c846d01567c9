"""Serve the app with socketio.run on the configured async mode.

Only this module and wsgi.py know about eventlet and gevent.
"""

import socket
from functools import partial

from flask import Flask

from shop.extensions import socketio


def serve(app: Flask, host: str, port: int) -> None:
    mode = app.config["SOCKETIO_ASYNC_MODE"]
    options: dict = {"log_output": False}
    if mode == "eventlet":
        import eventlet

        # socketio.run listens with eventlet.listen's backlog of 50, which drops
        # bursts of connections; it also keeps eventlet's 1024-connection cap.
        eventlet.listen = partial(eventlet.listen, backlog=app.config["LISTEN_BACKLOG"])
        options["max_size"] = app.config["MAX_CONNECTIONS"]
    elif mode == "gevent":
        from gevent import pywsgi

        options["handler_class"] = NoDelayHandler(pywsgi.WSGIHandler)
        options["backlog"] = app.config["LISTEN_BACKLOG"]
        options["spawn"] = app.config["MAX_CONNECTIONS"]
    else:
        options["allow_unsafe_werkzeug"] = True
        options["request_handler"] = ClosingRequestHandler()
    print(f"Serving the shop on http://{host}:{port} ({mode}); Ctrl+C to stop.", flush=True)
    socketio.run(app, host=host, port=port, **options)


def NoDelayHandler(base):  # noqa: N802 - builds a class
    """gevent's handler writes headers and body separately: without TCP_NODELAY
    keep-alive requests stall on delayed ACKs."""

    class Handler(base):
        def __init__(self, sock, *args, **kwargs):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().__init__(sock, *args, **kwargs)

        def run_application(self):
            super().run_application()
            if _is_websocket(self.environ):
                # simple-websocket took the socket over: once the WebSocket ends,
                # bytes left on it are frames or a smuggled request, never HTTP.
                self.close_connection = True

    return Handler


def ClosingRequestHandler():  # noqa: N802 - builds a class
    """Werkzeug's handler, closing the connection after a WebSocket.

    simple-websocket ends a WebSocket by raising ConnectionError, which Werkzeug
    treats as a dropped client but then reads the next request off the socket.
    """
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def connection_dropped(self, error, environ=None):
            self.close_connection = True
            super().connection_dropped(error, environ)

    return Handler


def _is_websocket(environ: dict) -> bool:
    return environ.get("HTTP_UPGRADE", "").lower() == "websocket"
