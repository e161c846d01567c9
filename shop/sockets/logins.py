"""The connect's login check, asked in batches: one query for every connect waiting.

Each connect handler hands its session token over and waits; one task of the
worker takes every token handed over so far and looks them all up in one
query (``accounts.socket_identities``), then wakes their handlers, and again
while more wait. Alone, a connect waits for one query as before; in a
reconnect storm thousands of handshakes share a few queries and one
database connection at a time, instead of each waiting for a connection of
the pool (whose waits time out by the thousand: each holder is held up in
turn by every other runnable handshake).
"""

from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from shop.extensions import db, socketio
from shop.services import accounts
from shop.services.accounts import SocketIdentity

BATCH = 500  # tokens per query: well under SQLite's limit of bound parameters
WAIT_SECONDS = 30  # a check not answered by then is refused as busy (the checker would have failed)


class CheckFailed(Exception):
    """The batch's query failed (its error is the cause) or was not answered in time."""


@dataclass
class _Waiter:
    event: Any
    identity: SocketIdentity | None = None
    error: BaseException | None = None


@dataclass
class LoginChecks:
    app: Flask
    waiting: dict[str, list[_Waiter]] = field(default_factory=dict)
    checker: Any = None

    def identify(self, token: str) -> SocketIdentity | None:
        """The identity of a live session's token, or None; CheckFailed when the database failed."""
        waiter = _Waiter(socketio.server.eio.create_event())
        self.waiting.setdefault(token, []).append(waiter)
        if self.checker is None:
            self.checker = socketio.start_background_task(self._check_while_waiting)
        if not waiter.event.wait(WAIT_SECONDS):
            raise CheckFailed("the login check was not answered in time")
        if waiter.error is not None:
            raise CheckFailed(repr(waiter.error)) from waiter.error
        return waiter.identity

    def _check_while_waiting(self) -> None:
        try:
            socketio.sleep(0)  # let the handshakes that are ready hand their tokens over first
            while self.waiting:
                tokens = list(self.waiting)[:BATCH]
                batch = {token: self.waiting.pop(token) for token in tokens}
                self._check(batch)
        finally:
            self.checker = None
        if self.waiting:  # handed over while the checker was ending
            self.checker = socketio.start_background_task(self._check_while_waiting)

    def _check(self, batch: dict[str, list[_Waiter]]) -> None:
        found: dict[str, SocketIdentity] = {}
        error = None
        with self.app.app_context():
            try:
                found = accounts.socket_identities(batch)
            except Exception as exc:  # every handler of the batch refuses its connect
                error = exc
            finally:
                db.session.remove()
        for token, waiters in batch.items():
            for waiter in waiters:
                waiter.identity, waiter.error = found.get(token), error
                waiter.event.set()


_checks: LoginChecks | None = None


def init_login_checks(app: Flask) -> None:
    global _checks
    _checks = LoginChecks(app)


def login_checks() -> LoginChecks:
    assert _checks is not None, "init_login_checks was not called"
    return _checks
