"""Engine.IO's pings, spread over the interval instead of bunched, and without a task each;
its ping timeouts checked in one pass every few seconds.

python-engineio pings each socket ``ping_interval`` after the pong to its
previous ping, so sockets that connected together (a reconnect storm, a
deploy) keep pinging together for as long as they live: every 25 s the worker
gets a ping, a pong and a wake-up for each of them at once. Here a socket's
first ping comes after a random part of the interval instead, which spreads
the sockets over it for good; every later one keeps the interval. A first
ping sooner than the interval is within what the client expects (it waits
for one up to ping_interval + ping_timeout).

python-engineio also waits for each ping in a background task of its own (a
green thread asleep for the interval: a saved stack per idle socket). A
server that can call a function later from its event loop (``call_later``)
schedules the ping as a timer instead; sending it only puts a packet on the
socket's queue, which never blocks. Closing a dead socket stays with
Engine.IO's service task (one pass every few seconds: ``sweep_timeouts``) and
the socket's read timeout.
"""

import random
import time

from engineio import packet
from engineio.server import Server
from engineio.socket import Socket


def spread_pings(choose=random.random, call_later=None) -> None:
    """Replace ``Socket._send_ping`` (and, given ``call_later``, ``Socket.schedule_ping``) once.

    python-engineio 4.x: ``schedule_ping`` starts ``_send_ping`` in a task once
    the previous ping was answered; ``_send_ping`` sleeps, then sends.
    """
    if getattr(Socket._send_ping, "spread", False):
        return

    def ping_delay(sock) -> float:
        first = not sock.__dict__.get("pinged")
        sock.pinged = True
        return sock.server.ping_interval * (choose() if first else 1)

    def ping(sock) -> None:
        if not sock.closing and not sock.closed:
            sock.last_ping = time.time()
            sock.send(packet.Packet(packet.PING))

    def _send_ping(self) -> None:
        self.server.sleep(ping_delay(self))
        ping(self)

    _send_ping.spread = True
    Socket._send_ping = _send_ping
    if call_later is not None:

        def schedule_ping(self) -> None:
            if self.last_ping:  # the previous ping was answered (or this is the first)
                self.last_ping = None
                call_later(ping_delay(self), ping, self)

        Socket.schedule_ping = schedule_ping


def sweep_timeouts(every: float | None = None, batch: int = 500) -> None:
    """Replace Engine.IO's service task (``Server._service_task``) once: one pass over the
    sockets every ``every`` seconds (a quarter of ping_timeout by default), not a wake-up per socket.

    python-engineio 4.x's task visits the sockets one at a time over ping_timeout,
    waiting ping_timeout / len(sockets) between two: 250 wake-ups a second at 5,000
    idle sockets, each a timer and two switches. The pass does what the visit did
    (forget a closed socket, close one whose ping went unanswered for ping_timeout),
    letting the other tasks run every ``batch`` sockets; an unanswered socket is
    closed at most ``every`` after its timeout, sooner than the visit's worst case.
    """
    if getattr(Server._service_task, "swept", False):
        return

    def _service_task(self) -> None:
        self.service_task_event = self.create_event()
        interval = every or self.ping_timeout / 4
        while not self.service_task_event.wait(timeout=interval):
            try:
                _sweep(self, batch)
            except Exception:
                self.logger.exception("service task exception")

    _service_task.swept = True
    Server._service_task = _service_task


def _sweep(server: Server, batch: int) -> None:
    for visited, sock in enumerate(list(server.sockets.values()), 1):
        if sock.closed:
            server.sockets.pop(sock.sid, None)
        elif not sock.closing:
            sock.check_ping_timeout()
        if visited % batch == 0:
            server.sleep(0)
