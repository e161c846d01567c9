"""Configuration classes, chosen by the SHOP_CONFIG environment variable.

Secrets and addresses come only from the environment; the Production class
refuses to start without a SECRET_KEY.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def database_uri(url: str) -> str:
    """Pin PostgreSQL URLs to psycopg2.

    SQLAlchemy 2.1 maps plain ``postgresql://`` to psycopg 3, which does not
    cooperate with eventlet; psycopg2 with psycogreen's wait callback works
    under both eventlet and gevent. ``postgres://`` (Heroku style) is accepted.
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url.removeprefix(prefix)
    return url


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


class Config:
    @classmethod
    def check(cls) -> None:
        """Validate or complete the configuration before the app is built."""

    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'shop.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    DB_POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "10"))
    DB_POOL_PRE_PING = os.environ.get("DB_POOL_PRE_PING", "1") == "1"

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    # The largest request body a page accepts: forms are small (uploads get their own limit).
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024)))
    HSTS_SECONDS = 0  # Strict-Transport-Security, sent in production (behind TLS)

    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")

    SOCKETIO_ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "eventlet")
    SOCKETIO_MESSAGE_QUEUE = os.environ.get("SOCKETIO_MESSAGE_QUEUE") or None
    SOCKETIO_CHANNEL = os.environ.get("SOCKETIO_CHANNEL", "shop-socketio")
    # The largest client message the contract needs is a small JSON object.
    SOCKETIO_MAX_HTTP_BUFFER_SIZE = int(os.environ.get("SOCKETIO_MAX_HTTP_BUFFER_SIZE", "16384"))
    SOCKET_EVENT_RATE = float(os.environ.get("SOCKET_EVENT_RATE", "10"))  # tokens per second
    SOCKET_EVENT_BURST = int(os.environ.get("SOCKET_EVENT_BURST", "20"))
    ALLOWED_ORIGINS = _env_list("ALLOWED_ORIGINS")
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))  # trusted proxies in front

    MAX_CONNECTIONS = int(os.environ.get("MAX_CONNECTIONS", "12000"))
    # Sockets one worker holds (0: all but a tenth of MAX_CONNECTIONS, kept for HTTP),
    # per client address and per account; a transport that has not connected the
    # namespace after SOCKET_CONNECT_TIMEOUT seconds is closed.
    MAX_SOCKETS = int(os.environ.get("MAX_SOCKETS", "0"))
    SOCKETS_PER_CLIENT = int(os.environ.get("SOCKETS_PER_CLIENT", "40"))
    SOCKETS_PER_USER = int(os.environ.get("SOCKETS_PER_USER", "16"))
    SOCKET_CONNECT_TIMEOUT = float(os.environ.get("SOCKET_CONNECT_TIMEOUT", "5"))
    # Engine.IO's heartbeat: a ping to every socket this often, and a socket whose pong
    # has not come this long after its ping is closed (both in seconds).
    SOCKETIO_PING_INTERVAL = float(os.environ.get("SOCKETIO_PING_INTERVAL", "25"))
    SOCKETIO_PING_TIMEOUT = float(os.environ.get("SOCKETIO_PING_TIMEOUT", "20"))
    # A worker writes the rows of its new and closed sockets (what a logout finds) in
    # one batch this often, after their connect rather than in it.
    SOCKET_RECORD_SECONDS = float(os.environ.get("SOCKET_RECORD_SECONDS", "0.05"))
    LISTEN_BACKLOG = int(os.environ.get("LISTEN_BACKLOG", "2048"))
    # The collector's three thresholds in a server (serving/collector.py; bench/README.md has the figures).
    GC_THRESHOLDS = tuple(int(part) for part in os.environ.get("GC_THRESHOLDS", "20000,10,100").split(","))

    # Catalogue pages as an anonymous visitor sees them, kept per worker for this
    # many seconds (0: not kept); anyone signed in always gets a fresh page.
    CATALOGUE_CACHE_SECONDS = int(os.environ.get("CATALOGUE_CACHE_SECONDS", "1"))
    CACHE_TYPE = "SimpleCache" if CATALOGUE_CACHE_SECONDS > 0 else "NullCache"
    CACHE_DEFAULT_TIMEOUT = CATALOGUE_CACHE_SECONDS  # (0 would mean "for ever" to the cache)
    # A shopper's order page keeps the order's own part (lines, delivery, payment, timeline)
    # this long while the order is unchanged (shop/orders/order_page.py): reloads, the
    # message form's redirect and coming back to the page render only the rest.
    ORDER_PAGE_KEEP_SECONDS = int(os.environ.get("ORDER_PAGE_KEEP_SECONDS", "600"))
    CACHE_THRESHOLD = 500  # entries: bounds the memory that many distinct searches can take
    CACHE_NO_NULL_WARNING = True

    # Delivery: a worker that has heard nothing on the queue for this long is deaf (/healthz
    # says so, it subscribes again); the heartbeat that proves it hears goes out this often.
    QUEUE_DEAF_SECONDS = float(os.environ.get("QUEUE_DEAF_SECONDS", "15"))
    QUEUE_HEARTBEAT_SECONDS = float(os.environ.get("QUEUE_HEARTBEAT_SECONDS", "5"))
    # Every worker tells its sockets where their inbox stands this often (when it moved).
    POSITION_CHECK_SECONDS = float(os.environ.get("POSITION_CHECK_SECONDS", "15"))
    # /metrics: with a token, for its bearer only; without, for these addresses only.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    METRICS_ALLOW = _env_list("METRICS_ALLOW") or ["127.0.0.1", "::1"]

    # The order conversation: messages one person may send in any minute (forms and socket
    # together), and how long a socket counts as present without its worker refreshing it
    # (a worker killed with kill -9 leaves nobody "online" for longer).
    MESSAGES_PER_MINUTE = int(os.environ.get("MESSAGES_PER_MINUTE", "20"))
    PRESENCE_TTL_SECONDS = float(os.environ.get("PRESENCE_TTL_SECONDS", "45"))
    TYPING_SECONDS = float(os.environ.get("TYPING_SECONDS", "4"))

    PRODUCTS_PER_PAGE = 12
    # Product photos: where their files live (every worker must see the same folder), the
    # largest upload (one request, one or more files), the most pixels a photo may have
    # (checked from its header, before decoding), and photos per product.
    MEDIA_ROOT = os.environ.get("MEDIA_ROOT", str(BASE_DIR / "instance" / "media"))
    MAX_UPLOAD_MB = int(os.environ.get("MAX_UPLOAD_MB", "10"))
    MAX_UPLOAD_PIXELS = int(os.environ.get("MAX_UPLOAD_PIXELS", str(40_000_000)))
    MAX_PHOTOS_PER_PRODUCT = int(os.environ.get("MAX_PHOTOS_PER_PRODUCT", "12"))
    # Photos re-encoded at once per worker, in OS threads off the event loop (0: on the
    # loop itself, which stalls every other connection meanwhile; bench/uploads.py compares).
    IMAGE_CONCURRENCY = int(os.environ.get("IMAGE_CONCURRENCY", "1"))
    ORDERS_PER_PAGE = 20
    # Where a bank transfer goes, as the order page tells a shopper who pays that way.
    BANK_TRANSFER_DETAILS = os.environ.get(
        "BANK_TRANSFER_DETAILS", "Hearth & Bean B.V., IBAN NL02 ABNA 0123 4567 89, BIC ABNANL2A"
    )

    # -- accounts: sign-in limits, login-session lifetimes, password hashing ----------
    # LOGIN_RATE_LIMIT (above) is the failure budget: failed logins, refused
    # registrations and wrong current passwords, per client (and per account
    # for the password change). The two below count what succeeds as well.
    # Every POST to the login, sign-up and password forms, successful or not, per client.
    AUTH_ATTEMPT_RATE_LIMIT = os.environ.get("AUTH_ATTEMPT_RATE_LIMIT", "20 per minute")
    # Accounts a client may open (successful sign-ups, each taken atomically).
    # With sign-up open to anyone, a new account answers "was this email
    # free?": this cap is what slows a stranger who asks that of many addresses.
    SIGNUP_RATE_LIMIT = os.environ.get("SIGNUP_RATE_LIMIT", "5 per hour")
    # Live login sessions per account; signing in beyond it signs out the one
    # used least recently (and closes its sockets).
    MAX_LOGIN_SESSIONS = int(os.environ.get("MAX_LOGIN_SESSIONS", "20"))
    # A login session ends when unused this long, and this long after sign-in
    # however much it is used (OWASP ASVS 7.3.1, 7.3.2); in seconds: 14 and 30 days.
    LOGIN_SESSION_IDLE_SECONDS = int(os.environ.get("LOGIN_SESSION_IDLE_SECONDS", str(14 * 24 * 3600)))
    LOGIN_SESSION_MAX_SECONDS = int(os.environ.get("LOGIN_SESSION_MAX_SECONDS", str(30 * 24 * 3600)))
    # A session's "last seen" is written at most this often, not on every request.
    LOGIN_SESSION_TOUCH_SECONDS = int(os.environ.get("LOGIN_SESSION_TOUCH_SECONDS", "300"))
    # Password hashes computed at once per worker, in OS threads off the event
    # loop (each takes a core for tens of milliseconds; more wait their turn).
    PASSWORD_HASH_CONCURRENCY = int(os.environ.get("PASSWORD_HASH_CONCURRENCY", "2"))
    # Forgot-password forms per client, and reset emails per address (beyond it the
    # form answers the same, and no email goes out).
    RESET_RATE_LIMIT = os.environ.get("RESET_RATE_LIMIT", "5 per 15 minutes")
    RESET_EMAIL_RATE_LIMIT = os.environ.get("RESET_EMAIL_RATE_LIMIT", "3 per hour")
    RESET_MAX_AGE_SECONDS = int(os.environ.get("RESET_MAX_AGE_SECONDS", "3600"))

    # -- email (Flask-Mailman reads the MAIL_* settings) --------------------------------
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")  # smtp, or file (under MAIL_FILE_PATH)
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
    MAIL_USE_SSL = os.environ.get("MAIL_USE_SSL", "0") == "1"
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "Hearth & Bean <shop@localhost>")
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10"))
    MAIL_FILE_PATH = os.environ.get("MAIL_FILE_PATH", str(BASE_DIR / "instance" / "mail"))
    # Every link in an email starts with this (the development server's own address by default).
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # A notification still unseen this long after it was written is emailed (with
    # whatever else of that person's is unseen by then, in one digest).
    NOTIFY_EMAIL_DELAY_SECONDS = float(os.environ.get("NOTIFY_EMAIL_DELAY_SECONDS", "300"))
    # A failed send is tried again after these many seconds (then it is failed).
    MAIL_RETRY_SECONDS = [int(x) for x in _env_list("MAIL_RETRY_SECONDS")] or [30, 120, 600, 1800]
    # How long a sender holds what it claimed before another may take it over.
    MAIL_LEASE_SECONDS = float(os.environ.get("MAIL_LEASE_SECONDS", "60"))
    # How often the background runner looks for due mail (seconds); 0 starts no runner.
    BACKGROUND_POLL_SECONDS = float(os.environ.get("BACKGROUND_POLL_SECONDS", "1"))
    # The outbox relay (a background job) looks this often for notifications committed
    # but not pushed this long after they were written, and emits them.
    OUTBOX_RELAY_SECONDS = float(os.environ.get("OUTBOX_RELAY_SECONDS", "0.25"))
    OUTBOX_GRACE_SECONDS = float(os.environ.get("OUTBOX_GRACE_SECONDS", "1.5"))
    # Expired login sessions are deleted this often (a background job).
    SESSION_PRUNE_SECONDS = float(os.environ.get("SESSION_PRUNE_SECONDS", "3600"))
    # Photo files no row names, untouched for MEDIA_ORPHAN_SECONDS, are deleted this often.
    MEDIA_PRUNE_SECONDS = float(os.environ.get("MEDIA_PRUNE_SECONDS", "3600"))
    MEDIA_ORPHAN_SECONDS = float(os.environ.get("MEDIA_ORPHAN_SECONDS", "3600"))

    # -- Web Push (VAPID, RFC 8292): the key pair as base64url (the private key's 32 bytes,
    # the public key's 65), and who to contact (mailto: or https:). Push is on only with all three.
    VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY") or None
    VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY") or None
    VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT") or None
    PUSH_ENABLED = False  # set by check()
    # A notification unseen in every open tab this long after it was written is pushed.
    NOTIFY_PUSH_DELAY_SECONDS = float(os.environ.get("NOTIFY_PUSH_DELAY_SECONDS", "30"))
    # How long a push service keeps a push for a phone that is off (pywebpush's default, 0,
    # lets it drop the push at once), and how long one request to it may take.
    PUSH_TTL_SECONDS = int(os.environ.get("PUSH_TTL_SECONDS", str(24 * 3600)))
    PUSH_TIMEOUT = float(os.environ.get("PUSH_TIMEOUT", "10"))
    PUSH_RETRY_SECONDS = [int(x) for x in _env_list("PUSH_RETRY_SECONDS")] or [30, 120, 600]
    PUSH_LEASE_SECONDS = float(os.environ.get("PUSH_LEASE_SECONDS", "60"))
    # A subscription with no accepted push for this long is deleted (a background job, this often).
    PUSH_MAX_IDLE_DAYS = int(os.environ.get("PUSH_MAX_IDLE_DAYS", "30"))
    PUSH_PRUNE_SECONDS = float(os.environ.get("PUSH_PRUNE_SECONDS", "3600"))
    # Push endpoints must be public https addresses; tests point them at a local server (1).
    PUSH_ALLOW_LOCAL_ENDPOINTS = os.environ.get("PUSH_ALLOW_LOCAL_ENDPOINTS", "0") == "1"

    @classmethod
    def check_push(cls) -> None:
        """Push is on when the three VAPID settings are there and the keys are a pair."""
        given = [cls.VAPID_PRIVATE_KEY, cls.VAPID_PUBLIC_KEY, cls.VAPID_SUBJECT]
        if any(given) and not all(given):
            raise RuntimeError("set all of VAPID_PRIVATE_KEY, VAPID_PUBLIC_KEY and VAPID_SUBJECT, or none")
        if all(given) and vapid_public_key(cls.VAPID_PRIVATE_KEY) != cls.VAPID_PUBLIC_KEY:
            raise RuntimeError("VAPID_PUBLIC_KEY is not the public key of VAPID_PRIVATE_KEY")
        cls.PUSH_ENABLED = all(given)


