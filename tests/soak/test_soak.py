"""The one-minute soak CI runs (SOAK_SECONDS and SOAK_SOCKETS change it)."""

import json
import os
import subprocess
import sys

from testing import ROOT

SECONDS = os.environ.get("SOAK_SECONDS", "60")
SOCKETS = os.environ.get("SOAK_SOCKETS", "500")


def test_soak_500_sockets_checkouts_and_status_changes():
    result = subprocess.run(
        [sys.executable, "-m", "tests.soak.soak", "--seconds", SECONDS, "--sockets", SOCKETS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=float(SECONDS) + 600,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout)
    print(json.dumps(report, indent=2))
    counts = report["counts"]
    assert counts["sockets"] == int(SOCKETS)
    assert counts.get("orders placed", 0) > 0 and counts.get("status changes", 0) > 0, counts
    assert report["stock"]["oversold"] == {}
    assert report["delivery"]["missing"] == report["delivery"]["unknown"] == 0, report["delivery"]
    assert report["delivery"]["different"] == 0, report["delivery"]
    assert report["delivery"]["deliveries_expected"] > 0
    assert report["errors"] == [] and counts.get("errors", 0) == 0
    assert report["memory"]["end_over_plateau"] <= 1.10, report["memory"]
    assert report["ok"] is True
