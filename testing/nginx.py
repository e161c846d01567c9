"""Production's front: deploy/nginx.conf and deploy/run-workers.sh as shipped,
run on free ports with their own folders, and sockets through nginx."""

import os
import re
import shutil
import signal
import subprocess
import sys
from contextlib import suppress
from functools import partial
from pathlib import Path

import requests
import socketio

from testing import ROOT
from testing.data import PASSWORD
from testing.processes import answers, consecutive_free_ports, end_process, free_port, serves, wait_started
from testing.server import GENEROUS_LIMITS
from testing.services import SHARED_REDIS, require, unique_channel
from testing.shopper import Shopper
from testing.sockets import LiveSocket

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def require_nginx() -> None:
    require(os.access(NGINX, os.X_OK), "nginx")
    require(shutil.which("openssl") is not None, "openssl (for nginx's test certificate)")


class WorkerScript:
    """deploy/run-workers.sh, as production runs it: N workers on consecutive ports,
    on the shared Redis with a channel of their own unless ``env`` says otherwise."""

    def __init__(self, work_dir: Path, workers: int = 2, **env: str):
        self.workers = workers
        self.base_port = consecutive_free_ports(workers) - 1
        self.run_dir = work_dir / f"run-{self.base_port}"
        self.env = {
            **os.environ,
            "WORKERS": str(workers),
            "BASE_PORT": str(self.base_port),
            "RUN_DIR": str(self.run_dir),
            "PYTHON": sys.executable,
            "ENV_FILE": str(work_dir / "no-such-env-file"),
            "SECRET_KEY": "scale-out-test-secret",
            "SOCKETIO_MESSAGE_QUEUE": SHARED_REDIS,
            "SOCKETIO_CHANNEL": unique_channel(),
            **GENEROUS_LIMITS,
            "MEDIA_ROOT": str(work_dir / "media"),  # where Nginx serves photos from, by default
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
        self.log_path = self.run_dir.parent / f"run-workers-{self.base_port}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 (the child process keeps it)
        self.process = subprocess.Popen(
            ["bash", str(ROOT / "deploy" / "run-workers.sh")], env=self.env, stdout=log, stderr=log
        )
        for port in self.ports:
            self.wait_healthy(port, timeout)
        return self

    def wait_healthy(self, port: int, timeout: float = 60) -> None:
        ready = partial(serves, f"http://127.0.0.1:{port}/healthz")
        wait_started(self.process, ready, f"run-workers.sh's worker on {port}", timeout, self.log_path)

    def stop(self) -> int | None:
        """SIGTERM the script, as a supervisor would; returns its exit status. A
        script still running 20 s later is killed with its workers: a failure."""
        if self.process is None:
            return None
        if not end_process(self.process, signal.SIGTERM, grace=20):
            for pid in filter(None, map(self.pid, self.ports)):
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise AssertionError("run-workers.sh did not end within 20 s of SIGTERM")
        return self.process.returncode


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
    certificate (self-signed here), the upstream ports, the app directory, the
    photo folder (``media_root``, the workers' MEDIA_ROOT), and
    a prefix directory for pid, logs and temp files; the port-80 redirect is
    left out. The sticky hash, upgrade headers, timeouts, forwarded headers and
    static files are the file's own.
    """

    def __init__(
        self,
        work_dir: Path,
        upstream_ports: list[int],
        port: int | None = None,
        media_root: Path | None = None,
    ):
        self.port = port or free_port()
        self.media_root = media_root or work_dir / "media"
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
        text = text.replace("/var/lib/hearth-and-bean/media", str(self.media_root))
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
        ready = partial(answers, self.port)
        wait_started(self.process, ready, "nginx", timeout, self.prefix / "stderr.log")
        return self

    def shopper(self, email: str, password: str = PASSWORD) -> Shopper:
        """An HTTPS session through nginx, trusting its certificate, logged in."""
        shopper = Shopper(self.url)
        trust(shopper.http, str(self.certificate))
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
        if self.process:
            end_process(self.process, signal.SIGQUIT)


def trust(session: requests.Session, ca_file: str) -> requests.Session:
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
        def http_session() -> requests.Session:
            session = trust(requests.Session(), ca_file)
            session.cookies.update(cookies)
            return session

        client = socketio.Client(
            reconnection=reconnection,
            reconnection_delay=0.5,
            http_session=http_session,
            websocket_extra_options={"suppress_origin": True},
        )
        client.on("connect", lambda: self._record("connect", client.get_sid()))
        self._start(client, base_url, headers={"Origin": origin or base_url})

    @property
    def transport(self) -> str:
        return self.client.transport()
