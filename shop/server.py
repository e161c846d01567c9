"""Serve the app with socketio.run on the configured async mode.

Only this module and wsgi.py know about eventlet and gevent.
"""

import gc
import logging
import socket
from functools import partial

from flask import Flask

from shop import offload
from shop.extensions import socketio
from shop.sockets.transports import OncePer

log = logging.getLogger(__name__)


def serve(app: Flask, host: str, port: int) -> None:
    mode = app.config["SOCKETIO_ASYNC_MODE"]
    options: dict = {"log_output": False}
    if mode == "eventlet":
        import eventlet
        from eventlet import tpool

        # socketio.run listens with eventlet.listen's backlog of 50, which drops
        # bursts of connections; it also keeps eventlet's 1024-connection cap.
        eventlet.listen = partial(eventlet.listen, backlog=app.config["LISTEN_BACKLOG"])
        options["max_size"] = app.config["MAX_CONNECTIONS"]
        options["protocol"] = FileReleasingProtocol()
        guard_eventlet_websockets(app.config["SOCKETIO_MAX_HTTP_BUFFER_SIZE"])
        executor = tpool.execute
    elif mode == "gevent":
        from gevent import pywsgi

        options["handler_class"] = NoDelayHandler(pywsgi.WSGIHandler)
        options["backlog"] = app.config["LISTEN_BACKLOG"]
        options["spawn"] = app.config["MAX_CONNECTIONS"]
        executor = gevent_threadpool_apply
    else:
        options["allow_unsafe_werkzeug"] = True
        options["request_handler"] = ClosingRequestHandler()
        executor = offload.call_directly  # every request has its own OS thread already
    # Password hashing in a real OS thread: on the event loop it stalls everyone.
    offload.use_executor(executor, app.config["PASSWORD_HASH_CONCURRENCY"])
    print(f"Serving the shop on http://{host}:{port} ({mode}); Ctrl+C to stop.", flush=True)
    tune_gc()
    socketio.run(app, host=host, port=port, **options)


def gevent_threadpool_apply(fn, *args):
    """Run ``fn(*args)`` in the gevent hub's pool of OS threads; this greenlet waits."""
    from gevent import get_hub

    return get_hub().threadpool.apply(fn, args)


# CPython's collector thresholds are (700, 10, 10): a full collection each
# time the long-lived objects grow by a quarter. Every open socket keeps about
# 200 tracked objects, so a server holding thousands of them ran a full
# collection every few hundred connections, each scanning everything: at 3,000
# sockets one took 0.7 s, and every push waited for it (bench/: 7.5 s spent
# collecting while 3,000 sockets connected and got five stock pushes; 1.9 s
# with these thresholds, the longest pause 0.3 s instead of 1.1 s).
GC_THRESHOLDS = (20_000, 10, 100)


