"""Test-only fault: a shop server started with this folder on PYTHONPATH (``site`` imports
this module first thing) and SHOP_FAULT_KILL_BEFORE_EMIT=<path> kills itself with SIGKILL
after a commit that wrote notifications and before their emit, while <path> exists.

Nothing is imported before the server's own start-up (the async library must patch
the standard library first): a hook waits for ``shop.realtime.publisher`` to be
imported, then puts a listener in front of the publisher's after-commit one.
Used by tests/scaleout/test_relay.py through testing.faults.kill_before_emit_env.
"""

import importlib.abc
import importlib.util
import os
import signal
import sys

TRIGGER = os.environ.get("SHOP_FAULT_KILL_BEFORE_EMIT")
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
            _listen()

        spec.loader.exec_module = exec_module
        return spec


def _listen() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def die_before_emit(session) -> None:
        pending = session.info.get("shop.pending_pushes") or []
        if os.path.exists(TRIGGER) and any(push[0] == "notification" for push in pending):
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(Session, "after_commit", die_before_emit, insert=True)


if TRIGGER:
    sys.meta_path.insert(0, _AfterPublisherImport())
