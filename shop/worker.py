"""What each worker does for itself in the background, besides serving.

Started by the serving layer in every worker (serving.serve), never by the
CLI or tests: telling its own sockets where their inbox stands, and keeping
its line to the message queue honest.
"""

import logging

from flask import Flask

from shop import background
from shop.extensions import db, socketio
from shop.realtime import publisher
from shop.realtime.queue import WatchedRedisManager
from shop.realtime.rooms import ADMINS
from shop.services import notifications
from shop.sockets import guard, transports

log = logging.getLogger(__name__)


def start(app: Flask) -> None:
    background.start(app, socketio.start_background_task, socketio.sleep)
    socketio.start_background_task(check_positions, app)
    manager = socketio.server.manager
    if isinstance(manager, WatchedRedisManager):
        socketio.start_background_task(watch_queue, manager, app.config)


def check_positions(app: Flask) -> None:
    """Every POSITION_CHECK_SECONDS, one query for the users connected here: tell each one
    whose inbox moved since the last check where it stands (a client that missed the last
    push learns that it is behind), and take users who are no admins any more out of the
    admins room."""
    told: dict[int, tuple[str, int]] = {}
    while True:
        socketio.sleep(app.config["POSITION_CHECK_SECONDS"])
        try:
            told = _check_positions(app, told)
        except Exception:
            log.exception("the position check failed")


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


def watch_queue(manager: WatchedRedisManager, config) -> None:
    """Send a heartbeat through the queue every few seconds; when none comes back, act deaf:
    subscribe again and let this worker's clients reconnect (they catch up with sync)."""
    deaf = False
    while True:
        socketio.sleep(config["QUEUE_HEARTBEAT_SECONDS"])
        publisher.heartbeat()
        silent = manager.silent_for()
        if silent <= config["QUEUE_DEAF_SECONDS"]:
            if deaf:
                log.warning("the message queue is heard again")
            deaf = False
            continue
        if not deaf:
            log.warning("deaf: nothing heard on the message queue for %.0f s; subscribing again", silent)
            deaf = True
            transports.close_all()
        manager.resubscribe()
