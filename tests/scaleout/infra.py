"""The real services the scale-out tests run against.

PostgreSQL and Redis are the machine's shared servers: every test gets its own
database and its own Socket.IO channel, and never stops them. A test that needs
Redis to fail starts its own redis-server on its own port. nginx runs
deploy/nginx.conf on a free port with its own prefix directory, and
run-workers.sh starts the workers behind it as production would.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import redis
import requests
import socketio
from argon2 import PasswordHasher

from tests.checkout_support import checkout_fields
from tests.live import GENEROUS_AUTH_LIMITS, ROOT, LiveSocket, Shopper, free_port

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"
SHARED_REDIS = "redis://127.0.0.1:6379/0"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require(available: bool, what: str) -> None:
    """Skip when a service is missing; under CI=true that is a failure instead."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not available, and CI=true needs it (run scripts/ensure-services.sh)")
    pytest.skip(f"{what} is not available")


def require_postgres() -> None:
    require(answers(PG_PORT), f"PostgreSQL on {PG_HOST}:{PG_PORT}")


def require_redis() -> None:
    require(answers(6379), "Redis on 127.0.0.1:6379")


def require_redis_server_binary() -> None:
    require(shutil.which("redis-server") is not None, "the redis-server program")


def require_nginx() -> None:
    require(os.access(NGINX, os.X_OK), "nginx")
    require(shutil.which("openssl") is not None, "openssl (for nginx's test certificate)")


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def unique_channel() -> str:
    return unique_name("shop-test")


def _admin(statement: str) -> None:
    # Not `with connection:`, which would open a transaction that CREATE DATABASE refuses.
    connection = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement)
    finally:
        connection.close()


def create_database() -> str:
    """A new, empty, uniquely named database; returns its URL."""
    name = unique_name("shop_test")
    _admin(f'CREATE DATABASE "{name}"')
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"


def drop_database(url: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def query(url: str, sql: str, *params):
    """Run one statement on the test database from outside the app."""
    connection = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else None
    finally:
        connection.close()


def waiting_on_a_lock(url: str) -> int:
    """How many sessions of the test database wait for a lock (a row, an advisory lock ...)."""
    name = url.rsplit("/", 1)[1]
    [(count,)] = query(
        url, "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'", name
    )
    return count


PASSWORD = "scale-out test password"
# The cheapest argon2id parameters: logging in still runs the real check.
_CHEAP_HASH = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)


def add_user(url: str, name: str, admin: bool = False) -> str:
    """A user written straight into the test database; returns the email."""
    email = f"{unique_name(name.lower())}@example.com"
    query(
        url,
        "INSERT INTO users (email, name, password_hash, is_admin, last_seq, created_at)"
        " VALUES (%s, %s, %s, %s, 0, now()) RETURNING id",
        email, name, _CHEAP_HASH, admin,
    )  # fmt: skip
    return email


def add_product(url: str, stock: int, threshold: int = 0) -> int:
    [(product_id,)] = query(
        url,
        "INSERT INTO products (name, description, price_cents, stock, low_stock_threshold, active,"
        " created_at, updated_at) VALUES (%s, '', 1250, %s, %s, true, now(), now()) RETURNING id",
        unique_name("Mug"), stock, threshold,
    )  # fmt: skip
    return product_id


def log_in(base_url: str, email: str) -> Shopper:
    return Shopper(base_url).login(email, PASSWORD)


class RedisServer:
    """A private redis-server on its own port, which the test may stop and restart."""

    def __init__(self, work_dir: Path, port: int | None = None):
        self.port = port or free_port()
        self.work_dir = work_dir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10) -> "RedisServer":
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.work_dir),
                "--logfile", str(self.work_dir / f"redis-{self.port}.log"),
            ],
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


