"""The real services the scale-out tests run against.

PostgreSQL and Redis are the machine's shared servers: every test gets its own
database and its own Socket.IO channel, and never stops them. A test that needs
Redis to fail starts its own redis-server on its own port. nginx is started per
test from deploy/nginx.conf, on a free port, with its own prefix directory.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import redis
import requests
from argon2 import PasswordHasher

from tests.live import ROOT, Shopper, free_port

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


class Nginx:
    """Debian's nginx running deploy/nginx.conf, adapted to a free port and the test's workers.

    The adaptations are only what a test machine needs: the listen address (no
    TLS certificate here), the upstream ports, the app directory, and a prefix
    directory for pid, logs and temp files. Everything else (sticky hash,
    upgrade headers, timeouts, forwarded headers, static files) is the file as
    shipped.
    """

    def __init__(self, work_dir: Path, upstream_ports: list[int], port: int | None = None):
        self.port = port or free_port()
        self.prefix = work_dir / f"nginx-{self.port}"
        self.upstream_ports = upstream_ports
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.prefix / "access.log"

    def site_config(self) -> str:
        text = (ROOT / "deploy" / "nginx.conf").read_text()
        text = text.replace("/srv/hearth-and-bean", str(ROOT))
        servers = "".join(f"    server 127.0.0.1:{port};\n" for port in self.upstream_ports)
        text, count = re.subn(r"(?m)^\s*server 127\.0\.0\.1:\d+[^;]*;\n(?:\s*server 127.*\n)*", servers, text)
        assert count == 1, "deploy/nginx.conf: no upstream server list found"
        text = re.sub(r"(?m)^\s*(ssl_\w+|add_header Strict-Transport-Security)\b.*\n", "", text)
        text, count = re.subn(r"(?m)^\s*listen 443 ssl.*\n(?:\s*listen .*\n)*", "", text)
        assert count == 1, "deploy/nginx.conf: no TLS listen directive found"
        return re.sub(r"(?m)^(\s*)server_name ", rf"\1listen 127.0.0.1:{self.port};\n\1server_name ", text)

    def main_config(self) -> str:
        prefix = self.prefix
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
        (self.prefix / "site.conf").write_text(self.site_config())
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

    def upstreams_for(self, path_prefix: str) -> set[str]:
        """The worker addresses nginx sent requests for ``path_prefix`` to."""
        found = set()
        for line in self.access_log.read_text().splitlines():
            uri, _status, upstream = line.split(" ", 2)
            if uri.startswith(path_prefix):
                found.update(address.strip() for address in upstream.split(","))
        return found

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def buy(shopper: Shopper, product_id: int, quantity: int = 1) -> int:
    """Put a product in the cart and check out over HTTP; return the order id."""
    response = shopper.post(f"/cart/add/{product_id}", {"quantity": str(quantity)}, token_from="/cart")
    assert response.status_code == 200, response.status_code
    response = shopper.post("/checkout", {"idempotency_key": uuid.uuid4().hex}, token_from="/cart")
    match = re.search(r"/orders/(\d+)$", response.url)
    assert response.status_code == 200 and match, (response.status_code, response.url)
    return int(match.group(1))


def set_status(admin: Shopper, order_id: int, status: str) -> requests.Response:
    page = f"/admin/orders/{order_id}"
    return admin.post(f"{page}/status", {"status": status, "note": ""}, token_from=page)


def set_stock(admin: Shopper, product_id: int, stock: int) -> requests.Response:
    page = f"/admin/products/{product_id}/edit"
    return admin.post(f"/admin/products/{product_id}/stock", {"stock": str(stock)}, token_from=page)
