"""gevent's WSGI server, with TCP_NODELAY and one descriptor per WebSocket.

gevent's handler writes headers and body separately: without TCP_NODELAY,
keep-alive requests stall on delayed ACKs. simple-websocket duplicates a
gevent socket (two descriptors per connection: 10,000 sockets would not fit
under a 20,000 open-file limit) unless it is handed the socket as
``gunicorn.socket``, which it then reads and writes itself.
"""

import socket

from flask import Flask
from gevent import get_hub, pywsgi


def serve(app: Flask, host: str, port: int) -> None:
    config = app.config
    server = pywsgi.WSGIServer(
        (host, port),
        app,
        backlog=config["LISTEN_BACKLOG"],
        spawn=config["MAX_CONNECTIONS"],
        handler_class=NoDelayHandler,
        log=None,
    )
    server.serve_forever()


def run_in_os_thread(fn, *args):
    """Run ``fn(*args)`` in the gevent hub's pool of OS threads; this greenlet waits."""
    return get_hub().threadpool.apply(fn, args)


class NoDelayHandler(pywsgi.WSGIHandler):
    def __init__(self, sock, *args, **kwargs):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().__init__(sock, *args, **kwargs)

    def run_application(self):
        if self.environ.get("HTTP_UPGRADE", "").lower() != "websocket":
            return super().run_application()
        # simple-websocket takes the socket named gunicorn.socket as it is, then
        # ends the request with StopIteration ...
        self.environ["gunicorn.socket"] = self.socket
        # ... and reads and writes that socket itself: the handler's 8 KiB
        # read buffer would sit unused for the life of the connection.
        if not _has_body(self.environ):
            self.rfile.close()
        try:
            super().run_application()
        except StopIteration:
            pass
        # simple-websocket took the socket over: once the WebSocket ends,
        # bytes left on it are frames or a smuggled request, never HTTP.
        self.close_connection = True


def _has_body(environ: dict) -> bool:
    return environ.get("CONTENT_LENGTH", "0") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ
