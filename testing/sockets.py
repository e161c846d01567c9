"""Socket.IO clients for tests: ``LiveSocket`` is python-socketio's own client,
for everything the contract promises; ``RawSocket`` sends and reads raw
frames, for what a client that breaks the protocol does.

python-socketio's client obeys the protocol: it leaves when told, never sends
a reserved event name, always connects a namespace. An attacker does none of
that. ``RawSocket`` answers Engine.IO pings (so the server keeps it) and
records every packet it gets, but ignores DISCONNECT and CLOSE packets, and
sends whatever text it is given. ``closed()`` says only whether the server
really ended the WebSocket: a close frame or end of file, never a timeout.
"""

import json
import threading
import time
from datetime import datetime, timedelta

import socketio
import websocket

from testing.processes import Closing, wait_until

PING, PONG = "2", "3"


def websocket_url(base_url: str) -> str:
    """Where a Socket.IO client opens its WebSocket straight away (no polling first)."""
    return base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


class LiveSocket(Closing):
    """python-socketio's Client, recording every event it receives."""

    def __init__(
        self,
        base_url: str,
        cookie: str,
        origin: str | None = None,
        transports=("websocket",),
        reconnection: bool = False,
    ):
        # websocket-client adds an Origin of its own unless told not to: two Origin
        # headers would reach the server, so the one given here is sent alone.
        client = socketio.Client(
            reconnection=reconnection, websocket_extra_options={"suppress_origin": bool(origin)}
        )
        headers = {"Cookie": cookie}
        if origin:
            headers["Origin"] = origin
        self._start(client, base_url, headers=headers, transports=list(transports))

    def _start(self, client: socketio.Client, base_url: str, **options) -> None:
        self.events: list[tuple[str, dict]] = []
        self.changed = threading.Condition()
        self.client = client
        client.on("*", self._record)
        client.connect(base_url, wait_timeout=10, **options)

    def _record(self, event: str, data=None) -> None:
        with self.changed:
            self.events.append((event, data))
            self.changed.notify_all()

    def of(self, event: str) -> list[dict]:
        with self.changed:
            return [data for name, data in self.events if name == event]

    def wait_for(self, event: str, count: int = 1, timeout: float = 5) -> list[dict]:
        """Every ``event`` so far, once there are at least ``count``."""
        self._wait(lambda: len(self.of(event)) >= count, f"{count} {event!r}", timeout)
        return self.of(event)

    def wait_for_match(self, event: str, matches, timeout: float = 5) -> dict:
        """The first ``event`` whose payload ``matches``, waiting for it if need be."""
        self._wait(lambda: any(map(matches, self.of(event))), f"a matching {event!r}", timeout)
        return next(data for data in self.of(event) if matches(data))

    def _wait(self, done, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"waited {timeout}s for {what}; got {self.events!r}")
                self.changed.wait(left)

    def wait_disconnected(self, timeout: float = 10) -> None:
        """Wait until the server has closed this socket (fails after ``timeout``)."""
        wait_until(lambda: not self.client.connected, f"the server to close the socket ({timeout}s)", timeout)

    def call(self, event: str, data=None, timeout: float = 5):
        return self.client.call(event, data, timeout=timeout)

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