def _local_secret() -> str:
    """A secret kept in instance/ so that a restart does not log everyone out."""
    path = BASE_DIR / "instance" / "secret_key"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        path.write_text(os.urandom(32).hex())
    return path.read_text().strip()


def new_vapid_private_key() -> str:
    """A fresh P-256 private key, as VAPID_PRIVATE_KEY takes it."""
    from base64 import urlsafe_b64encode

    from cryptography.hazmat.primitives.asymmetric import ec

    number = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return urlsafe_b64encode(number.to_bytes(32, "big")).decode().rstrip("=")


def vapid_public_key(private_key: str) -> str:
    """The public key (uncompressed point, base64url) of a VAPID_PRIVATE_KEY."""
    from base64 import urlsafe_b64decode, urlsafe_b64encode

    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = urlsafe_b64decode(private_key + "=" * (-len(private_key) % 4))
    key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return urlsafe_b64encode(point).decode().rstrip("=")


def _local_vapid_key() -> str:
    """A VAPID key kept in instance/ (as the secret key is): subscriptions outlive a restart."""
    path = BASE_DIR / "instance" / "vapid_private_key"
    path.parent.mkdir(exist_ok=True)
    try:
        with path.open("x") as file:  # the first server to start writes it
            file.write(new_vapid_private_key())
    except FileExistsError:
        pass
    return path.read_text().strip()


