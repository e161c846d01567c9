"""Test-only faults: a shop server started with this folder on PYTHONPATH (``site`` imports
this module first thing) and
- SHOP_FAULT_KILL_BEFORE_EMIT=<path> kills itself with SIGKILL after a commit that wrote
  notifications and before their emit, while <path> exists;
- SHOP_FAULT_FAIL_PUBLISH=<path> fails the Redis publish of the next notification once
  <path> exists (and removes it: once), as SHOP_FAULT_FAIL_MODE says: ``give-up`` returns
  as python-socketio's manager does when its retries are spent (the emit seems to have
  gone), ``raise`` raises out of the emit.

Nothing is imported before the server's own start-up (the async library must patch
the standard library first): a hook waits for ``shop.realtime.publisher`` to be
imported, then puts a listener in front of the publisher's after-commit one.
Used by tests/scaleout/ through testing.faults.kill_before_emit_env and fail_publish_env.
"""

import importlib.abc
import importlib.util
import os
import signal
import sys

TRIGGER = os.environ.get("SHOP_FAULT_KILL_BEFORE_EMIT")
FAIL_PUBLISH = os.environ.get("SHOP_FAULT_FAIL_PUBLISH")
FAIL_MODE = os.environ.get("SHOP_FAULT_FAIL_MODE", "give-up")
PUBLISHER = "shop.realtime.publisher"


class _AfterPublisherImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != PUBLISHER:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            _install()

        spec.loader.exec_module = exec_module
        return spec


def _install() -> None:
    if TRIGGER:
        _listen()
    if FAIL_PUBLISH:
        _fail_publish_once()


def _fail_publish_once() -> None:
    from socketio import RedisManager

    publish = RedisManager._publish

    def failing_publish(self, data):
        if data.get("event") == "notification" and _take(FAIL_PUBLISH):
            if FAIL_MODE == "raise":
                raise ConnectionError("fault: the publish of a notification failed")
            return None  # what python-socketio returns when it gives up
        return publish(self, data)

    RedisManager._publish = failing_publish


def _take(path: str) -> bool:
    """Whether ``path`` existed (it is gone now): a fault that fires once per touch."""
    try:
        os.remove(path)
        return True
    except FileNotFoundError:
        return False


def _listen() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def die_before_emit(session) -> None:
        pending = session.info.get("shop.pending_pushes") or []
        if os.path.exists(TRIGGER) and any(push[0] == "notification" for push in pending):
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(Session, "after_commit", die_before_emit, insert=True)


if TRIGGER or FAIL_PUBLISH:
    sys.meta_path.insert(0, _AfterPublisherImport())
