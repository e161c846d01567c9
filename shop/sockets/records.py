"""This worker's socket rows, written in batches after the connect rather than in it.

A logout (and every other sign-out) finds the sockets to close in the
``socket_connections`` table, whichever worker holds them. Writing that row in
the connect handler made every handshake wait for a write transaction of its
own; here the connect only notes the socket, and one task of the worker
writes what was noted every SOCKET_RECORD_SECONDS in one transaction (and
deletes the rows of the sockets closed meanwhile in another).

Nothing is lost to a sign-out in between: ``accounts.record_sockets`` locks the
login sessions the batch was opened on, as a sign-out locks the ones it ends,
and answers which sockets were opened on a session that ended meanwhile;
those are closed here. A socket opened as an admin by someone demoted
meanwhile leaves the admins room. A socket that closes before its row is
written never gets one.
"""

import logging

from flask import Flask

from shop.extensions import db, socketio
from shop.realtime import publisher
from shop.realtime.rooms import ADMINS
from shop.services import accounts
from shop.services.accounts import OpenSocket
from shop.sockets import guard
from shop.sockets.tasks import TaskWhileBusy

log = logging.getLogger(__name__)

BATCH = 500  # rows per statement: well under SQLite's limit of bound parameters
MAX_FAILED_ROUNDS = 8  # the wait doubles after each: about 13 s at the default 0.05 s


class SocketRecords:
    """What this worker's connect and disconnect handlers noted, until it is written.

    The writer is a task started by the first note and ending when nothing is
    left, so an idle worker (or a test's app) keeps none. While the database
    fails the writer waits longer each round; after MAX_FAILED_ROUNDS it gives
    up: the sockets it could not record are closed (a logout could not find
    them; their browsers reconnect and are recorded then), the rows of closed
    ones are left to go with their login session.
    """

    def __init__(self, app: Flask, every: float) -> None:
        self.app = app
        self.every = every
        self.opened: dict[str, OpenSocket] = {}
        self.closed: set[str] = set()
        self.failed_rounds = 0
        self.writer = TaskWhileBusy(self._write_after_a_while, self.pending)

    def note_open(self, sid: str, user_id: int, login_token: str, admin: bool) -> None:
        with self.writer.lock:
            self.opened[sid] = OpenSocket(sid, user_id, login_token, admin)
        self.writer.wake()

    def note_closed(self, sid: str) -> None:
        with self.writer.lock:
            if self.opened.pop(sid, None) is not None:  # its row was not written: none will be
                return
            self.closed.add(sid)
        self.writer.wake()

    def pending(self) -> int:
        return len(self.opened) + len(self.closed)

    def _write_after_a_while(self) -> None:
        socketio.sleep(self.every * 2**self.failed_rounds)
        self.write()

    def write(self) -> None:
        """Write what was noted; on a database error keep what is left for the next round."""
        with self.writer.lock:
            opened, self.opened = list(self.opened.values()), {}
            closed, self.closed = list(self.closed), set()
        with self.app.app_context():
            try:
                while opened:
                    self._record(opened[:BATCH])
                    del opened[:BATCH]
                while closed:
                    accounts.forget_sockets(closed[:BATCH])
                    del closed[:BATCH]
                self.failed_rounds = 0
            except Exception as exc:
                self._failed(exc, opened, closed)
            finally:
                db.session.remove()

    def _record(self, batch: list[OpenSocket]) -> None:
        still_open = [socket for socket in batch if guard.is_connected(socket.sid)]
        with self.writer.lock:
            for socket in batch:
                if socket not in still_open:
                    self.closed.discard(socket.sid)  # closed before its row was written
        recorded = accounts.record_sockets(still_open)
        for sid in recorded.ended:
            publisher.disconnect(sid)
        for sid in recorded.demoted:
            if guard.demote_socket(sid):
                publisher.leave_room_here(sid, ADMINS)

    def _failed(self, exc: Exception, opened: list[OpenSocket], closed: list[str]) -> None:
        self.failed_rounds += 1
        if self.failed_rounds == 1:
            log.error("could not write socket rows; trying again", exc_info=exc)
        if self.failed_rounds < MAX_FAILED_ROUNDS:
            with self.writer.lock:
                for socket in opened:
                    if guard.is_connected(socket.sid):
                        self.opened.setdefault(socket.sid, socket)
                self.closed.update(closed)
            return
        log.error("gave up writing socket rows (%r): closing %d unrecorded sockets", exc, len(opened))
        self.failed_rounds = 0
        for socket in opened:
            publisher.disconnect(socket.sid)


_records: SocketRecords | None = None


def init_records(app: Flask) -> None:
    global _records
    _records = SocketRecords(app, app.config["SOCKET_RECORD_SECONDS"])


def records() -> SocketRecords:
    assert _records is not None, "init_records was not called"
    return _records
