"""A Socket.IO client that does only what a test tells it, over a raw WebSocket.

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

import websocket

PING, PONG = "2", "3"


class RawSocket:
    def __init__(self, base_url: str, cookie: str = "", origin: str | None = None, timeout: float = 10):
        headers = [f"Cookie: {cookie}"] if cookie else []
        self.ws = websocket.create_connection(
            base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
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
                if packet == PING:
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