class WorkerScript:
    """deploy/run-workers.sh, as production runs it: N workers on consecutive ports."""

    def __init__(self, work_dir: Path, workers: int = 2, **env: str):
        self.workers = workers
        self.base_port = _consecutive_free_ports(workers) - 1
        self.run_dir = work_dir / f"run-{self.base_port}"
        self.env = {
            **os.environ,
            "WORKERS": str(workers),
            "BASE_PORT": str(self.base_port),
            "RUN_DIR": str(self.run_dir),
            "PYTHON": sys.executable,
            "ENV_FILE": str(work_dir / "no-such-env-file"),
            "SECRET_KEY": "scale-out-test-secret",
            **GENEROUS_AUTH_LIMITS,
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen | None = None

    @property
    def ports(self) -> list[int]:
        return [self.base_port + i for i in range(1, self.workers + 1)]

    def pid(self, port: int) -> int | None:
        try:
            return int((self.run_dir / f"worker-{port}.pid").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def start(self, timeout: float = 60) -> "WorkerScript":
        log = open(self.run_dir.parent / f"run-workers-{self.base_port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            ["bash", str(ROOT / "deploy" / "run-workers.sh")], env=self.env, stdout=log, stderr=log
        )
        for port in self.ports:
            self.wait_healthy(port, timeout)
        return self

    def wait_healthy(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"run-workers.sh exited with {self.process.returncode}")
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError(f"no healthy worker on port {port}")

    def stop(self) -> int | None:
        """SIGTERM the script, as a supervisor would; returns its exit status."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                for port in self.ports:
                    if (pid := self.pid(port)) is not None:
                        os.kill(pid, signal.SIGKILL)
                raise
        return self.process.returncode if self.process else None


def _consecutive_free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports that are free now."""
    for _ in range(50):
        first = free_port()
        if all(_port_free(first + i) for i in range(1, count)):
            return first
    raise RuntimeError("no run of free ports")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, for nginx's TLS listener."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


class Nginx:
    """Debian's nginx running deploy/nginx.conf as shipped, with TLS, on a free port.

    Only what differs between machines is changed: the listen address, the
    certificate (self-signed here), the upstream ports, the app directory, and
    a prefix directory for pid, logs and temp files; the port-80 redirect is
    left out. The sticky hash, upgrade headers, timeouts, forwarded headers and
    static files are the file's own.
    """

    def __init__(self, work_dir: Path, upstream_ports: list[int], port: int | None = None):
        self.port = port or free_port()
        self.prefix = work_dir / f"nginx-{self.port}"
        self.upstream_ports = upstream_ports
        self.process: subprocess.Popen | None = None
        self.certificate: Path | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def site_config(self, cert: Path, key: Path) -> str:
        text = (ROOT / "deploy" / "nginx.conf").read_text().replace("/srv/hearth-and-bean", str(ROOT))
        text, redirects = re.subn(r"server \{[^{}]*return 301[^{}]*\}\n*", "", text)
        upstream = re.search(r"(?m)^(\s*)server 127\.0\.0\.1:\d+([^;]*);\n(?:\s*server 127.*\n)*", text)
        tls = re.search(r"(?m)^(\s*)listen 443 (ssl.*);\n(?:\s*listen .*\n)*", text)
        assert redirects == 1 and upstream and tls, "deploy/nginx.conf has changed shape"
        indent, options = upstream.groups()
        servers = "".join(f"{indent}server 127.0.0.1:{port}{options};\n" for port in self.upstream_ports)
        listen = f"{tls.group(1)}listen 127.0.0.1:{self.port} {tls.group(2)};\n"
        text = text.replace(upstream.group(0), servers).replace(tls.group(0), listen)
        text = re.sub(r"(?m)^(\s*ssl_certificate) .*$", rf"\1 {cert};", text)
        return re.sub(r"(?m)^(\s*ssl_certificate_key) .*$", rf"\1 {key};", text)

    def main_config(self) -> str:
        prefix = self.prefix
        # nginx started as root runs its workers as nobody, who may not read the test's files.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        return f"""{user}daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    log_format upstream '$request_uri $status $upstream_addr';
    access_log {prefix}/access.log upstream;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/site.conf;
}}
"""

    def start(self, timeout: float = 10) -> "Nginx":
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.certificate, key = make_certificate(self.prefix)
        (self.prefix / "site.conf").write_text(self.site_config(self.certificate, key))
        (self.prefix / "nginx.conf").write_text(self.main_config())
        log = open(self.prefix / "stderr.log", "ab")  # noqa: SIM115 (the child process keeps it)
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"), "-e", "stderr"],
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.prefix / 'stderr.log').read_text()[-3000:]}")
            if answers(self.port):
                return self
            time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def shopper(self, email: str, password: str = PASSWORD) -> Shopper:
        """An HTTPS session through nginx, trusting its certificate, logged in."""
        shopper = Shopper(self.url)
        _trust(shopper.http, str(self.certificate))
        # Over HTTPS Flask-WTF also wants a same-origin Referer, as browsers send.
        shopper.http.headers["Referer"] = self.url + "/"
        return shopper.login(email, password)

    def connect(self, shopper: Shopper, **options) -> "ProxiedSocket":
        return ProxiedSocket(self.url, shopper.http.cookies, str(self.certificate), **options)

    def upstreams_for(self, path_prefix: str) -> list[str]:
        """The worker addresses nginx sent requests for ``path_prefix`` to, in order."""
        found = []
        for line in self.access_log.read_text().splitlines():
            uri, _status, upstream = line.split(" ", 2)
            if uri.startswith(path_prefix) and upstream != "-":
                found.extend(address.strip() for address in upstream.split(","))
        return found

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _trust(session: requests.Session, ca_file: str) -> requests.Session:
    """Verify against ``ca_file`` only: with trust_env, REQUESTS_CA_BUNDLE would win."""
    session.trust_env = False
    session.verify = ca_file
    return session


class ProxiedSocket(LiveSocket):
    """A LiveSocket through nginx, as a browser connects: long-polling first, then
    the upgrade to WebSocket, over TLS, with the page's Origin. Connects and
    reconnects are recorded as ``connect`` events.

    The login cookie rides in the HTTP session's cookie jar, as in a browser:
    python-engineio deletes a ``Cookie`` header from the connect headers when
    it upgrades, so a reconnect would go out without it.
    """

    def __init__(self, base_url: str, cookies, ca_file: str, origin: str | None = None, reconnection=False):
        self.events: list[tuple[str, dict]] = []
        self.changed = threading.Condition()

        def http_session() -> requests.Session:
            session = _trust(requests.Session(), ca_file)
            session.cookies.update(cookies)
            return session

        self.client = socketio.Client(
            reconnection=reconnection,
            reconnection_delay=0.5,
            http_session=http_session,
            websocket_extra_options={"suppress_origin": True},
        )
        self.client.on("*", self._record)
        self.client.on("connect", lambda: self._record("connect", self.client.get_sid()))
        self.client.connect(base_url, headers={"Origin": origin or base_url}, wait_timeout=10)

    @property
    def transport(self) -> str:
        return self.client.transport()


def wait_until(condition, what: str, timeout: float = 30) -> None:
    """Poll ``condition`` until it holds: a wait for readiness, never a speed check."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def wait_for_match(sock: LiveSocket, event: str, matches, timeout: float = 5) -> dict:
    """The first ``event`` whose payload ``matches``, waiting for it if need be."""
    deadline = time.monotonic() + timeout
    with sock.changed:
        while True:
            found = [data for name, data in sock.events if name == event and matches(data)]
            if found:
                return found[0]
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching {event!r} within {timeout}s; got {sock.events!r}")
            sock.changed.wait(left)


def buy(shopper: Shopper, product_id: int, quantity: int = 1) -> int:
    """Put a product in the cart and check out over HTTP; return the order id."""
    response = shopper.post(f"/cart/add/{product_id}", {"quantity": str(quantity)}, token_from="/cart")
    assert response.status_code == 200, response.status_code
    form = checkout_fields(shopper.get("/checkout").text)
    response = shopper.post("/checkout", form, token_from="/cart")
    match = re.search(r"/orders/(\d+)$", response.url)
    assert response.status_code == 200 and match, (response.status_code, response.url)
    return int(match.group(1))


def set_status(admin: Shopper, order_id: int, status: str) -> requests.Response:
    page = f"/admin/orders/{order_id}"
    return admin.post(f"{page}/status", {"status": status, "note": ""}, token_from=page)


def set_stock(admin: Shopper, product_id: int, stock: int) -> requests.Response:
    page = f"/admin/products/{product_id}/edit"
    return admin.post(f"/admin/products/{product_id}/stock", {"stock": str(stock)}, token_from=page)
