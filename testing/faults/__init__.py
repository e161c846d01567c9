"""Faults injected into a live server from outside the app (see sitecustomize.py here)."""

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent


def kill_before_emit_env(trigger: Path) -> dict[str, str]:
    """The environment of a server that dies between commit and emit while ``trigger`` exists."""
    path = os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH", "")]))
    return {"PYTHONPATH": path, "SHOP_FAULT_KILL_BEFORE_EMIT": str(trigger)}
