"""What the people running the shop can see: Prometheus metrics, one set per worker.

Each worker process keeps its own (prometheus-client's default registry) and
serves it at /metrics; with several workers, scrape each worker's own port
(deploy/README.md). Gauges read their value when scraped.
"""

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

PUSHES = Counter("shop_pushes_total", "Events emitted, by event name", ["event"])
PUSH_FAILURES = Counter("shop_push_failures_total", "Emits that raised (the queue was down)", ["event"])
SYNC_CALLS = Counter("shop_sync_calls_total", "sync calls answered")
SYNC_ROWS = Counter("shop_sync_rows_total", "Notifications returned by sync")
SOCKETS = Gauge("shop_sockets_connected", "Namespace connections held by this worker")
QUEUE_SILENCE = Gauge("shop_queue_heartbeat_age_seconds", "Seconds since this worker last heard the queue")
REQUESTS = Histogram(
    "shop_request_seconds",
    "HTTP request latency, by endpoint",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST
