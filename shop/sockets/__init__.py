"""Inbound: what clients send over the socket, above the services.

``handlers`` holds the event handlers and nothing else; ``guard`` decides who
may connect and what a message must pass first (caps, rate limit, the ack
envelope, payload checks). What the server sends lives in ``shop.realtime``.
"""

from collections.abc import Callable

from flask import Flask

from shop import metrics
from shop.extensions import socketio
from shop.realtime.queue import watched_queue


def init_sockets(app: Flask) -> None:
    from shop.sockets import guard, handlers, transports  # noqa: F401 (handlers registers the handlers)
    from shop.sockets.logins import init_login_checks
    from shop.sockets.presence import init_presence
    from shop.sockets.records import init_records

    config = app.config
    queue = watched_queue(config["SOCKETIO_MESSAGE_QUEUE"], config["SOCKETIO_CHANNEL"])
    socketio.init_app(
        app,
        async_mode=config["SOCKETIO_ASYNC_MODE"],
        # Always given, None included: Flask-SocketIO keeps the options of an
        # earlier init_app, and would hand a new app the old app's queue.
        client_manager=queue,
        cors_allowed_origins=origin_checker(config["ALLOWED_ORIGINS"]),
        cors_credentials=True,
        max_http_buffer_size=config["SOCKETIO_MAX_HTTP_BUFFER_SIZE"],
        ping_interval=config["SOCKETIO_PING_INTERVAL"],
        ping_timeout=config["SOCKETIO_PING_TIMEOUT"],
        # Handle a connection's events in its own reader, one at a time, rather
        # than in a new green thread per event: a client sending faster than we
        # answer then slows down itself instead of piling up threads, and the
        # rate limit below can cut it off before its backlog is read.
        async_handlers=False,
        logger=False,
        engineio_logger=False,
    )
    transports.install(app)
    init_presence(app)
    init_records(app)
    init_login_checks(app)
    metrics.SOCKETS.set_function(guard.connection_count)
    if queue is not None:
        metrics.QUEUE_SILENCE.set_function(queue.silent_for)
    app.context_processor(lambda: {"live_limits": guard.client_limits(app.config)})


def origin_checker(extra_origins: list[str]) -> Callable[[str, dict], bool]:
    """Allow the app's own origin and ALLOWED_ORIGINS, nothing else.

    Unlike Engine.IO's default, X-Forwarded-Host and X-Forwarded-Proto are not
    trusted here: they count only when PROXY_COUNT makes ProxyFix rewrite the
    environ from a proxy we know.
    """
    allowed = frozenset(origin.rstrip("/") for origin in extra_origins)

    def origin_allowed(origin: str, environ: dict) -> bool:
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}"
        return origin == own or origin in allowed

    return origin_allowed
