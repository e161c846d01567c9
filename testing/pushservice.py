"""A Web Push service in the test's own process: a real HTTP server that checks each push
as a browser's push service and the browser would (RFC 8292 VAPID JWT signature, claims
and key; RFC 8291 aes128gcm, decrypted with http_ece) and keeps what it received, or
answers as told (410 for a subscription that is gone, a slow answer)."""

import json
import threading
import time
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from secrets import token_bytes, token_hex

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from testing.processes import Closing, wait_until

SUBJECT = "mailto:push-test@example.com"  # the VAPID subject of the tests' apps
PUSH_DELAY = 30  # their NOTIFY_PUSH_DELAY_SECONDS: tests plan "later" instead of waiting


def b64(data: bytes) -> str:
    return urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    """A browser's side of a subscription: its ECDH key pair and auth secret."""

    token: str
    endpoint: str
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    answer: int = 201
    delay: float = 0.0

    def subscription(self) -> dict:
        """As PushSubscription.toJSON() gives it."""
        point = self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {"endpoint": self.endpoint, "keys": {"p256dh": b64(point), "auth": b64(self.auth)}}


@dataclass
class Push:
    device: str  # the Device's token
    ttl: int
    topic: str | None
    urgency: str | None
    payload: dict
    claims: dict
    arrived_at: float = field(default_factory=time.time)


class PushService(Closing):
    """``PushService(vapid_public_key, subject)`` on 127.0.0.1; ``pushes`` holds what it
    accepted, ``errors`` what it refused as malformed (a test expects none)."""

    def __init__(self, vapid_public_key: str, subject: str):
        self.vapid_public_key = vapid_public_key
        self.subject = subject
        self.devices: dict[str, Device] = {}
        self.pushes: list[Push] = []
        self.errors: list[str] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def new_device(self, answer: int = 201, delay: float = 0.0) -> Device:
        token = token_hex(8)
        device = Device(
            token, f"{self.origin}/push/{token}", ec.generate_private_key(ec.SECP256R1()), token_bytes(16)
        )
        device.answer, device.delay = answer, delay
        self.devices[token] = device
        return device

    def to(self, device: Device) -> list[Push]:
        with self._lock:
            return [push for push in self.pushes if push.device == device.token]

    def wait_for(self, count: int, what: str = "the pushes", timeout: float = 30) -> list[Push]:
        wait_until(lambda: len(self.pushes) >= count, what, timeout)
        return list(self.pushes)

    def receive(self, path: str, headers, body: bytes) -> int:
        """Check one push; the status to answer."""
        with self._lock:
            self.requests += 1
        device = self.devices.get(path.rsplit("/", 1)[-1])
        if device is None:
            return 404
        try:
            push = self._check(device, headers, body)
        except (AssertionError, ValueError, KeyError, InvalidSignature) as exc:
            with self._lock:
                self.errors.append(f"{type(exc).__name__}: {exc}")
            return 400
        if device.delay:
            time.sleep(device.delay)
        if device.answer < 300:
            with self._lock:
                self.pushes.append(push)
        return device.answer

    def _check(self, device: Device, headers, body: bytes) -> Push:
        claims = self._check_vapid(headers.get("Authorization", ""))
        assert headers.get("Content-Encoding") == "aes128gcm", headers.get("Content-Encoding")
        plain = http_ece.decrypt(
            body, private_key=device.private_key, auth_secret=device.auth, version="aes128gcm"
        )
        return Push(
            device=device.token,
            ttl=int(headers["TTL"]),
            topic=headers.get("Topic"),
            urgency=headers.get("Urgency"),
            payload=json.loads(plain),
            claims=claims,
        )

    def _check_vapid(self, authorization: str) -> dict:
        """RFC 8292: ``vapid t=<JWT>, k=<public key>``, ES256 by that key, for this origin."""
        scheme, _, params = authorization.partition(" ")
        assert scheme.lower() == "vapid", authorization
        parts = dict(item.strip().split("=", 1) for item in params.split(","))
        assert parts["k"] == self.vapid_public_key, "signed with another key"
        header, claims, signature = parts["t"].split(".")
        assert json.loads(unb64(header)) == {"typ": "JWT", "alg": "ES256"}
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(parts["k"]))
        raw = unb64(signature)
        assert len(raw) == 64, "an ES256 signature is r and s, 32 bytes each"
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        decoded = json.loads(unb64(claims))
        assert decoded["aud"] == self.origin, decoded
        assert decoded["sub"] == self.subject, decoded
        assert time.time() < decoded["exp"] <= time.time() + 24 * 3600, decoded
        return decoded

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(service: PushService):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as push services offer

        def do_POST(self):  # noqa: N802 (http.server names it)
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = service.receive(self.path, self.headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler
