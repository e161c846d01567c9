"""Transports (Engine.IO sessions): who may hold one, and for how long.

A hostile client need not behave like python-socketio's: a cap per client
address and one per worker (leaving room for HTTP, which shares the server's
connection slots), a deadline to connect the namespace, and a transport that
is refused, leaves the namespace or sends something malformed is closed at
once, so a client that ignores DISCONNECT packets is still cut off.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import Flask

from shop.extensions import socketio

log = logging.getLogger(__name__)

NAMESPACE = "/"
SOCKETIO_PATH = "/socket.io/"


class Transports:
    """This worker's Engine.IO sessions, from the handshake on.

    It wraps the three Engine.IO handlers that python-socketio registers (the
    public ``eio.on`` API), so python-socketio still does all the protocol
    work; this only decides who may stay.
    """

    def __init__(self, server, per_client: int, total: int, namespace_timeout: float):
        self.server = server
        self.per_client = per_client
        self.total = total
        self.namespace_timeout = namespace_timeout
        self.client_of: dict[str, str] = {}
        self.by_client: Counter[str] = Counter()
        self.silent: dict[str, float] = {}  # eio sid -> when it must have sent CONNECT
        self.sweeper = None
        self.malformed = OncePer(seconds=10)

    def install(self) -> None:
        eio = self.server.eio
        handlers = {name: eio.handlers[name] for name in ("connect", "message", "disconnect")}
        eio.on("connect", lambda eio_sid, environ: self.opened(eio_sid, environ, handlers["connect"]))
        eio.on("message", lambda eio_sid, data: self.received(eio_sid, data, handlers["message"]))
        eio.on("disconnect", lambda eio_sid, *reason: self.ended(eio_sid, reason, handlers["disconnect"]))

    def opened(self, eio_sid: str, environ: dict, handle: Callable):
        client = environ.get("REMOTE_ADDR", "")
        if len(self.client_of) >= self.total:
            return refusal("server_busy", "The server is busy; live updates will retry shortly.")
        if self.by_client[client] >= self.per_client:
            return refusal("too_many_connections", "Too many live connections from your address.")
        self.client_of[eio_sid] = client
        self.by_client[client] += 1
        self.silent[eio_sid] = time.monotonic() + self.namespace_timeout
        if self.sweeper is None:
            self.sweeper = self.server.start_background_task(self.sweep)
        return handle(eio_sid, environ)

    def received(self, eio_sid: str, data: Any, handle: Callable) -> None:
        self.silent.pop(eio_sid, None)
        try:
            handle(eio_sid, data)
        except Exception as exc:  # python-socketio could not make a packet of it
            if eio_sid not in self.client_of:
                # Not the client's packet: its transport ended while a handler waited (a
                # connect for its login check), and python-socketio no longer knows the sid.
                log.debug("message of an ended transport: %r", exc)
                return
            self.malformed.warning(
                log, "malformed Socket.IO packet from %s: %r", self.client_of.get(eio_sid), exc
            )
            self.close(eio_sid)
            return
        if self.server.manager.sid_from_eio_sid(eio_sid, NAMESPACE) is None:
            self.close(eio_sid)  # refused, left the namespace, or spoke without connecting one

    def ended(self, eio_sid: str, reason: tuple, handle: Callable) -> None:
        self.silent.pop(eio_sid, None)
        client = self.client_of.pop(eio_sid, None)
        if client is not None:
            self.by_client[client] -= 1
            if self.by_client[client] <= 0:
                del self.by_client[client]
        handle(eio_sid, *reason)

    def close(self, eio_sid: str) -> None:
        close_transport(eio_sid)

    def sweep(self) -> None:
        """Close the transports that have not connected the namespace in time."""
        while True:
            self.server.sleep(min(1.0, self.namespace_timeout))
            now = time.monotonic()
            for eio_sid, deadline in list(self.silent.items()):
                if deadline <= now:
                    self.silent.pop(eio_sid, None)
                    self.close(eio_sid)


def refusal(code: str, message: str) -> dict:
    """An Engine.IO handshake refusal: the client's connect_error carries this JSON."""
    return {"message": message, "data": {"code": code}}


