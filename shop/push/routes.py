from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from shop.extensions import csrf
from shop.services import push
from shop.services.errors import DomainError, InvalidInput

bp = Blueprint("push", __name__)


@bp.before_request
def push_is_on():
    if not current_app.config["PUSH_ENABLED"]:
        abort(404)


@bp.errorhandler(CSRFError)
def csrf_refused(error: CSRFError):
    """The script's calls get the JSON error envelope; the device list's form, the error page."""
    if request.is_json or request.path == "/push/subscriptions":
        return _error("csrf", f"{error.description} Reload the page and try again.", 400)
    return render_template("errors/error.html", status=400, message=error.description), 400


@bp.route("/sw.js")
def service_worker():
    """The service worker, at the root so that its scope is the whole shop."""
    response = send_from_directory(
        current_app.static_folder, "js/sw.js", mimetype="text/javascript", max_age=0
    )
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/push/subscriptions", methods=["POST"])
def subscribe():
    """This browser's PushSubscription (JSON, CSRF token in X-CSRFToken): push is on here."""
    if not current_user.is_authenticated:
        return _error("unauthorized", "Log in to turn on notifications.", 401)
    try:
        keys = push.parse_subscription(request.get_json(silent=True))
        row = push.subscribe(
            current_user.id, current_user.login_token, keys, request.headers.get("User-Agent", "")
        )
    except DomainError as exc:
        return _error(exc.code, exc.message, exc.status)
    return jsonify(ok=True, subscription={"id": row.id, "device": row.device}), 201


@bp.route("/push/subscriptions/delete", methods=["POST"])
def unsubscribe():
    """Push off for a device: this browser's endpoint (JSON), or a device of the list (form)."""
    if not current_user.is_authenticated:
        return (
            _error("unauthorized", "Log in first.", 401)
            if request.is_json
            else current_app.login_manager.unauthorized()
        )
    if request.is_json:
        return _unsubscribe_json(request.get_json(silent=True))
    try:
        push.unsubscribe(current_user.id, subscription_id=_int(request.form.get("subscription")))
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("preferences.settings")), 303
    flash("Notifications are off on that device.", "success")
    return redirect(url_for("preferences.settings")), 303


def _unsubscribe_json(payload):
    endpoint = payload.get("endpoint") if isinstance(payload, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        return _error("invalid_input", "Send the endpoint of the subscription to delete.", 400)
    try:
        push.unsubscribe(current_user.id, endpoint=endpoint)
    except DomainError as exc:
        return _error(exc.code, exc.message, exc.status)
    return jsonify(ok=True)


@bp.route("/push/shown", methods=["POST"])
@csrf.exempt  # the service worker has no page to take a token from; the signed token is the proof
def shown():
    """The service worker showed a push: its notification is not emailed."""
    payload = request.get_json(silent=True)
    token = payload.get("token") if isinstance(payload, dict) else None
    try:
        if not isinstance(token, str):
            raise InvalidInput("Send the token the push carried.")
        push.mark_shown(token)
    except DomainError as exc:
        return _error(exc.code, exc.message, exc.status)
    return jsonify(ok=True)


def _int(value: str | None) -> int:
    if value is None or not value.isdigit() or len(value) > 10:
        raise InvalidInput("Choose a device from the list.")
    return int(value)


def _error(code: str, message: str, status: int):
    return jsonify(ok=False, error={"code": code, "message": message}), status
