"""Work run off the event loop, a few at a time: CPU-bound (password hashing, photos)
and blocking network calls (SMTP).

Under an event-loop server every request shares one OS thread: an argon2
hash computed there stalls every other request and socket for as long as it
runs. The serving layer (serving/, the only code that knows the async
library) hands in how to run a function in a real OS thread; this module only
calls it. A semaphore bounds how many such calls run at once, so that a burst
of logins waits its turn here instead of taking every core from the loop.
Each kind of work has its own semaphore (``pool``), so that photos being
re-encoded never keep a login waiting.

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


PASSWORDS = "passwords"
IMAGES = "images"
# Blocking network calls (an SMTP conversation): slots of their own, so that a mail
# server that hangs never holds the ones password hashing waits for.
BLOCKING = "blocking"


class _CpuPool:
    def __init__(self) -> None:
        self.executor: Executor = call_directly
        self.slots: dict[str, AbstractContextManager] = {}
        self.on_caller: set[str] = set()


_pool = _CpuPool()


def use_executor(executor: Executor, max_concurrent: int, images: int = 1, max_blocking: int = 4) -> None:
    """Run calls off the loop through ``executor``: password work at most
    ``max_concurrent`` at a time, photo work at most ``images`` (0: in the
    calling thread, on the event loop; only for comparing in bench/), blocking
    network calls at most ``max_blocking``.

    Call it after monkey-patching: the semaphores are then the async library's
    own (a green thread waiting for a slot lets the others run).
    """
    if max_concurrent < 1 or images < 0:
        raise ValueError("max_concurrent must be at least 1, images at least 0")
    _pool.executor = executor
    _pool.slots = {
        PASSWORDS: threading.BoundedSemaphore(max_concurrent),
        BLOCKING: threading.BoundedSemaphore(max(1, max_blocking)),
    }
    if images:
        _pool.slots[IMAGES] = threading.BoundedSemaphore(images)
    _pool.on_caller = set() if images else {IMAGES}


def run_cpu_bound(fn: Callable[..., T], *args: Any, pool: str = PASSWORDS) -> T:
    """``fn(*args)`` in the executor the serving layer chose, once a slot of ``pool`` is free."""
    if pool in _pool.on_caller:
        return fn(*args)
    with _pool.slots.get(pool) or nullcontext():
        return _pool.executor(fn, *args)


def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` (a call that may wait long on the network) in an OS thread of its own pool."""
    return run_cpu_bound(fn, *args, pool=BLOCKING)