def tune_gc() -> None:
    """Leave start-up's objects out of every collection and collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def NoDelayHandler(base):  # noqa: N802 - builds a class
    """gevent's handler writes headers and body separately: without TCP_NODELAY
    keep-alive requests stall on delayed ACKs."""

    class Handler(base):
        def __init__(self, sock, *args, **kwargs):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().__init__(sock, *args, **kwargs)

        def run_application(self):
            if not _is_websocket(self.environ):
                return super().run_application()
            # simple-websocket duplicates a gevent socket (two descriptors per
            # connection: 10,000 sockets would not fit under a 20,000 open-file
            # limit) but takes the one named gunicorn.socket as it is, then ends
            # the request with StopIteration.
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

    return Handler


def FileReleasingProtocol():  # noqa: N802 - builds a class
    """eventlet's HTTP protocol, closing its buffered files once a WebSocket takes over.

    Each connection's handler holds an 8 KiB read buffer and a 16 KiB write
    buffer (eventlet's wbufsize) until the connection ends. After the 101
    response the WebSocket reads and writes the socket itself, so on an idle
    socket both buffers are a third of its memory for nothing. Closing the
    files frees them; the socket stays open (the handler closes it when the
    WebSocket ends, as before).
    """
    from eventlet import wsgi

    class Protocol(wsgi.HttpProtocol):
        def get_environ(self):
            environ = super().get_environ()
            if _is_websocket(environ):
                # eventlet's WebSocket calls this hook right after its 101
                # response, before the first frame: the HTTP exchange is over.
                set_idle = environ["eventlet.set_idle"]

                def switched_protocols():
                    set_idle()
                    self.release_files()

                environ["eventlet.set_idle"] = switched_protocols
            return environ

        def release_files(self):
            self.wfile.close()
            self.rfile.close()

    return Protocol


def ClosingRequestHandler():  # noqa: N802 - builds a class
    """Werkzeug's handler, closing the connection after a WebSocket.

    simple-websocket ends a WebSocket by raising ConnectionError, which Werkzeug
    treats as a dropped client but then reads the next request off the socket.
    """
    from werkzeug.serving import WSGIRequestHandler

    class Handler(WSGIRequestHandler):
        def run_wsgi(self):
            websocket = self.headers.get("Upgrade", "").lower() == "websocket"
            try:
                super().run_wsgi()
            finally:
                # However the WebSocket ended, the bytes after it are not HTTP.
                if websocket:
                    self.close_connection = True

        def connection_dropped(self, error, environ=None):
            self.close_connection = True
            super().connection_dropped(error, environ)

    return Handler


def _is_websocket(environ: dict) -> bool:
    return environ.get("HTTP_UPGRADE", "").lower() == "websocket"


def _has_body(environ: dict) -> bool:
    return environ.get("CONTENT_LENGTH", "0") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ


def guard_eventlet_websockets(max_message: int) -> None:
    """Make Engine.IO's eventlet WebSockets fair, bounded and closable.

    eventlet's WebSocket reader only yields when its socket has nothing to
    read, so a client that sends without pause keeps the whole server; its
    frame limit is per frame, so a message in many small fragments grows
    without bound; and its close shuts only the writing side, so a reader
    whose connection the server closed goes on reading. Each reader here
    yields before every read, refuses a message over ``max_message`` (close
    code 1009), and a close shuts both directions.
    """
    from engineio.async_drivers import eventlet as driver

    base = driver._async["websocket"]
    if getattr(base, "guarded", False):
        return

    class GuardedWebSocketWSGI(base):
        guarded = True

        def __init__(self, handler, server):
            super().__init__(lambda ws: _serve_websocket(handler, _guard(ws, max_message)), server)

    driver._async["websocket"] = GuardedWebSocketWSGI


_MALFORMED = OncePer(seconds=10)


def _serve_websocket(handler, ws):
    """Engine.IO's WebSocket loop, ending in one log line (not a traceback) on a malformed packet.

    ``handler`` is the Engine.IO session's own loop (a bound method): when a
    packet it cannot decode ends it, its session is closed here, as the loop
    would have done had it ended normally.
    """
    try:
        return handler(ws)
    except Exception as exc:
        _MALFORMED.warning(log, "closed a WebSocket on a malformed Engine.IO packet: %r", exc)
        handler.__self__.close(wait=False, abort=True)
        return []


def _guard(ws, max_message: int):
    from eventlet.websocket import FailedConnectionError

    ws.socket = _YieldingSocket(ws.socket)
    recv_frame = ws._recv_frame

    def bounded_recv_frame(message=None):
        message = recv_frame(message=message)
        if not message.opcode & 8:
            parts = message.data
            counted = getattr(message, "counted", 0)
            message.size = getattr(message, "size", 0) + sum(len(part) for part in parts[counted:])
            message.counted = len(parts)
            if message.size > max_message:
                raise FailedConnectionError(1009, f"Messages are limited to {max_message} bytes.")
        return message

    ws._recv_frame = bounded_recv_frame
    return ws


class _YieldingSocket:
    """A WebSocket's socket that lets other green threads run before each read."""

    def __init__(self, sock):
        self._sock = sock

    def recv(self, *args):
        import eventlet

        eventlet.sleep(0)
        return self._sock.recv(*args)

    def shutdown(self, _how):
        """Both directions. A WebSocket the client closed was closed by its reader
        already (its descriptor too, once the HTTP buffers are released): eventlet's
        close would then print "socket shutdown error: Bad file descriptor"."""
        if self._sock.fileno() != -1:
            self._sock.shutdown(socket.SHUT_RDWR)

    def __getattr__(self, name):
        return getattr(self._sock, name)
