"""A lean asyncio Socket.IO 5 / Engine.IO 4 client over WebSocket, for load.

One process holds 10,000 of these. Each connection is an ``asyncio.Protocol``
that parses WebSocket frames in ``data_received`` (no task, no queue per
connection), so the client spends a few microseconds per pushed message and a
fan-out to 5,000 sockets measures the server, not the load generator.

What it speaks:
- the WebSocket handshake (RFC 6455), with the Cookie and Origin a browser
  sends and, optionally, the browser's compression offer
  ``permessage-deflate; client_max_window_bits`` (RFC 7692);
- Engine.IO 4: the ``0{...}`` open packet, ``2`` pings answered with ``3``;
- Socket.IO 5: ``40`` to join the default namespace, ``40{sid}`` or
  ``44{error}`` back, events ``42[name, data]``, calls ``42<id>[...]`` and
  acks ``43<id>[...]``.

``raw=True`` skips Engine.IO and Socket.IO: every text message is handed to
the event callback as it is (the raw ``websockets`` floor sends the same
``42[...]`` text, so both are parsed alike).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
BROWSER_DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"
SYNC_TAIL = b"\x00\x00\xff\xff"

EventHandler = Callable[["SioConnection", str, Any, float], None]


class ConnectRefused(Exception):
    """The server refused the connection (HTTP status, 44 packet, reset)."""


@dataclass
class Deflate:
    """The permessage-deflate parameters the server accepted."""

    server_wbits: int = 15
    client_wbits: int = 15
    server_no_takeover: bool = False
    client_no_takeover: bool = False

    @classmethod
    def parse(cls, header: str) -> Deflate | None:
        for offer in header.split(","):
            parts = [part.strip() for part in offer.split(";")]
            if parts[0] != "permessage-deflate":
                continue
            found = cls()
            for part in parts[1:]:
                key, _, value = part.partition("=")
                value = value.strip('"')
                if key == "server_max_window_bits":
                    found.server_wbits = int(value)
                elif key == "client_max_window_bits" and value:
                    found.client_wbits = int(value)
                elif key == "server_no_context_takeover":
                    found.server_no_takeover = True
                elif key == "client_no_context_takeover":
                    found.client_no_takeover = True
            return found
        return None


@dataclass
class Stats:
    """What happened to a group of connections."""

    opened: int = 0
    refused: int = 0
    dropped: int = 0
    not_attempted: int = 0  # the ramp ran out of time first
    errors: dict[str, int] = field(default_factory=dict)

    def refuse(self, exc: BaseException) -> None:
        self.refused += 1
        name = type(exc).__name__
        self.errors[name] = self.errors.get(name, 0) + 1


class SioConnection(asyncio.Protocol):
    def __init__(
        self,
        host: str,
        path: str,
        headers: dict[str, str],
        on_event: EventHandler | None,
        raw: bool,
        deflate_offer: bool,
        auth: dict | None,
        stats: Stats | None,
    ) -> None:
        self.host = host
        self.path = path
        self.headers = headers
        self.on_event = on_event
        self.raw = raw
        self.deflate_offer = deflate_offer
        self.auth = auth
        self.stats = stats
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.handshaken = False
        self.deflate: Deflate | None = None
        self.inflater = None
        self.fragments: list[bytes] = []
        self.fragment_compressed = False
        self.ready: asyncio.Future = asyncio.get_running_loop().create_future()
        self.sid: str | None = None
        self.closing = False
        self.closed = False
        self.next_ack = 1
        self.acks: dict[int, asyncio.Future] = {}
        self.key = base64.b64encode(os.urandom(16)).decode()

    # -- transport --------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        lines = [
            f"GET {self.path} HTTP/1.1",
            f"Host: {self.host}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self.key}",
            "Sec-WebSocket-Version: 13",
        ]
        if self.deflate_offer:
            lines.append(f"Sec-WebSocket-Extensions: {BROWSER_DEFLATE_OFFER}")
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    def connection_lost(self, exc: Exception | None) -> None:
        ready = self.ready
        was_open = ready.done() and not ready.cancelled() and ready.exception() is None and not self.closed
        self.closed = True
        if not self.ready.done():
            self.ready.set_exception(ConnectRefused(f"connection lost: {exc!r}"))
        elif was_open and not self.closing and self.stats is not None:
            self.stats.dropped += 1
        for future in self.acks.values():
            if not future.done():
                future.set_exception(ConnectionError("closed"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.handshaken and not self._handshake():
            return
        self._frames()

    def close(self) -> None:
        self.closing = True
        if self.transport is not None and not self.closed:
            self.transport.abort()

    # -- WebSocket -------------------------------------------------------------
    def _handshake(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        del self.buffer[: end + 4]
        status = head[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            self._fail(ConnectRefused(f"HTTP {head[0]}"))
            return False
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1(self.key.encode() + GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != expected:
            self._fail(ConnectRefused("bad Sec-WebSocket-Accept"))
            return False
        if "sec-websocket-extensions" in headers:
            self.deflate = Deflate.parse(headers["sec-websocket-extensions"])
        self.handshaken = True
        if self.raw:
            self.ready.set_result(self)
        return True

    def _frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            length = b1 & 0x7F
            offset = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length = struct.unpack_from("!H", buf, 2)[0]
                offset = 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length = struct.unpack_from("!Q", buf, 2)[0]
                offset = 10
            if len(buf) < offset + length:
                return
            payload = bytes(buf[offset : offset + length])
            del buf[: offset + length]
            self._frame(b0 & 0x80, b0 & 0x40, b0 & 0x0F, payload)

    def _frame(self, fin: int, rsv1: int, opcode: int, payload: bytes) -> None:
        if opcode == 0x9:  # ping
            self._send_frame(0xA, payload, compress=False)
            return
        if opcode == 0x8:  # close
            if self.transport is not None:
                self.transport.close()
            return
        if opcode == 0xA:
            return
        if opcode in (0x1, 0x2):
            self.fragments = [payload]
            self.fragment_compressed = bool(rsv1)
        else:  # continuation
            self.fragments.append(payload)
        if not fin:
            return
        data = b"".join(self.fragments)
        self.fragments = []
        if self.fragment_compressed:
            data = self._inflate(data)
        self._message(data.decode())

    def _inflate(self, data: bytes) -> bytes:
        deflate = self.deflate
        if self.inflater is None or deflate.server_no_takeover:
            self.inflater = zlib.decompressobj(-deflate.server_wbits)
        return self.inflater.decompress(data + SYNC_TAIL)

    def _send_frame(self, opcode: int, data: bytes, compress: bool = True) -> None:
        rsv1 = 0
        if compress and self.deflate is not None:
            # Like a browser, compress every message. A fresh compressor per
            # message keeps the load generator small; the server still needs
            # its inflater, which is what a browser costs it.
            compressor = zlib.compressobj(
                zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self.deflate.client_wbits
            )
            data = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
            data = data[:-4] if data.endswith(SYNC_TAIL) else data
            rsv1 = 0x40
        mask = os.urandom(4)
        length = len(data)
        if length < 126:
            header = struct.pack("!BB", 0x80 | rsv1 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | rsv1 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | rsv1 | opcode, 0x80 | 127, length)
        repeated = (mask * (length // 4 + 1))[:length]
        masked = (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(length, "big")
        if self.transport is not None and not self.closed:
            self.transport.write(header + mask + masked)

    def send_text(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def _fail(self, exc: Exception) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()

    # -- Engine.IO / Socket.IO ------------------------------------------------
    def _message(self, text: str) -> None:
        received = time.time()
        if self.raw:
            self._event(text[2:], received)
            return
        kind = text[:1]
        if kind == "2":
            self.send_text("3" + text[1:])
        elif kind == "4":
            self._socketio(text[1:], received)
        elif kind == "0":
            self.send_text("40" + (json.dumps(self.auth) if self.auth is not None else ""))
        elif kind == "1":
            self.close()

    def _socketio(self, text: str, received: float) -> None:
        kind = text[:1]
        if kind == "2":
            self._event(text[1:], received)
        elif kind == "3":
            digits = len(text) - len(text[1:].lstrip("0123456789")) - 1
            future = self.acks.pop(int(text[1 : 1 + digits]), None)
            if future is not None and not future.done():
                args = json.loads(text[1 + digits :])
                future.set_result(args[0] if len(args) == 1 else args)
        elif kind == "0":
            self.sid = json.loads(text[1:]).get("sid")
            if not self.ready.done():
                self.ready.set_result(self)
        elif kind == "4":
            self._fail(ConnectRefused(f"connect_error {text[1:]}"))
        elif kind == "1":
            self.close()

    def _event(self, text: str, received: float) -> None:
        if text[:1] != "[":  # an ack id we do not answer (none in the contract)
            text = text.lstrip("0123456789")
        name, *args = json.loads(text)
        if self.on_event is not None:
            self.on_event(self, name, args[0] if args else None, received)

    def emit(self, event: str, data: Any = None) -> None:
        self.send_text("42" + json.dumps([event, data], separators=(",", ":")))

    async def call(self, event: str, data: Any = None, timeout: float = 30) -> Any:
        ack_id = self.next_ack
        self.next_ack += 1
        future = asyncio.get_running_loop().create_future()
        self.acks[ack_id] = future
        self.send_text(f"42{ack_id}" + json.dumps([event, data], separators=(",", ":")))
        return await asyncio.wait_for(future, timeout)


async def connect(
    base_url: str,
    cookie: str | None = None,
    origin: str | None = None,
    deflate: bool = True,
    raw: bool = False,
    on_event: EventHandler | None = None,
    auth: dict | None = None,
    path: str | None = None,
    stats: Stats | None = None,
    timeout: float = 15,
) -> SioConnection:
    """Open one connection and wait until Socket.IO has accepted it."""
    url = urlsplit(base_url)
    path = path or ("/" if raw else "/socket.io/?EIO=4&transport=websocket")
    headers = {"Origin": origin or base_url}
    if cookie:
        headers["Cookie"] = cookie
    loop = asyncio.get_running_loop()

    def factory() -> SioConnection:
        return SioConnection(url.netloc, path, headers, on_event, raw, deflate, auth, stats)

    try:
        _, protocol = await asyncio.wait_for(loop.create_connection(factory, url.hostname, url.port), timeout)
        await asyncio.wait_for(protocol.ready, timeout)
    except (TimeoutError, OSError, ConnectRefused) as exc:
        if stats is not None:
            stats.refuse(exc)
        raise
    if stats is not None:
        stats.opened += 1
    return protocol


async def connect_many(
    base_url: str,
    cookies: list[str | None],
    concurrency: int = 64,
    deadline: float | None = None,
    **kwargs: Any,
) -> list[SioConnection]:
    """Open one connection per cookie, ``concurrency`` handshakes at a time.

    Failures are counted in ``kwargs["stats"]``; the open ones are returned.
    Past ``deadline`` (``time.monotonic()``) no new handshake starts: the rest
    are counted as not attempted.
    """
    gate = asyncio.Semaphore(concurrency)
    stats = kwargs.get("stats")

    async def one(cookie: str | None) -> SioConnection | None:
        async with gate:
            if deadline is not None and time.monotonic() > deadline:
                if stats is not None:
                    stats.not_attempted += 1
                return None
            try:
                return await connect(base_url, cookie=cookie, **kwargs)
            except (TimeoutError, OSError, ConnectRefused):
                return None

    opened = await asyncio.gather(*(one(cookie) for cookie in cookies))
    return [conn for conn in opened if conn is not None]


class Http:
    """A keep-alive HTTP/1.1 client on asyncio streams, for the few timed requests.

    It keeps the cookie it was given (it ignores Set-Cookie), so flashed
    messages never pile up in the session.
    """

    def __init__(self, base_url: str, cookie: str | None = None) -> None:
        url = urlsplit(base_url)
        self.host, self.port, self.netloc = url.hostname, url.port, url.netloc
        self.cookie = cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, bytes]:
        for attempt in (1, 2):  # a keep-alive connection the server closed: reconnect once
            try:
                return await self._request(method, path, form)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.writer = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _request(self, method: str, path: str, form: dict | None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        body = b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.netloc}"]
        if form is not None:
            from urllib.parse import urlencode

            body = urlencode(form).encode()
            lines.append("Content-Type: application/x-www-form-urlencoded")
        lines.append(f"Content-Length: {len(body)}")
        if self.cookie:
            lines.append(f"Cookie: {self.cookie}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ")[1])
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            content = await self._chunked()
        else:
            content = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.writer.close()
            self.writer = None
        return status, content

    async def _chunked(self) -> bytes:
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
