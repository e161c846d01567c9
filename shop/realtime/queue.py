"""The message queue between workers, watched: a worker must know when it has gone deaf.

python-socketio's Redis subscriber can stop hearing the channel without any
error (python-socketio #1581: one worker of eight received nothing for a
day). Each worker therefore publishes a heartbeat on the channel and notes
when its subscriber last heard anything, its own heartbeat included. Silent
for longer than QUEUE_DEAF_SECONDS, the worker is deaf: /healthz says so, it
drops its subscription (python-socketio then reconnects and subscribes again)
and closes its sockets' transports, so that their clients reconnect (perhaps
to another worker) and catch up with ``sync``.
"""

import logging
import os
import socket
import time

import socketio

log = logging.getLogger(__name__)

HEARTBEAT_ROOM = "queue-heartbeat"  # nobody joins it: the message only has to travel


class WatchedRedisManager(socketio.RedisManager):
    """python-socketio's Redis manager, remembering when its subscriber last heard a message.

    ``_listen`` is the method python-socketio's documentation names for
    managers to provide; this one only passes its messages through.
    """

    def __init__(self, url: str, channel: str):
        name = f"shop-socketio-{socket.gethostname()}-{os.getpid()}"
        super().__init__(url, channel=channel, redis_options={"client_name": name})
        self.client_name = name
        self.last_heard: float | None = None  # python-socketio subscribes at the first connection

    def _listen(self):
        self.last_heard = time.monotonic()
        for message in super()._listen():
            self.last_heard = time.monotonic()
            yield message

    def silent_for(self) -> float:
        """Seconds since the subscriber heard anything (0 before it listens at all)."""
        return 0.0 if self.last_heard is None else time.monotonic() - self.last_heard

    def resubscribe(self) -> None:
        """Drop the subscriber's connection: python-socketio's listener reconnects and subscribes."""
        pubsub = getattr(self, "pubsub", None)
        if pubsub is not None:
            try:
                pubsub.connection.disconnect()
            except Exception:  # already broken: what we wanted
                log.debug("subscriber connection already gone", exc_info=True)


def watched_queue(url: str | None, channel: str) -> WatchedRedisManager | None:
    return WatchedRedisManager(url, channel) if url and url.startswith(("redis://", "rediss://")) else None


def queue_state(manager, deaf_after: float) -> str:
    """ok, or deaf when the subscriber has heard nothing for ``deaf_after`` seconds."""
    if isinstance(manager, WatchedRedisManager) and manager.silent_for() > deaf_after:
        return "deaf"
    return "ok"
