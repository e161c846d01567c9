"""Faults injected into a live server from outside the app (see sitecustomize.py here)."""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent


def kill_before_emit_env(trigger: Path) -> dict[str, str]:
    """The environment of a server that dies between commit and emit while ``trigger`` exists."""
    return {"PYTHONPATH": _path(), "SHOP_FAULT_KILL_BEFORE_EMIT": str(trigger)}


def fail_publish_env(trigger: Path, mode: str) -> dict[str, str]:
    """The environment of a server whose next notification publish fails once ``trigger``
    exists (``mode``: ``give-up``, silently as python-socketio does, or ``raise``)."""
    return {"PYTHONPATH": _path(), "SHOP_FAULT_FAIL_PUBLISH": str(trigger), "SHOP_FAULT_FAIL_MODE": mode}


def _path() -> str:
    return os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH", "")]))
