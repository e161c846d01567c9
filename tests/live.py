"""A real shop server in a subprocess, and HTTP and Socket.IO clients for it.

The server is `python wsgi.py`, exactly what `make run` starts, on a free port
with its own database file; tests talk to it over real sockets.
"""

import html
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import requests
import socketio

ROOT = Path(__file__).resolve().parent.parent
# Live tests sign in again and again from 127.0.0.1, often to one account: the
# per-client limits on logins and sign-ups and the cap on an account's login
# sessions are raised out of their way (they have tests of their own).
GENEROUS_AUTH_LIMITS = {
    "LOGIN_RATE_LIMIT": "1000 per minute",
    "AUTH_ATTEMPT_RATE_LIMIT": "1000 per minute",
    "SIGNUP_RATE_LIMIT": "1000 per minute",
    "MAX_LOGIN_SESSIONS": "1000",
    "SOCKETS_PER_CLIENT": "100000",
    "SOCKETS_PER_USER": "100000",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_database(url: str) -> None:
    """Create the schema and the demo data (users and products) at ``url``."""
    from config import TestingConfig
    from shop import create_app
    from shop.extensions import db
    from shop.seed import seed_demo

    config = type("PrepareConfig", (TestingConfig,), {"SQLALCHEMY_DATABASE_URI": url})
    app = create_app(config)
    with app.app_context():
        db.create_all()
        seed_demo()
        db.session.remove()
        db.engine.dispose()


class LiveServer:
    def __init__(self, database_url: str, log_dir: Path, port: int | None = None, **env: str):
        self.port = port or free_port()
        self.database_url = database_url
        self.log_path = log_dir / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "SHOP_CONFIG": "development",
            "SECRET_KEY": "live-test-secret",
            "DATABASE_URL": database_url,
            "SOCKETIO_ASYNC_MODE": "eventlet",
            **GENEROUS_AUTH_LIMITS,
            "PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> "LiveServer":
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child process keeps it)
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "wsgi.py")], cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        try:
            self._wait_until_up(timeout)
        except BaseException:
            self.stop()  # the caller gets no server to stop: none may be left running
            raise
        return self

    def _wait_until_up(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code in (200, 503):
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process:
            end_process(self.process, sig)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run a `flask` command against this server's database and queue."""
        env = {**self.env, "FLASK_APP": "shop:create_app", "SOCKETIO_ASYNC_MODE": "threading"}
        return subprocess.run(
            [sys.executable, "-m", "flask", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


def end_process(process: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 10) -> bool:
    """End a child process on every path: ``sig`` first (after SIGCONT, in case it
    was stopped), then SIGKILL after ``grace`` seconds. True if it ended of itself."""
    if process.poll() is not None:
        return True
    process.send_signal(signal.SIGCONT)
    process.send_signal(sig)
    try:
        process.wait(grace)
        return True
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)
        return False


CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
CHECKOUT_FORM = re.compile(r"<form[^>]*\bdata-checkout-form\b[^>]*>(.*?)</form>", re.S)
INPUT_TAG = re.compile(r"<input\b[^>]*>")
SELECT = re.compile(r"<select\b([^>]*)>(.*?)</select>", re.S)
OPTION = re.compile(r"<option\b([^>]*)>", re.S)
ATTRIBUTE = re.compile(r'([\w-]+)="([^"]*)"')
CHECKED = re.compile(r"\schecked\b")
SELECTED = re.compile(r"\sselected\b")


def checkout_form(page: bytes | str) -> dict[str, str]:
    """Every field the checkout page's form posts, as a browser would post it
    untouched: its CSRF token and key, what the page showed, the choices made
    for the shopper (checked radios and boxes, selected options) and what the
    text fields hold."""
    text = page.decode() if isinstance(page, bytes) else page
    form = CHECKOUT_FORM.search(text)
    assert form, "the page has no checkout form"
    fields = {}
    for tag in INPUT_TAG.findall(form.group(1)):
        attributes = dict(ATTRIBUTE.findall(tag))
        if attributes.get("type") in ("radio", "checkbox") and not CHECKED.search(tag):
            continue
        if "name" in attributes:
            fields[attributes["name"]] = html.unescape(attributes.get("value", ""))
    for select_attributes, options in SELECT.findall(form.group(1)):
        name = dict(ATTRIBUTE.findall(select_attributes)).get("name")
        tags = OPTION.findall(options)
        chosen = next((tag for tag in tags if SELECTED.search(tag)), tags[0] if tags else "")
        if name:
            fields[name] = html.unescape(dict(ATTRIBUTE.findall(chosen)).get("value", ""))
    return fields


class Shopper:
    """A browser-like HTTP session: cookies, CSRF tokens, form posts."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=10, **kwargs)

    def csrf_token(self, path: str = "/auth/login") -> str:
        match = CSRF.search(self.get(path).text)
        assert match, f"no CSRF token on {path}"
        return match.group(1) or match.group(2)

    def post(self, path: str, data: dict | None = None, token_from: str = "/auth/login", **kwargs):
        form = {"csrf_token": self.csrf_token(token_from), **(data or {})}
        return self.http.post(self.base_url + path, data=form, timeout=10, **kwargs)

    def login(self, email: str, password: str) -> "Shopper":
        response = self.post("/auth/login", {"email": email, "password": password}, allow_redirects=False)
        assert response.status_code == 302, f"login failed: {response.status_code}"
        return self

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    def connect(self, **kwargs) -> "LiveSocket":
        return LiveSocket(self.base_url, self.cookie_header, **kwargs)


class LiveSocket:
    """python-socketio's Client, recording every event it receives."""

    def __init__(
        self,
        base_url: str,
        cookie: str,
        origin: str | None = None,
        transports=("websocket",),
        reconnection: bool = False,
    ):
        self.events: list[tuple[str, dict]] = []
        self.changed = threading.Condition()
        # websocket-client adds an Origin of its own unless told not to: two Origin
        # headers would reach the server, so the one given here is sent alone.
        self.client = socketio.Client(
            reconnection=reconnection, websocket_extra_options={"suppress_origin": bool(origin)}
        )
        self.client.on("*", self._record)
        headers = {"Cookie": cookie}
        if origin:
            headers["Origin"] = origin
        self.client.connect(base_url, headers=headers, transports=list(transports), wait_timeout=10)

    def _record(self, event: str, data=None) -> None:
        with self.changed:
            self.events.append((event, data))
            self.changed.notify_all()

    def of(self, event: str) -> list[dict]:
        with self.changed:
            return [data for name, data in self.events if name == event]

    def wait_for(self, event: str, count: int = 1, timeout: float = 5) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self.changed:
            while len([1 for name, _ in self.events if name == event]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"waited {timeout}s for {count} {event!r}; got {self.events!r}")
                self.changed.wait(left)
        return self.of(event)

    def call(self, event: str, data=None, timeout: float = 5):
        return self.client.call(event, data, timeout=timeout)

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


def without_time(payloads: list[dict]) -> list[dict]:
    """Pushed payloads less their ``updated_at``, checked to be an ISO 8601 UTC time."""
    found = []
    for payload in payloads:
        rest = dict(payload)
        assert datetime.fromisoformat(rest.pop("updated_at")).utcoffset() == timedelta(0)
        found.append(rest)
    return found
