"""eventlet's own WSGI server, on a listening socket opened here.

Not ``socketio.run``: it listens with a backlog of 50 (a burst of connections
is dropped) and keeps eventlet's cap of 1024 connections. And these
adjustments, each tested in tests/test_server.py or against a live server:

- Engine.IO's pings wait as event-loop timers, not one green thread per socket
  (``call_later``, used by serving/pings.py), and a WebSocket's writer runs
  only while it has something to send (serving/eventlet_writes.py);
- the HTTP buffers of a connection are released once a WebSocket takes it over;
- Engine.IO's WebSocket readers yield before every frame (fairness), refuse a
  message over the buffer limit even when it comes in fragments, and close
  both directions;
- a malformed Engine.IO packet ends its WebSocket with one log line, not a
  traceback;
- a large request body (a photo upload) lets other green threads run between
  its reads, so parsing it does not hold the loop for its whole length.
"""

import logging
import socket

import eventlet
from engineio.async_drivers import eventlet as engineio_eventlet
from eventlet import tpool, wsgi
from eventlet.websocket import FailedConnectionError
from flask import Flask

from serving.eventlet_writes import write_on_demand
from shop.sockets.transports import OncePer

log = logging.getLogger(__name__)
run_in_os_thread = tpool.execute


def call_later(seconds: float, fn, *args) -> None:
    """Call ``fn(*args)`` from the event loop in ``seconds`` (a timer, no green thread)."""
    eventlet.hubs.get_hub().schedule_call_global(seconds, fn, *args)


def serve(app: Flask, host: str, port: int) -> None:
    config = app.config
    listener = eventlet.listen((host, port), backlog=config["LISTEN_BACKLOG"])
    guard_websockets(config["SOCKETIO_MAX_HTTP_BUFFER_SIZE"])
    write_on_demand()
    wsgi.server(
        listener,
        yielding_bodies(app),
        max_size=config["MAX_CONNECTIONS"],
        protocol=FileReleasingProtocol,
        log_output=False,
    )


# Bodies above this size are read with a yield before each read (forms are far smaller).
LARGE_BODY = 64 * 1024


def yielding_bodies(app):
    """The WSGI app, its large request bodies read through YieldingBody."""

    def serve_request(environ, start_response):
        try:
            large = int(environ.get("CONTENT_LENGTH") or 0) > LARGE_BODY
        except ValueError:
            large = False
        if large:
            environ["wsgi.input"] = YieldingBody(environ["wsgi.input"])
        return app(environ, start_response)

    return serve_request


class YieldingBody:
    """A request body that lets the other green threads run before each read.

    On loopback or a fast link the bytes of an upload are there before they
    are asked for, so eventlet's reads never wait, and the multipart parser
    would go through 10 MB without giving the loop back: every other request
    and socket of the worker would stall meanwhile.
    """

    def __init__(self, body):
        self._body = body

    def read(self, *args):
        eventlet.sleep(0)
        return self._body.read(*args)

    def readline(self, *args):
        eventlet.sleep(0)
        return self._body.readline(*args)

    def __iter__(self):
        return iter(self.readline, b"")

    def __getattr__(self, name):
        return getattr(self._body, name)


class FileReleasingProtocol(wsgi.HttpProtocol):
    """eventlet's HTTP protocol, closing its buffered files once a WebSocket takes over.

    Each connection's handler holds an 8 KiB read buffer and a 16 KiB write
    buffer (eventlet's wbufsize) until the connection ends. After the 101
    response the WebSocket reads and writes the socket itself, so on an idle
    socket both buffers are a third of its memory for nothing. Closing the
    files frees them; the socket stays open (the handler closes it when the
    WebSocket ends, as before).
    """

    def get_environ(self):
        environ = super().get_environ()
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":
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


def guard_websockets(max_message: int) -> None:
    """Make Engine.IO's eventlet WebSockets fair, bounded and closable.

    eventlet's WebSocket reader only yields when its socket has nothing to
    read, so a client that sends without pause keeps the whole server; its
    frame limit is per frame, so a message in many small fragments grows
    without bound; and its close shuts only the writing side, so a reader
    whose connection the server closed goes on reading. Engine.IO takes its
    WebSocket class from its eventlet driver's table: the one put there wraps
    each WebSocket before Engine.IO's loop gets it.
    """
    base = engineio_eventlet._async["websocket"]
    if getattr(base, "guarded", False):
        return

    class GuardedWebSocketWSGI(base):
        guarded = True

        def __init__(self, handler, server):
            super().__init__(lambda ws: _serve_websocket(handler, _guard(ws, max_message)), server)

    engineio_eventlet._async["websocket"] = GuardedWebSocketWSGI


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
    ws.socket = ClosingSocket(ws.socket)
    recv_frame = ws._recv_frame

    def bounded_recv_frame(message=None):
        eventlet.sleep(0)  # let the other green threads run before each frame
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


class ClosingSocket:
    """A WebSocket's socket whose shutdown closes both directions."""

    def __init__(self, sock):
        self._sock = sock

    def shutdown(self, _how):
        """Both directions. A WebSocket the client closed was closed by its reader
        already (its descriptor too, once the HTTP buffers are released): eventlet's
        close would then print "socket shutdown error: Bad file descriptor"."""
        if self._sock.fileno() != -1:
            self._sock.shutdown(socket.SHUT_RDWR)

    def __getattr__(self, name):
        return getattr(self._sock, name)