class DevelopmentConfig(Config):
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "file")

    @classmethod
    def check(cls) -> None:
        cls.SECRET_KEY = cls.SECRET_KEY or _local_secret()
        if not cls.VAPID_PRIVATE_KEY:
            cls.VAPID_PRIVATE_KEY = _local_vapid_key()
            cls.VAPID_PUBLIC_KEY = vapid_public_key(cls.VAPID_PRIVATE_KEY)
        cls.VAPID_SUBJECT = cls.VAPID_SUBJECT or "mailto:shop@localhost"
        cls.check_push()


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-only-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    CACHE_TYPE = "NullCache"  # tests that read a page after changing it expect the change
    RATELIMIT_ENABLED = False
    MAIL_BACKEND = "locmem"  # tests that need a server point MAIL_BACKEND at one
    MAIL_RETRY_SECONDS = [1, 2]
    SOCKETIO_ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
    PUSH_RETRY_SECONDS = [1, 2]
    PUSH_TIMEOUT = 5
    PUSH_ALLOW_LOCAL_ENDPOINTS = True

    @classmethod
    def check(cls) -> None:
        if not cls.VAPID_PRIVATE_KEY:
            cls.VAPID_PRIVATE_KEY = new_vapid_private_key()
            cls.VAPID_PUBLIC_KEY = vapid_public_key(cls.VAPID_PRIVATE_KEY)
            cls.VAPID_SUBJECT = cls.VAPID_SUBJECT or "mailto:shop@example.com"
        cls.check_push()


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", "31536000"))

    @classmethod
    def check(cls) -> None:
        if not cls.SECRET_KEY:
            raise RuntimeError("SECRET_KEY must be set in production")
        cls.check_push()  # no VAPID settings: no push (nothing is generated here)


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    name = os.environ.get("SHOP_CONFIG", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"SHOP_CONFIG must be one of {sorted(CONFIGS)}, not {name!r}") from None
