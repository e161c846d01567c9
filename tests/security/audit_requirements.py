"""Audit the pinned runtime requirements for known vulnerabilities.

    python -m tests.security.audit_requirements [--strict]

1. Every line of requirements.txt pins one version (``name==version``).
2. The versions that DESIGN.md names as fixes are at or above them.
3. ``pip-audit -r requirements.txt`` (PyPI's vulnerability data, transitive
   dependencies resolved) reports no known vulnerability.

When pip-audit cannot audit a package (PyPI's per-release JSON is not served
from every network), the package is checked against PyPI's project JSON
instead, whose ``vulnerabilities`` describe the latest release: a pin at the
latest release is audited that way, any other is reported as unaudited, and
``--strict`` fails on it.

Exit status: 0 clean, 1 a known vulnerability or a bad pin, 2 nothing could
be audited (no network), 3 some packages unaudited under --strict.
"""

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)$")
# Fixed versions DESIGN.md and the advisories ask for.
MINIMUMS = {
    "python-socketio": "5.16.2",  # memory DoS before 5.16.2; pickle from the queue before 5.14.0
    "eventlet": "0.40.3",  # HTTP request smuggling before 0.40.3
    "flask-socketio": "5.6.1",  # sessions with Flask 3.1.3
    "flask": "3.1.1",  # CVE-2025-47278 (fallback secret key order)
    "werkzeug": "3.0.6",  # CVE-2024-49766/49767 (safe_join on Windows, multipart memory)
    "jinja2": "3.1.6",  # CVE-2025-27516 (sandbox escape through |attr)
}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path = REQUIREMENTS) -> tuple[dict[str, str], list[str]]:
    pins, bad = {}, []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
        else:
            bad.append(raw)
    return pins, bad


def below_minimum(pins: dict[str, str]) -> list[str]:
    return [
        f"{name} {pins.get(name)} < {minimum}"
        for name, minimum in MINIMUMS.items()
        if name not in pins or Version(pins[name]) < Version(minimum)
    ]


def pip_audit() -> list[dict]:
    """pip-audit's findings, one dict a dependency (``vulns`` or ``skip_reason``)."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip_audit",
            "-r",
            str(REQUIREMENTS),
            "--format",
            "json",
            "--progress-spinner",
            "off",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        return json.loads(result.stdout)["dependencies"]
    except (json.JSONDecodeError, KeyError):
        raise RuntimeError(f"pip-audit failed ({result.returncode}): {result.stderr[-2000:]}") from None


def latest_release_vulnerabilities(name: str, version: str) -> list[str] | None:
    """Known vulnerability ids of ``name`` if ``version`` is its latest release; None if unknown."""
    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=30) as response:
            project = json.load(response)
    except OSError:
        return None
    if Version(project["info"]["version"]) != Version(version):
        return None
    return [vuln["id"] for vuln in project.get("vulnerabilities", [])]


def check_dependencies(pins: dict[str, str]) -> tuple[int, list[str], list[str]]:
    """(packages audited, known vulnerabilities, unaudited packages)."""
    vulnerable, unaudited, audited = [], [], 0
    for dependency in pip_audit():
        name = dependency["name"]
        version = dependency.get("version") or pins.get(normalize(name)) or "0"
        if dependency.get("vulns"):
            vulnerable += [f"{name} {version}: {vuln['id']}" for vuln in dependency["vulns"]]
        elif "skip_reason" not in dependency:
            audited += 1
        elif (found := latest_release_vulnerabilities(name, version)) is None:
            unaudited.append(f"{name} {version}")
        else:
            audited += 1
            vulnerable += [f"{name} {version}: {vuln}" for vuln in found]
    return audited, vulnerable, unaudited


def audit(strict: bool = False) -> int:
    pins, bad = read_pins()
    problems = [f"not pinned: {line!r}" for line in bad]
    problems += [f"too old: {item}" for item in below_minimum(pins)]
    audited, vulnerable, unaudited = check_dependencies(pins)
    print(f"{audited} packages audited, {len(vulnerable)} known vulnerabilities, {len(unaudited)} unaudited")
    for line in problems + vulnerable:
        print(f"  FAIL {line}")
    for line in unaudited:
        print(f"  unaudited: {line} (not the latest release, and PyPI's per-release data was not reachable)")
    if problems or vulnerable:
        return 1
    if audited == 0:
        return 2
    return 3 if strict and unaudited else 0


if __name__ == "__main__":
    sys.exit(audit(strict="--strict" in sys.argv[1:]))
