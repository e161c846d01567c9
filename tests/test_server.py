"""serving/: its garbage collector, eventlet's HTTP protocol and gevent's handler."""

import gc
from types import SimpleNamespace

import pytest
from engineio import packet
from engineio.server import Server
from engineio.socket import Socket

from serving import collector
from serving.pings import spread_pings, sweep_timeouts


def test_tune_gc_freezes_start_up_and_collects_less_often():
    before = gc.get_threshold()
    try:
        collector.tune_gc()

        assert gc.get_threshold() == collector.GC_THRESHOLDS
        assert collector.GC_THRESHOLDS[0] > before[0]
        assert gc.get_freeze_count() > 0  # start-up's objects are out of every collection
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.filterwarnings(r"ignore:\s*Eventlet is deprecated")
def test_a_websocket_closes_the_http_buffers_and_keeps_its_socket():
    """After the 101 the handler's 24 KiB of HTTP buffers are freed, not held idle."""
    import eventlet
    from eventlet import websocket, wsgi

    seen = []

    from serving.eventlet_server import FileReleasingProtocol

    class Protocol(FileReleasingProtocol):
        def get_environ(self):
            seen.append(self)
            return super().get_environ()

    @websocket.WebSocketWSGI
    def echo(ws):
        handler = seen[-1]
        ws.send(f"{handler.rfile.closed} {handler.wfile.closed} {ws.wait()}")

    def app(environ, start_response):
        if environ.get("HTTP_UPGRADE"):
            return echo(environ, start_response)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    listener = eventlet.listen(("127.0.0.1", 0))
    serving = eventlet.spawn(wsgi.server, listener, app, protocol=Protocol, log_output=False)
    try:
        http = eventlet.connect(listener.getsockname()).makefile("rwb")
        for _ in range(2):  # keep-alive: plain HTTP still reads and writes through its files
            http.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            http.flush()
            assert _read_head(http).startswith(b"HTTP/1.1 200")
            assert http.read(2) == b"ok"

        ws = eventlet.connect(listener.getsockname()).makefile("rwb")
        ws.write(
            b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        ws.flush()
        assert _read_head(ws).startswith(b"HTTP/1.1 101")
        ws.write(bytes([0x81, 0x82, 0, 0, 0, 0]) + b"hi")  # a masked text frame (zero mask)
        ws.flush()
        header = ws.read(2)
        assert header[0] == 0x81
        assert ws.read(header[1]) == b"True True hi"
    finally:
        serving.kill()
        listener.close()


def test_gevent_websocket_requests_close_the_read_buffer_and_http_keeps_it():
    """Under gevent a WebSocket request frees the handler's 8 KiB read buffer."""
    from gevent import pywsgi, socket

    from serving.gevent_server import NoDelayHandler

    def app(environ, start_response):
        body = environ["wsgi.input"]  # gevent hands an upgrade request its raw read buffer
        closed = str(getattr(body, "rfile", body).closed).encode()
        start_response("200 OK", [("Content-Length", str(len(closed)))])
        return [closed]

    serving = pywsgi.WSGIServer(("127.0.0.1", 0), app, handler_class=NoDelayHandler, log=None)
    serving.start()
    try:
        http = socket.create_connection(serving.address).makefile("rwb")
        for _ in range(2):  # keep-alive: plain HTTP still reads through its buffer
            http.write(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            http.flush()
            assert _read_head(http).startswith(b"HTTP/1.1 200")
            assert http.read(5) == b"False"

        ws = socket.create_connection(serving.address).makefile("rwb")
        ws.write(b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
        ws.flush()
        assert _read_head(ws).startswith(b"HTTP/1.1 200")
        assert ws.read(4) == b"True"
    finally:
        serving.stop()


def _read_head(file) -> bytes:
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += file.readline()
    return head


def test_a_large_request_body_gives_the_loop_back_between_reads():
    """An upload already in the socket's buffer would be parsed without a pause: every
    other green thread of the worker (pushes, pages) runs between its reads instead."""
    import eventlet
    from eventlet import wsgi

    from serving.eventlet_server import LARGE_BODY, yielding_bodies

    ticks, seen = [], {}

    def app(environ, start_response):
        body, before, reads = environ["wsgi.input"], len(ticks), 0
        while body.read(16 * 1024):
            reads += 1
        seen[int(environ["CONTENT_LENGTH"])] = (reads, len(ticks) - before, type(body).__name__)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    def ticker():
        while True:
            ticks.append(1)
            eventlet.sleep(0)

    listener = eventlet.listen(("127.0.0.1", 0))
    serving = eventlet.spawn(wsgi.server, listener, yielding_bodies(app), log_output=False)
    beating = eventlet.spawn(ticker)
    try:
        for size in (LARGE_BODY, 1024 * 1024):
            http = eventlet.connect(listener.getsockname()).makefile("rwb")
            http.write(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % size + b"x" * size)
            http.flush()
            assert _read_head(http).startswith(b"HTTP/1.1 200")
            http.close()
    finally:
        beating.kill()
        serving.kill()
        listener.close()

    reads, others_ran, kind = seen[1024 * 1024]
    assert kind == "YieldingBody" and reads >= 64 and others_ran >= reads
    assert seen[LARGE_BODY][2] != "YieldingBody"  # a form's body is read as it comes


def test_a_sockets_first_ping_comes_after_a_random_part_of_the_interval_then_every_interval(monkeypatch):
    _put_pings_back_after_the_test(monkeypatch)
    spread_pings(choose=lambda: 0.25)
    slept, sent = [], []
    sock = Socket.__new__(Socket)
    sock.server = SimpleNamespace(ping_interval=20, sleep=slept.append)
    sock.closing = sock.closed = False
    sock.send = sent.append

    sock._send_ping()
    sock._send_ping()

    assert slept == [5.0, 20]
    assert [p.packet_type for p in sent] == [packet.PING, packet.PING]


def test_pings_wait_as_event_loop_timers_not_a_task_per_socket(monkeypatch):
    """With the server's ``call_later`` no socket keeps a green thread asleep for its next ping."""
    _put_pings_back_after_the_test(monkeypatch)
    timers, sent = [], []
    spread_pings(choose=lambda: 0.5, call_later=lambda seconds, fn, *args: timers.append((seconds, fn, args)))
    sock = Socket.__new__(Socket)
    sock.server = SimpleNamespace(ping_interval=20, start_background_task=_no_task)
    sock.closing = sock.closed = False
    sock.last_ping = 1.0  # as python-engineio leaves a new socket
    sock.send = sent.append

    sock.schedule_ping()
    sock.schedule_ping()  # not answered yet: no second timer
    assert [seconds for seconds, _, _ in timers] == [10.0] and sock.last_ping is None

    _, fire, args = timers.pop()
    fire(*args)
    assert [p.packet_type for p in sent] == [packet.PING] and sock.last_ping

    sock.schedule_ping()  # the pong came
    assert [seconds for seconds, _, _ in timers] == [20]

    sock.closed = True
    _, fire, args = timers.pop()
    fire(*args)
    assert len(sent) == 1  # a closed socket is not pinged


def test_ping_timeouts_are_checked_in_one_pass_every_few_seconds_not_a_wake_up_per_socket(monkeypatch):
    """python-engineio's service task waits ping_timeout / len(sockets) between two sockets
    (250 wake-ups a second at 5,000): here it waits a quarter of ping_timeout, then visits all."""
    monkeypatch.setattr(Server, "_service_task", Server._service_task)
    sweep_timeouts(batch=2)
    waits, checked, yields = [], [], []

    class Event:
        def wait(self, timeout):
            waits.append(timeout)
            return len(waits) > 3  # shut down after three passes

    def sock(sid, closed=False, closing=False):
        return SimpleNamespace(
            sid=sid, closed=closed, closing=closing, check_ping_timeout=lambda: checked.append(sid)
        )

    sockets = {
        s.sid: s
        for s in (sock("a"), sock("gone", closed=True), sock("b"), sock("leaving", closing=True), sock("c"))
    }
    server = SimpleNamespace(
        ping_timeout=20, sockets=sockets, create_event=Event, sleep=yields.append, logger=None
    )

    Server._service_task(server)

    assert waits == [5.0] * 4
    assert checked == ["a", "b", "c"] * 3
    assert set(server.sockets) == {"a", "b", "leaving", "c"}
    assert len(yields) == 2 + 2 + 2  # every second socket of each pass (five, then four twice)


@pytest.mark.filterwarnings(r"ignore:\s*Eventlet is deprecated")
def test_eventlet_call_later_runs_from_the_loop_without_a_green_thread():
    import eventlet
    from greenlet import getcurrent

    from serving.eventlet_server import call_later

    ran = []
    hub = eventlet.hubs.get_hub()
    call_later(0.01, lambda value: ran.append((value, getcurrent() is hub.greenlet)), "ping")
    eventlet.sleep(0.1)
    assert ran == [("ping", True)]


def _put_pings_back_after_the_test(monkeypatch):
    monkeypatch.setattr(Socket, "_send_ping", Socket._send_ping)
    monkeypatch.setattr(Socket, "schedule_ping", Socket.schedule_ping)


def _no_task(*_args):
    raise AssertionError("a ping must not start a task")


@pytest.fixture
def engineio_on_eventlet(monkeypatch):
    """An Engine.IO server served as the shop serves it (pings as timers, writes on demand,
    guarded WebSockets) on a listener of its own: (server, listener)."""
    import engineio
    import eventlet
    from engineio.async_drivers import eventlet as engineio_eventlet
    from eventlet import wsgi

    from serving import eventlet_server
    from serving.eventlet_writes import write_on_demand

    _put_pings_back_after_the_test(monkeypatch)
    monkeypatch.setitem(engineio_eventlet._async, "queue", engineio_eventlet._async["queue"])
    monkeypatch.setitem(engineio_eventlet._async, "websocket", engineio_eventlet._async["websocket"])
    monkeypatch.setattr(Socket, "_websocket_handler", Socket._websocket_handler)
    spread_pings(choose=lambda: 0.5, call_later=eventlet_server.call_later)
    eventlet_server.guard_websockets(1000)
    write_on_demand()

    server = engineio.Server(async_mode="eventlet", ping_interval=0.4, ping_timeout=5)
    listener = eventlet.listen(("127.0.0.1", 0))
    serving = eventlet.spawn(
        wsgi.server,
        listener,
        engineio.WSGIApp(server),
        protocol=eventlet_server.FileReleasingProtocol,
        log_output=False,
    )
    try:
        yield server, listener
    finally:
        serving.kill()
        listener.close()


@pytest.mark.filterwarnings(r"ignore:\s*Eventlet is deprecated")
def test_an_idle_eventlet_websocket_keeps_one_green_thread_and_writes_without_another(engineio_on_eventlet):
    """python-engineio keeps three per socket (handler, writer, ping task): here only the
    handler stays while the socket is idle, and a ping or a packet that the socket takes at
    once is written without starting one."""
    import eventlet

    server, listener = engineio_on_eventlet
    server.on("message", lambda sid, data: server.send(sid, f"echo {data}"))
    _open_engineio_websocket(listener)  # the first also starts Engine.IO's service task
    eventlet.sleep(0.05)
    before = _live_green_threads()
    ws = _open_engineio_websocket(listener)
    eventlet.sleep(0.05)
    assert _live_green_threads() - before == 1  # its handler alone, waiting to read

    spawned = []
    real_spawn_n = eventlet.spawn_n
    eventlet.spawn_n = lambda *args: spawned.append(args) or real_spawn_n(*args)
    try:
        assert _read_text_frame(ws) == "2"  # a ping, from a timer
        _send_text_frame(ws, "3")
        _send_text_frame(ws, "4hello")
        assert _read_text_frame(ws) == "4echo hello"
        eventlet.sleep(0.05)
        assert _read_text_frame(ws) == "2"  # the next ping, after the pong
    finally:
        eventlet.spawn_n = real_spawn_n
    assert spawned == []
    assert _live_green_threads() - before == 1


@pytest.mark.filterwarnings(r"ignore:\s*Eventlet is deprecated")
def test_frames_a_full_socket_cannot_take_go_whole_and_in_order_from_a_writer(engineio_on_eventlet):
    """A client that stops reading fills its socket's buffers: the frame that does not fit
    and everything queued after it wait for a writer, which ends once they are sent."""
    import eventlet

    server, listener = engineio_on_eventlet
    big = "x" * 60_000
    server.on("message", lambda sid, data: [server.send(sid, f"{n} {big}") for n in range(100)])
    before = _live_green_threads()
    ws = _open_engineio_websocket(listener)
    _send_text_frame(ws, "4go")
    eventlet.sleep(0.2)
    assert _live_green_threads() - before == 2  # the handler, and a writer waiting on the full socket

    received = []
    while len(received) < 100:
        text = _read_any_text_frame(ws)
        if text != "2":  # pings go on meanwhile
            received.append(text)
    assert received == [f"4{n} {big}" for n in range(100)]
    eventlet.sleep(0.05)
    assert _live_green_threads() - before == 1  # the writer ended with the queue empty


@pytest.mark.filterwarnings(r"ignore:\s*Eventlet is deprecated")
def test_a_client_that_resets_its_connection_ends_the_websocket_at_the_next_send(
    engineio_on_eventlet, monkeypatch, capfd
):
    """The client vanishes with a reset, not a close frame, and the server sends before its
    reader has noticed: the failed send ends the WebSocket and its handler, with no traceback."""
    import socket
    import struct

    import eventlet

    from serving import eventlet_writes

    server, listener = engineio_on_eventlet
    drains_ending = []
    real_drain = eventlet_writes._Writer.drain

    def drain(writer):
        drains_ending.append((writer.sock.sid, writer.must_end))
        real_drain(writer)

    monkeypatch.setattr(eventlet_writes._Writer, "drain", drain)
    first = _open_engineio_websocket(listener)  # it also starts Engine.IO's service task
    eventlet.sleep(0.05)
    before = _live_greenlets()  # on a loaded machine some of these end meanwhile: only new ones count
    conn = eventlet.connect(listener.getsockname())
    _open_engineio_websocket(listener, conn)
    eventlet.sleep(0.05)
    assert _live_greenlets() - before  # the new WebSocket's handler, waiting to read
    sock = server.sockets[next(reversed(server.sockets))]
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()  # a reset
    server.send(sock.sid, "anyone there?")
    server.send(sock.sid, "hello?")
    eventlet.sleep(0.2)
    assert drains_ending == [(sock.sid, True)]  # the quick send failed, and one writer ended it
    assert sock.closed
    assert not _live_greenlets() - before  # its handler ended, no writer left
    assert "Traceback" not in capfd.readouterr().err
    first.close()


def _open_engineio_websocket(listener, conn=None):
    import eventlet

    ws = (conn or eventlet.connect(listener.getsockname())).makefile("rwb")
    ws.write(
        b"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n"
    )
    ws.flush()
    assert _read_head(ws).startswith(b"HTTP/1.1 101")
    assert _read_text_frame(ws).startswith("0{")  # the open packet, written as the socket opened
    return ws


def _live_greenlets() -> set:
    from greenlet import greenlet

    return {obj for obj in gc.get_objects() if isinstance(obj, greenlet) and obj and not obj.dead}


def _live_green_threads() -> int:
    return len(_live_greenlets())


def _read_text_frame(file) -> str:
    first, length = file.read(2)
    assert first == 0x81 and length < 126
    return file.read(length).decode()


def _read_any_text_frame(file) -> str:
    first, length = file.read(2)
    assert first == 0x81 and not length & 0x80
    if length == 126:
        length = int.from_bytes(file.read(2), "big")
    elif length == 127:
        length = int.from_bytes(file.read(8), "big")
    return file.read(length).decode()


def _send_text_frame(file, text: str) -> None:
    data = text.encode()
    file.write(bytes([0x81, 0x80 | len(data), 0, 0, 0, 0]) + data)  # masked with a zero mask
    file.flush()
