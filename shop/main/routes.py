from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from shop.extensions import db

bp = Blueprint("main", __name__)


@bp.route("/healthz")
def healthz():
    """Liveness: the database answers, and the message queue when there is one."""
    checks = {"database": _database_ok()}
    queue_url = current_app.config["SOCKETIO_MESSAGE_QUEUE"]
    if queue_url:
        checks["message_queue"] = _queue_ok(queue_url)
    healthy = all(checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "checks": {k: "ok" if v else "down" for k, v in checks.items()},
    }
    return jsonify(body), 200 if healthy else 503


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
