"""Engine.IO's pings, spread over the interval instead of bunched.

python-engineio pings each socket ``ping_interval`` after the pong to its
previous ping, so sockets that connected together (a reconnect storm, a
deploy) keep pinging together for as long as they live: every 25 s the worker
gets a ping, a pong and a wake-up for each of them at once. Here a socket's
first ping comes after a random part of the interval instead, which spreads
the sockets over it for good; every later one keeps the interval. A first
ping sooner than the interval is within what the client expects (it waits
for one up to ping_interval + ping_timeout).
"""

import random
import time

from engineio import packet
from engineio.socket import Socket


def spread_pings(choose=random.random) -> None:
    """Replace ``Socket._send_ping`` (python-engineio 4.x; its body is three lines) once."""
    if getattr(Socket._send_ping, "spread", False):
        return

    def _send_ping(self) -> None:
        first = not self.__dict__.get("pinged")
        self.pinged = True
        self.server.sleep(self.server.ping_interval * (choose() if first else 1))
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self.send(packet.Packet(packet.PING))

    _send_ping.spread = True
    Socket._send_ping = _send_ping