class RawSocket(Closing):
    """A Socket.IO client over a raw WebSocket that does only what the test tells it."""

    def __init__(
        self,
        base_url: str,
        cookie: str = "",
        origin: str | None = None,
        timeout: float = 10,
        answers_pings: bool = True,
    ):
        headers = [f"Cookie: {cookie}"] if cookie else []
        self.answers_pings = answers_pings
        self.ws = websocket.create_connection(
            websocket_url(base_url),
            header=headers,
            origin=origin or base_url,
            timeout=timeout,
        )
        self.packets: list[str] = []
        self.ended = threading.Event()
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for(lambda packet: packet.startswith("0"), "Engine.IO's open packet")

    def connect_namespace(self) -> str:
        """Send CONNECT for "/" and return the server's answer (``40{...}`` or ``44{...}``)."""
        self.send("40")
        return self.wait_for(lambda packet: packet.startswith(("40", "44")), "the namespace answer")

    def send(self, text: str) -> None:
        self.ws.send(text)

    def emit(self, event: str, payload=None, ack_id: int | None = None) -> None:
        """An EVENT packet, with an ack id when one is given."""
        args = [event] if payload is None else [event, payload]
        self.send(f"42{'' if ack_id is None else ack_id}{json.dumps(args)}")

    def call(self, event: str, payload=None, ack_id: int = 1, timeout: float = 10):
        """Emit with an ack id and return the ack's first argument."""
        self.emit(event, payload, ack_id)
        prefix = f"43{ack_id}["
        ack = self.wait_for(lambda packet: packet.startswith(prefix), f"the ack of {event}", timeout)
        return json.loads(ack[len(prefix) - 1 :])[0]

    def events(self, name: str) -> list:
        """The payloads of every ``name`` event received so far."""
        found = []
        for packet in self._snapshot():
            if packet.startswith("42["):
                args = json.loads(packet[2:])
                if args[0] == name:
                    found.append(args[1] if len(args) > 1 else None)
        return found

    def wait_for(self, matches, what: str, timeout: float = 10) -> str:
        """The first packet that ``matches``; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for packet in self.packets:
                    if matches(packet):
                        return packet
                left = deadline - time.monotonic()
                if left <= 0 or (self.ended.is_set() and not self._reader.is_alive()):
                    raise AssertionError(f"no {what} within {timeout}s; got {self.packets!r}")
                self._changed.wait(min(left, 0.2))

    def closed(self, timeout: float = 10) -> bool:
        """Whether the server ended the WebSocket (close frame or EOF) within ``timeout``."""
        return self.ended.wait(timeout)

    def close(self) -> None:
        try:
            self.ws.close(timeout=1)
        except (OSError, websocket.WebSocketException):
            pass
        self.ended.set()

    def _snapshot(self) -> list[str]:
        with self._changed:
            return list(self.packets)

    def _read(self) -> None:
        self.ws.settimeout(None)
        try:
            while True:
                opcode, data = self.ws.recv_data(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                if opcode != websocket.ABNF.OPCODE_TEXT:
                    continue
                packet = data.decode()
                if packet == PING and self.answers_pings:
                    self.ws.send(PONG)
                with self._changed:
                    self.packets.append(packet)
                    self._changed.notify_all()
        except (OSError, websocket.WebSocketException):
            pass
        finally:
            self.ended.set()
            with self._changed:
                self._changed.notify_all()


def http_after_websocket(base_url: str, attempts: int = 3) -> bytes:
    """Close a WebSocket cleanly, then write an HTTP request on the same TCP
    connection; return whatever the server answers before closing it.

    The clean close is the point: a connection that drops before the server's
    close frame comes back (a busy server's reader racing its writer) proves
    nothing, so the exchange is tried again, ``attempts`` times at most."""
    for _ in range(attempts):
        ws = websocket.create_connection(websocket_url(base_url), timeout=10)
        try:
            ws.recv()  # Engine.IO's open packet
            ws.send_close()
            while ws.recv_frame().opcode != websocket.ABNF.OPCODE_CLOSE:
                pass
            break
        except websocket.WebSocketConnectionClosedException:
            ws.sock and ws.sock.close()
    else:
        raise AssertionError(f"no clean WebSocket close in {attempts} attempts")
    ws.sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    answer = b""
    try:
        while chunk := ws.sock.recv(4096):
            answer += chunk
    except ConnectionResetError:
        pass
    finally:
        ws.sock.close()
    return answer


def without_time(payloads: list[dict]) -> list[dict]:
    """Pushed payloads less their ``updated_at``, checked to be an ISO 8601 UTC time."""
    found = []
    for payload in payloads:
        rest = dict(payload)
        assert datetime.fromisoformat(rest.pop("updated_at")).utcoffset() == timedelta(0)
        found.append(rest)
    return found
