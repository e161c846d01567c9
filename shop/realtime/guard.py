"""The per-socket guard: what a client's connection and messages pass before a handler.

Two levels, because a hostile client need not get past the first:

- **Transports** (Engine.IO sessions): a cap per client address and one per
  worker (leaving room for HTTP, which shares the server's connection slots),
  a deadline to connect the namespace, and a transport that is refused,
  leaves the namespace or sends something malformed is closed at once. A
  client that ignores DISCONNECT packets is therefore still cut off.
- **Connections** (the ``/`` namespace): a cap per user, a token bucket per
  connection, the products it follows, the ack envelope, and the refusal of
  events a client may not send (``connect``, ``disconnect``, and every name
  the contract does not have).
"""

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, disconnect

from shop.extensions import db, socketio
from shop.realtime.rate_limit import TokenBucket
from shop.services.errors import DomainError, InvalidInput

log = logging.getLogger(__name__)

NAMESPACE = "/"
SOCKETIO_PATH = "/socket.io/"
MAX_PRODUCT_ROOMS = 100
MAX_INT = 2**31 - 1


class UnknownEvent(DomainError):
    code = "unknown_event"


class ReservedEvent(DomainError):
    code = "reserved_event"


# -- transports -----------------------------------------------------------------------


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


def close_transport(eio_sid: str) -> None:
    """End an Engine.IO session itself: its socket closes whatever the client does.

    Not ``eio.disconnect``, which waits until the client has collected the close
    packet: a long-polling client that stops polling would hold the caller (a
    request, the sweeper) for ever.
    """
    eio = socketio.server.eio
    transport = eio.sockets.pop(eio_sid, None)
    if transport is not None:
        transport.close(wait=False, reason=eio.reason.SERVER_DISCONNECT)


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


def install_transport_guard(app: Flask) -> None:
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


# -- connections ------------------------------------------------------------------------


@dataclass
class Connection:
    """What this worker keeps per namespace connection, beside Socket.IO's rooms.

    The products followed are counted here: Socket.IO's ``rooms()`` walks every
    room of the server (two per connection), which made each subscribe cost
    milliseconds with thousands connected."""

    user_id: int
    bucket: TokenBucket
    products: set[int] = field(default_factory=set)


_connections: dict[str, Connection] = {}
_sids_of_user: dict[int, set[str]] = {}


def client_limits(config) -> dict[str, float | int]:
    """What the browser must keep under, rendered on <body> for static/js/live/."""
    return {
        "socket_rate": config["SOCKET_EVENT_RATE"],
        "socket_burst": config["SOCKET_EVENT_BURST"],
        "max_products": MAX_PRODUCT_ROOMS,
    }


def admit(sid: str, user_id: int, config) -> None:
    """Start guarding a new connection, or refuse it past the per-user cap."""
    sids = _sids_of_user.setdefault(user_id, set())
    if len(sids) >= config["SOCKETS_PER_USER"]:
        raise ConnectionRefusedError(
            "Too many live connections for your account: close some tabs.", {"code": "too_many_connections"}
        )
    sids.add(sid)
    _connections[sid] = Connection(
        user_id, TokenBucket(rate=config["SOCKET_EVENT_RATE"], burst=config["SOCKET_EVENT_BURST"])
    )


def release(sid: str) -> None:
    connection = _connections.pop(sid, None)
    if connection is not None:
        sids = _sids_of_user.get(connection.user_id, set())
        sids.discard(sid)
        if not sids:
            _sids_of_user.pop(connection.user_id, None)


def followed_products(sid: str) -> set[int]:
    return _connections[sid].products


def sent_by_client() -> bool:
    """Whether a connect or disconnect handler runs for an *event* the client named so.

    python-socketio runs those handlers for the real connect (the connection is
    still pending) and disconnect (already leaving), and also for a client's
    event of that name, which it only dispatches on a fully connected socket.
    """
    return socketio.server.manager.is_connected(request.sid, NAMESPACE)


# -- events -----------------------------------------------------------------------------


def guarded(handler: Callable[[Any], dict], payload: Any) -> dict:
    """Rate limit (checked first: it costs no query), login check, error acks."""
    try:
        refused = _refuse_if_flooding()
        if refused:
            return refused
        if not current_user.is_authenticated:  # signed out since connecting
            disconnect()
            return error("unauthorized", "Your session has ended; log in again.")
        if not isinstance(payload, dict):
            return error("invalid_payload", "Send a JSON object.")
        return {"ok": True, **handler(payload)}
    except DomainError as exc:
        return error(exc.code, exc.message)
    except Exception:
        db.session.rollback()
        log.exception("socket event %s failed", getattr(handler, "__name__", handler))
        return error("server_error", "Something went wrong on our side.")
    finally:
        socketio.sleep(0)  # one event at a time: let the other connections have their turn


def refused_event(refusal_error: DomainError) -> dict:
    """The ack of an event no handler serves; it costs the client a token like any other."""
    return _refuse_if_flooding() or error(refusal_error.code, refusal_error.message)


def _refuse_if_flooding() -> dict | None:
    connection = _connections.get(request.sid)
    if connection is None or connection.bucket.take():
        return None
    if connection.bucket.flooding:
        log.warning(
            "closing socket %s: it kept sending after %s refusals", request.sid, connection.bucket.burst
        )
        disconnect()  # the disconnect handler closes the transport too
    return error("rate_limited", "Too many messages; slow down.")


def error(code: str, message: str) -> dict:
    return {"ok": False, "error": {"code": code, "message": message}}


def int_field(payload: dict, name: str) -> int:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise InvalidInput(f"{name} must be a whole number from 0 to {MAX_INT}.")
    return value


# -- logs -------------------------------------------------------------------------------


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
