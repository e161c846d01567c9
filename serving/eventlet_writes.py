"""Engine.IO's WebSocket writes under eventlet: at once when the socket takes them, else from
a green thread only while there is something to send.

python-engineio (4.x, ``Socket._websocket_handler``) starts a writer task per
WebSocket that waits on the socket's queue for as long as the socket lives:
on an idle socket, a green thread and its saved stack for nothing. Here the
socket's queue (Engine.IO takes its class from its eventlet driver's table)
tells the socket when a packet is put on it, and a packet is sent then. Most
frames (a ping, a notification) fit the socket's send buffer: they are written
there and then with a non-blocking send, no green thread started (a ping's
timer does it from the event loop; a fan-out to 5,000 sockets starts none).
What does not fit (a slow reader, a full buffer) goes to a writer started for
it, which sends the rest of that frame, then every packet queued, in order,
and ends when the queue is empty. One writer at a time per socket, never
beside the quick path; a ``None`` on the queue (Engine.IO's "closed") closes
the WebSocket, as the library's writer does.

The library's writer also closed a socket that had sent nothing for
ping_interval + ping_timeout; the WebSocket's read timeout (set to the same
by Engine.IO) and Engine.IO's ping check still close a silent client.

``_websocket_handler`` below is the library's, with the writer task replaced
(the upgrade from long-polling unchanged).
"""

import eventlet
from engineio import exceptions, packet
from engineio.async_drivers import eventlet as engineio_eventlet
from engineio.socket import Socket
from eventlet import queue
from eventlet.event import Event


class WakingQueue(queue.Queue):
    """A socket's packet queue that calls ``wake`` after each put, once one is set."""

    wake = None

    def put(self, item, block=True, timeout=None):
        super().put(item, block, timeout)
        if self.wake is not None:
            self.wake()


_EMPTY = object()


def write_on_demand() -> None:
    """Install the queue class and the handler, once."""
    if engineio_eventlet._async["queue"] is WakingQueue:
        return
    engineio_eventlet._async["queue"] = WakingQueue
    Socket._websocket_handler = _websocket_handler


class _Writer:
    """Sends what is queued on ``sock`` to ``ws``: at once while the kernel takes each frame
    whole, else from a green thread started for the rest."""

    def __init__(self, sock, ws):
        self.sock, self.ws = sock, ws
        self.writing = False
        self.rest = b""  # a frame the kernel took part of: the writer sends it first
        self.must_end = False  # a None was taken, or a send failed: the writer ends the WebSocket
        self.ended = Event()

    def wake(self) -> None:
        if self.writing or self.ended.ready():
            return
        self.writing = True
        if self._send_without_waiting():
            self.writing = False
        else:
            eventlet.spawn_n(self.drain)

    def _send_without_waiting(self) -> bool:
        """Send the queued packets while each frame fits the socket's send buffer, without a
        green thread or a wait (this may run in the event loop itself: a ping's timer); True
        when nothing is left, False to leave the rest to a writer."""
        raw = getattr(self.ws.socket, "fd", None)
        if raw is None or not self.ws._sendlock.acquire(blocking=False):
            return False
        try:
            while True:
                pkt = self._take()
                if pkt is _EMPTY:
                    return True
                if pkt is None:
                    self.must_end = True
                    return False
                frame = self.ws._pack_message(pkt.encode())
                try:
                    sent = raw.send(frame)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    self.must_end = True
                    return False
                if sent < len(frame):
                    self.rest = frame[sent:]
                    return False
        finally:
            self.ws._sendlock.release()

    def _take(self):
        sock_queue = self.sock.queue
        try:
            pkt = sock_queue.get(block=False)
        except queue.Empty:
            return _EMPTY
        sock_queue.task_done()
        return pkt

    def drain(self) -> None:
        try:
            if self._send_rest():
                while self._send_next():
                    pass
        finally:
            self.writing = False

    def _send_rest(self) -> bool:
        """What the quick path left: the end of a frame, or the end of the WebSocket."""
        try:
            if self.rest:
                self.ws._send(self.rest)
        except Exception:  # as the library's writer: any send error ends the WebSocket
            self.must_end = True
        self.rest = b""
        if self.must_end:
            self._end()
            return False
        return True

    def _send_next(self) -> bool:
        """Send one queued packet; False when the queue is empty or the WebSocket ended."""
        pkt = self._take()
        if pkt is _EMPTY:
            return False
        if pkt is not None:
            try:
                self.ws.send(pkt.encode())
                return True
            except Exception:  # as the library's writer: any send error ends the WebSocket
                pass
        self._end()
        return False

    def _end(self) -> None:
        if not self.ended.ready():
            self.ended.send()
            self.ws.close()

    def wait(self) -> None:
        self.ended.wait()


def _websocket_handler(self, ws):
    """Engine.IO handler for the websocket transport (python-engineio 4.x, writer on demand)."""

    def websocket_wait():
        data = ws.wait()
        if data and len(data) > self.server.max_http_buffer_size:
            raise ValueError("packet is too large")
        return data

    for attr in ["_sock", "socket"]:
        if hasattr(ws, attr) and hasattr(getattr(ws, attr), "settimeout"):
            getattr(ws, attr).settimeout(self.server.ping_interval + self.server.ping_timeout)

    if self.connected:
        if not _upgrade(self, ws, websocket_wait):
            return []
    else:
        self.connected = True
        self.upgraded = True

    writer = _Writer(self, ws)
    self.queue.wake = writer.wake
    writer.wake()  # what was queued before the WebSocket (the open packet)
    self.server.logger.info("%s: Upgrade to websocket successful", self.sid)
    _read_until_closed(self, websocket_wait)
    self.queue.put(None)  # the writer sends what is left, then closes the WebSocket
    writer.wait()
    self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
    return []


def _upgrade(self, ws, websocket_wait) -> bool:
    """The probe and UPGRADE exchange of a long-polling socket moving to the WebSocket."""
    self.upgrading = True  # hold packet sends during the upgrade
    decoded_pkt = packet.Packet(encoded_packet=websocket_wait())
    if decoded_pkt.packet_type != packet.PING or decoded_pkt.data != "probe":
        self.server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
        self.upgrading = False
        return False
    ws.send(packet.Packet(packet.PONG, data="probe").encode())
    self.queue.put(packet.Packet(packet.NOOP))  # end poll
    pkt = websocket_wait()
    decoded_pkt = packet.Packet(encoded_packet=pkt)
    if decoded_pkt.packet_type != packet.UPGRADE:
        self.upgraded = False
        self.server.logger.info(
            "%s: Failed websocket upgrade, expected UPGRADE packet, received %s instead.", self.sid, pkt
        )
        self.upgrading = False
        return False
    self.upgraded = True
    self.upgrading = False
    return True


def _read_until_closed(self, websocket_wait) -> None:
    """Receive until the client or the socket ends; an undecodable packet raises, as in the library."""
    while True:
        try:
            p = websocket_wait()
        except Exception as e:
            if not self.closed:
                self.server.logger.info('%s: Unexpected error "%s", closing connection', self.sid, str(e))
            return
        if p is None:  # connection closed by client
            return
        pkt = packet.Packet(encoded_packet=p)
        try:
            self.receive(pkt)
        except exceptions.UnknownPacketError:
            pass
        except exceptions.SocketIsClosedError:
            self.server.logger.info("Receive error -- socket is closed")
            return
        except Exception:
            self.server.logger.exception("Unknown receive error")
            return
