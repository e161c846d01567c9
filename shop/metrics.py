"""What the people running the shop can see: Prometheus metrics, one set per worker.

Each worker process keeps its own (prometheus-client's default registry) and
serves it at /metrics; with several workers, scrape each worker's own port
(deploy/README.md). Gauges read their value when scraped. The backlogs (the
outbox relay's, the background runner's) are the database's, read at each scrape
inside the /metrics request: every worker reports the same figures.
"""

from collections.abc import Iterator
from datetime import datetime

from flask import has_app_context
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

PUSHES = Counter("shop_pushes_total", "Events emitted, by event name", ["event"])
PUSH_FAILURES = Counter("shop_push_failures_total", "Emits that raised (the queue was down)", ["event"])
SYNC_CALLS = Counter("shop_sync_calls_total", "sync calls answered")
SYNC_ROWS = Counter("shop_sync_rows_total", "Notifications returned by sync")
SOCKETS = Gauge("shop_sockets_connected", "Namespace connections held by this worker")
DB_CONNECTIONS_OPENED = Counter(
    "shop_db_connections_opened_total",
    "Database connections this worker's pool opened: flat once the pool holds what the load needs",
)
QUEUE_SILENCE = Gauge("shop_queue_heartbeat_age_seconds", "Seconds since this worker last heard the queue")
POSITION_CHECKS = Histogram(
    "shop_position_check_seconds",
    "Rounds of this worker's position check, by how long each took",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
POSITION_USERS = Gauge("shop_position_check_users", "Users connected here at the last position check")
REQUESTS = Histogram(
    "shop_request_seconds",
    "HTTP request latency, by endpoint",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def count_db_connection(_dbapi_connection, _record) -> None:
    """The engine's ``connect`` event: the pool opened a connection."""
    DB_CONNECTIONS_OPENED.inc()


class BacklogCollector:
    """What waits in the database for a background job: committed notifications not yet
    pushed (the outbox relay), due emails no sender has claimed (by kind)."""

    def describe(self) -> list:
        return []  # nothing to read at registration, outside any app context

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not has_app_context():
            return
        from shop.extensions import db
        from shop.models.base import utcnow
        from shop.models.mail import CANCELLATION, CONFIRMATION, DIGEST, PASSWORD_RESET
        from shop.realtime import relay
        from shop.services import mail

        now = utcnow()
        try:
            unpushed, oldest = relay.backlog()
            due = mail.due_backlog(now)
        finally:
            db.session.rollback()
        yield GaugeMetricFamily(
            "shop_relay_backlog", "Committed notifications not marked pushed yet", value=unpushed
        )
        yield GaugeMetricFamily(
            "shop_relay_backlog_oldest_seconds",
            "Age of the oldest notification not marked pushed (0 when none)",
            value=_age(now, oldest),
        )
        count = GaugeMetricFamily(
            "shop_runner_backlog", "Due work no runner has claimed", labels=["job", "kind"]
        )
        age = GaugeMetricFamily(
            "shop_runner_backlog_oldest_seconds",
            "Seconds since the oldest unclaimed work came due (0 when none)",
            labels=["job", "kind"],
        )
        for kind in (CONFIRMATION, CANCELLATION, DIGEST, PASSWORD_RESET):
            waiting, since = due.get(kind, (0, None))
            count.add_metric(["mail.send", kind], waiting)
            age.add_metric(["mail.send", kind], _age(now, since))
        yield count
        yield age


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since else 0.0


REGISTRY.register(BacklogCollector())


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
