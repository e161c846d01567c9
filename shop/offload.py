"""CPU-bound work (password hashing) run off the event loop, a few at a time.

Under an event-loop server every request shares one OS thread: an argon2
hash computed there stalls every other request and socket for as long as it
runs. The serving layer (serving/, the only code that knows the async
library) hands in how to run a function in a real OS thread; this module only
calls it. A semaphore bounds how many such calls run at once, so that a burst
of logins waits its turn here instead of taking every core from the loop.

Until the serving layer says otherwise (the threading mode, tests, the CLI)
the function is called directly.
"""

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

T = TypeVar("T")
# executor(fn, *args) runs fn(*args) and returns what it returned.
Executor = Callable[..., Any]


def call_directly(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


class _CpuPool:
    def __init__(self) -> None:
        self.executor: Executor = call_directly
        self.slots: AbstractContextManager = nullcontext()


_pool = _CpuPool()
# Blocking network calls (an SMTP conversation): their own slots, so that a mail
# server that hangs never holds the ones password hashing waits for.
_io_pool = _CpuPool()


def use_executor(executor: Executor, max_concurrent: int, max_blocking: int = 4) -> None:
    """Run CPU-bound calls through ``executor``, at most ``max_concurrent`` at a time.

    Call it after monkey-patching: the semaphore is then the async library's
    own (a green thread waiting for a slot lets the others run).
    """
    if max_concurrent < 1:
        raise ValueError("max_concurrent must be at least 1")
    _pool.executor = executor
    _pool.slots = threading.BoundedSemaphore(max_concurrent)
    _io_pool.executor = executor
    _io_pool.slots = threading.BoundedSemaphore(max(1, max_blocking))


def run_cpu_bound(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in the executor the serving layer chose, once a slot is free."""
    with _pool.slots:
        return _pool.executor(fn, *args)


def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` (a call that may wait long on the network) in an OS thread of its own pool."""
    with _io_pool.slots:
        return _io_pool.executor(fn, *args)
