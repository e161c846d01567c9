"""What every request and response passes through: input limits, the navigation's
counts, the flashed messages kept, and the security headers.

The hooks that read Flask's proxies (request, g, current_user) several times take
the objects behind them once: an attribute read through a proxy costs more than
the rest of such a hook's work.
"""

import time
from dataclasses import replace

from flask import Flask, abort, current_app, g, request, session
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from shop import metrics
from shop.cart import guest
from shop.services import accounts, cart, messages, navigation, notifications

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
MAX_ID = 2**31 - 1  # the largest value an INTEGER id column holds on every database
# Flashed messages wait in the cookie session until a page shows them.
MAX_WAITING_FLASHES = 5
PAGE_METHODS = frozenset({"GET", "HEAD"})
NO_PAGE_ENDPOINTS = frozenset({"static", "media.photo", "main.healthz", "main.metrics_page"})


class IdConverter(IntegerConverter):
    """``<int:…>`` up to MAX_ID: a larger number names nothing (404) instead of
    overflowing the database driver (500)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def takes_uploads(view):
    """Mark an admin's upload route: its body may be MAX_UPLOAD_MB (every other keeps MAX_CONTENT_LENGTH)."""
    view.takes_uploads = True
    return view


def upload_limit(app: Flask) -> int:
    """The largest body of an upload: MAX_UPLOAD_MB of files and a little for the form around them."""
    return app.config["MAX_UPLOAD_MB"] * 1024 * 1024 + 64 * 1024


def raise_upload_limit() -> None:
    """On an upload route, and for an admin only, let the body be an upload's size.

    It must run before anything reads the body: CSRFProtect's hook reads the
    form, and with it the whole body, under the limit in force then. Anyone
    else keeps the small limit, so a stranger cannot make a worker read megabytes.
    """
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "takes_uploads", False) and current_user.is_authenticated and current_user.is_admin:
        request.max_content_length = upload_limit(current_app)


def refuse_nul_characters() -> None:
    """No text of ours may hold NUL: PostgreSQL refuses it in a string, so say so first."""
    for values in (request.args, request.form):
        for key, items in values.lists():
            if "\x00" in key or any("\x00" in item for item in items):
                abort(400, "Text may not contain NUL characters.")


def read_inbox_position() -> None:
    """Before anything else of a signed-in request: where its page's socket catches up from.

    Read before the page's data, a notification written meanwhile is on the page
    already or comes with the catch-up (duplicates are dropped by seq), never lost.
    A GET or HEAD is a page: its navigation's counts come in the same statement
    (shop/services/navigation.py). Any other request renders a page only when a
    form is refused, and reads the counts then. Static files show no page.
    """
    this_request, user = request._get_current_object(), current_user._get_current_object()
    if this_request.endpoint in NO_PAGE_ENDPOINTS or not user.is_authenticated:
        return
    request_globals = g._get_current_object()
    # Read with the login (load_user) unless the user was loaded before this request.
    if this_request.method in PAGE_METHODS:
        if "navigation" not in request_globals:
            request_globals.navigation = navigation.read(user.id)
    elif "inbox_position" not in request_globals:
        request_globals.inbox_position = notifications.position(user.id)


def load_user(token: str) -> accounts.SessionUser | None:
    """Flask-Login's user loader: the login session's user, with what read_inbox_position
    would read next in the same statement (a page's navigation, a form's inbox position)."""
    kind = _request_kind()
    if kind is None:
        return accounts.load_session_user(token)
    row = accounts.session_row(token, navigation.COLUMNS if kind == "page" else navigation.POSITION)
    if row is None:
        return None
    if kind == "page":
        g.navigation = navigation.of_row(row)
    else:
        g.inbox_position = (row.inbox_epoch, row.last_seq)
    return accounts.session_user(row, token)


def _request_kind() -> str | None:
    """ "page" (a GET or HEAD of a route that shows one), "form" (any other method of a route
    that may show one), None (static files, socket events: no route)."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in NO_PAGE_ENDPOINTS:
        return None
    return "page" if request.method in PAGE_METHODS else "form"


def navigation_counts() -> dict:
    """The signed-in user's cart count, unread count and inbox position, once per request;
    a visitor's guest cart count."""
    user, request_globals = current_user._get_current_object(), g._get_current_object()
    if not user.is_authenticated:
        return {"cart_count": cart.guest_count(guest.stored())} if guest.has_one() else {}
    if "nav_counts" not in request_globals:
        found = request_globals.get("navigation") or _counts_after_a_form(user.id)
        request_globals.nav_counts = {
            "cart_count": found.cart_count,
            "unread_count": found.unread_count,
            "last_seq": found.last_seq,
            "inbox_epoch": found.inbox_epoch,
        }
        if user.is_admin:
            request_globals.nav_counts["unread_threads"] = messages.unread_threads()
    return request_globals.nav_counts


def _counts_after_a_form(user_id: int) -> navigation.Navigation:
    """The counts now, with the inbox position read before the request's data."""
    found = navigation.read(user_id)
    if "inbox_position" not in g:
        return found
    epoch, top_seq = g.inbox_position
    return replace(found, inbox_epoch=epoch, last_seq=top_seq)


def keep_the_latest_flashes(response):
    """A client that posts without loading the next page (a script, a fetch) would
    otherwise grow the cookie past the browser's 4 KB and lose its login with it."""
    if "_flashes" in session and len(session["_flashes"]) > MAX_WAITING_FLASHES:
        session["_flashes"] = session["_flashes"][-MAX_WAITING_FLASHES:]
    return response


def start_timing() -> None:
    g.started = time.perf_counter()


def record_timing(response):
    if "started" in g:
        metrics.REQUESTS.labels(request.endpoint or "unrouted").observe(time.perf_counter() - g.started)
    return response


def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["HSTS_SECONDS"]:
        response.headers.setdefault(
            "Strict-Transport-Security", f"max-age={current_app.config['HSTS_SECONDS']}"
        )
    if current_user.is_authenticated:
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_web(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    # First of all the hooks, before CSRFProtect's (registered when the extension was bound).
    app.before_request_funcs.setdefault(None, []).insert(0, raise_upload_limit)
    app.before_request(refuse_nul_characters)
    app.before_request(read_inbox_position)
    app.before_request(start_timing)
    app.context_processor(navigation_counts)
    app.after_request(keep_the_latest_flashes)
    app.after_request(security_headers)
    app.after_request(record_timing)
