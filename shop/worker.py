"""What each worker does for itself in the background, besides serving: telling its own
sockets where their inbox stands, keeping its line to the message queue honest, and
keeping its sockets' presence fresh.

All are per-worker jobs on the background runner (shop/background.py), which
the serving layer starts in every worker (serving.serve), never the CLI or tests.
"""

import logging

from flask import Flask

from shop import background, metrics
from shop.extensions import db, socketio
from shop.realtime import publisher
from shop.realtime.queue import WatchedRedisManager
from shop.realtime.rooms import ADMINS
from shop.services import changes, notifications
from shop.sockets import guard, transports
from shop.sockets.presence import TICK_SECONDS, PresenceKeeper

log = logging.getLogger(__name__)


def start(app: Flask) -> None:
    background.register("positions.check", "POSITION_CHECK_SECONDS", PositionCheck().run, per_worker=True)
    background.register("presence.tick", TICK_SECONDS, PresenceKeeper().run, per_worker=True)
    manager = socketio.server.manager
    if isinstance(manager, WatchedRedisManager):
        watch = QueueWatch(manager)
        background.register("queue.heartbeat", "QUEUE_HEARTBEAT_SECONDS", watch.run, per_worker=True)
    background.start(app, socketio.start_background_task, socketio.sleep)


class PositionCheck:
    """Every POSITION_CHECK_SECONDS, one query for the users connected here: tell each one
    whose inbox moved since the last check where it stands (a client that missed the last
    push learns that it is behind), and take users who are no admins any more out of the
    admins room. The admins' feed likewise: its head, when it moved, to the admins here."""

    def __init__(self) -> None:
        self.told: dict[int, tuple[str, int]] = {}
        self.feed_told: int | None = None

    def run(self, app: Flask) -> None:
        with metrics.POSITION_CHECKS.time():
            self.told = _check_positions(app, self.told)
        metrics.POSITION_USERS.set(len(self.told))
        self.feed_told = _check_feed(app, self.feed_told)


def _check_feed(app: Flask, told: int | None) -> int:
    with app.app_context():
        head = changes.head()
        db.session.remove()
    if head != told:
        publisher.send_admin_position(head)
    return head


def _check_positions(app: Flask, told: dict[int, tuple[str, int]]) -> dict[int, tuple[str, int]]:
    with app.app_context():
        states = notifications.positions(guard.users_here())
        db.session.remove()
    now_told = {}
    for user_id, (epoch, top_seq, is_admin) in states.items():
        if not is_admin:
            for sid in guard.demote(user_id):
                publisher.leave_room_here(sid, ADMINS)
        if told.get(user_id) != (epoch, top_seq):
            publisher.send_position(user_id, epoch, top_seq)
        now_told[user_id] = (epoch, top_seq)
    return now_told


class QueueWatch:
    """Send a heartbeat through the queue every few seconds; when none comes back, act deaf:
    subscribe again and let this worker's clients reconnect (they catch up with sync)."""

    def __init__(self, manager: WatchedRedisManager) -> None:
        self.manager = manager
        self.deaf = False

    def run(self, app: Flask) -> None:
        publisher.heartbeat()
        silent = self.manager.silent_for()
        if silent <= app.config["QUEUE_DEAF_SECONDS"]:
            if self.deaf:
                log.warning("the message queue is heard again")
            self.deaf = False
            return
        if not self.deaf:
            log.warning("deaf: nothing heard on the message queue for %.0f s; subscribing again", silent)
            self.deaf = True
            transports.close_all()
        self.manager.resubscribe()
