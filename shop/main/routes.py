import hmac
from ipaddress import ip_address

from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy import text

from shop import metrics
from shop.extensions import db, socketio
from shop.realtime.queue import queue_state

bp = Blueprint("main", __name__)


@bp.route("/healthz")
def healthz():
    """Liveness: the database answers, and the message queue (heard, not only reachable) when there is one."""
    checks = {"database": "ok" if _database_ok() else "down"}
    config = current_app.config
    if config["SOCKETIO_MESSAGE_QUEUE"]:
        reachable = _queue_ok(config["SOCKETIO_MESSAGE_QUEUE"])
        heard = queue_state(socketio.server.manager, config["QUEUE_DEAF_SECONDS"])
        checks["message_queue"] = "down" if not reachable else heard
    healthy = all(state == "ok" for state in checks.values())
    return jsonify({"status": "ok" if healthy else "degraded", "checks": checks}), 200 if healthy else 503


@bp.route("/metrics")
def metrics_page():
    """Prometheus metrics of this worker: for METRICS_TOKEN holders or METRICS_ALLOW addresses."""
    if not _may_read_metrics():
        abort(404)
    body, content_type = metrics.exposition()
    return Response(body, content_type=content_type)


def _may_read_metrics() -> bool:
    token = current_app.config["METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return hmac.compare_digest(given.encode(), token.encode())
    try:
        return ip_address(request.remote_addr or "") in map(ip_address, current_app.config["METRICS_ALLOW"])
    except ValueError:
        return False


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:
        db.session.rollback()
        return False


def _queue_ok(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping())
    except Exception:
        return False