def close_transport(eio_sid: str, reconnect: bool = False) -> None:
    """End an Engine.IO session itself: its socket closes whatever the client does.

    Not ``eio.disconnect``, which waits until the client has collected the close
    packet: a long-polling client that stops polling would hold the caller (a
    request, the sweeper) for ever.
    """
    eio = socketio.server.eio
    transport = eio.sockets.pop(eio_sid, None)
    if transport is not None:
        # Without Engine.IO's close packet the client takes it for a dropped connection
        # and reconnects; with it, the client stays away.
        transport.close(wait=False, abort=reconnect, reason=eio.reason.SERVER_DISCONNECT)


def close_all() -> None:
    """Close every transport of this worker so that their clients reconnect, perhaps elsewhere."""
    for eio_sid in list(socketio.server.eio.sockets):
        close_transport(eio_sid, reconnect=True)


def close_transport_of(sid: str) -> None:
    """Close the Engine.IO session under a namespace connection, after the current handler.

    Called from the disconnect handler, which python-socketio runs before it has
    finished disconnecting the namespace: the close waits for that.
    """
    eio_sid = socketio.server.manager.eio_sid_from_sid(sid, NAMESPACE)
    if eio_sid is not None:
        socketio.server.start_background_task(close_transport, eio_sid)


def refuse_oversized_polls(wsgi_app: Callable, limit: int) -> Callable:
    """Answer a long-polling POST over the buffer limit with 413 before Engine.IO reads it.

    python-engineio would disconnect that session and then wait, before
    answering, for the client to collect the close packet with another poll: a
    client that does not poll again never gets an answer.
    """

    def app(environ: dict, start_response: Callable):
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").startswith(SOCKETIO_PATH):
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = limit + 1
            if length > limit:
                body = f"Messages are limited to {limit} bytes.".encode()
                start_response(
                    "413 Payload Too Large", [("Content-Type", "text/plain"), ("Connection", "close")]
                )
                return [body]
        return wsgi_app(environ, start_response)

    return app


class OneLineTracebacks(logging.Filter):
    """Engine.IO logs a traceback for every malformed packet anyone sends: keep one line, now and then."""

    def __init__(self, seconds: float = 10):
        super().__init__()
        self.once = OncePer(seconds)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info:
            return True
        record.msg, record.args = f"{record.getMessage()}: {record.exc_info[1]!r}", ()
        record.exc_info = record.exc_text = None
        return self.once.allows(record)


def install(app: Flask) -> None:
    config = app.config
    app.wsgi_app = refuse_oversized_polls(app.wsgi_app, config["SOCKETIO_MAX_HTTP_BUFFER_SIZE"])
    engineio_log = logging.getLogger("engineio.server")
    if not any(isinstance(f, OneLineTracebacks) for f in engineio_log.filters):
        engineio_log.addFilter(OneLineTracebacks())
    Transports(
        socketio.server,
        per_client=config["SOCKETS_PER_CLIENT"],
        total=config["MAX_SOCKETS"] or socket_capacity(config["MAX_CONNECTIONS"]),
        namespace_timeout=config["SOCKET_CONNECT_TIMEOUT"],
    ).install()


def socket_capacity(max_connections: int) -> int:
    """Sockets one worker takes: a tenth of its connection slots (at least 10) stay for HTTP."""
    return max_connections - max(10, max_connections // 10)


class OncePer:
    """A log line at most once per ``seconds``, saying how many were left out."""

    def __init__(self, seconds: float, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.next_at = 0.0
        self.skipped = 0

    def warning(self, logger: logging.Logger, message: str, *args: Any) -> None:
        record = logger.makeRecord(logger.name, logging.WARNING, "", 0, message, args, None)
        if self.allows(record):
            logger.handle(record)

    def allows(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` may go out now; if so, it says how many were left out before it."""
        now = self.clock()
        if now < self.next_at:
            self.skipped += 1
            return False
        if self.skipped:
            record.msg = f"{record.getMessage()} (and {self.skipped} more in the last {self.seconds:g} s)"
            record.args = ()
        self.next_at = now + self.seconds
        self.skipped = 0
        return True
