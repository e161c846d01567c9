"""The connect's login check and the sync, asked in batches: one query (three for syncs)
for every handler waiting.

Each connect handler hands its session token over and waits; one task of the
worker takes every token handed over so far and looks them all up in one
query (``accounts.socket_identities``), then wakes their handlers, and again
while more wait. Alone, a connect waits for one query as before; in a
reconnect storm thousands of handshakes share a few queries and one
database connection at a time, instead of each waiting for a connection of
the pool (whose waits time out by the thousand: each holder is held up in
turn by every other runnable handshake).
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from flask import Flask

from shop.extensions import db, socketio
from shop.services import accounts, notifications
from shop.services.accounts import SocketIdentity
from shop.services.notifications import SyncAsk
from shop.sockets.tasks import TaskWhileBusy

BATCH = 500  # keys per batch: well under SQLite's limit of bound parameters
WAIT_SECONDS = 30  # a check not answered by then is refused as busy (the checker would have failed)


class CheckFailed(Exception):
    """The batch's query failed (its error is the cause) or was not answered in time."""


@dataclass
class _Waiter:
    event: Any
    result: Any = None
    error: BaseException | None = None


class Batched:
    """Questions asked by many handlers at once, answered by one task in batches.

    ``answer(keys)`` runs in an app context and returns a result per key (a key
    it leaves out gets None); handlers asking the same key share its answer.
    """

    def __init__(self, app: Flask, answer: Callable[[list[Hashable]], dict[Hashable, Any]]) -> None:
        self.app = app
        self.answer = answer
        self.waiting: dict[Hashable, list[_Waiter]] = {}
        self.task = TaskWhileBusy(self._answer_next, lambda: bool(self.waiting))

    def ask(self, key: Hashable) -> Any:
        """The answer for ``key``; CheckFailed when its batch failed or took too long."""
        waiter = _Waiter(socketio.server.eio.create_event())
        with self.task.lock:
            self.waiting.setdefault(key, []).append(waiter)
        self.task.wake()
        if not waiter.event.wait(WAIT_SECONDS):
            raise CheckFailed("the batch was not answered in time")
        if waiter.error is not None:
            raise CheckFailed(repr(waiter.error)) from waiter.error
        return waiter.result

    def _answer_next(self) -> None:
        socketio.sleep(0)  # let the handlers that are ready ask first
        with self.task.lock:
            batch = {key: self.waiting.pop(key) for key in list(self.waiting)[:BATCH]}
        self._answer(batch)

    def _answer(self, batch: dict[Hashable, list[_Waiter]]) -> None:
        found: dict[Hashable, Any] = {}
        error = None
        with self.app.app_context():
            try:
                found = self.answer(list(batch))
            except Exception as exc:  # every handler of the batch fails its call
                error = exc
            finally:
                db.session.remove()
        for key, waiters in batch.items():
            for waiter in waiters:
                waiter.result, waiter.error = found.get(key), error
                waiter.event.set()


def _catch_up(asks: list[SyncAsk]) -> dict[SyncAsk, dict]:
    return dict(zip(asks, notifications.catch_up_many(asks), strict=True))


_checks: Batched | None = None
_syncs: Batched | None = None


def init_login_checks(app: Flask) -> None:
    global _checks, _syncs
    _checks = Batched(app, accounts.socket_identities)
    _syncs = Batched(app, _catch_up)


def identify(token: str) -> SocketIdentity | None:
    """The identity of a live session's token, or None; CheckFailed when the database failed."""
    assert _checks is not None, "init_login_checks was not called"
    return _checks.ask(token)


def catch_up(ask: SyncAsk) -> dict:
    """``notifications.catch_up`` for one socket's sync, batched with the others waiting."""
    assert _syncs is not None, "init_login_checks was not called"
    return _syncs.ask(ask)
