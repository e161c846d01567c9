"""What base.html builds on every page, built once where the result cannot change.

``fixed_url`` is ``url_for`` for an endpoint and arguments whose URL depends
only on the app and the request's script root (static files, the
navigation's links): kept per worker, keyed by both. ``csrf_token`` is
Flask-WTF's, with the signed form of a session's CSRF secret kept per
worker, keyed by the secret (and the key signing it): a session's token
validates as long as its secret does (WTF_CSRF_TIME_LIMIT is None), and
another session, having another secret, never gets it. ``live_templates``
gives the <template>s the live client fills, rendered once per version of
templates/_live_templates.html: they hold slots, never a request's data.
"""

from functools import lru_cache

from flask import Flask, current_app, g, request, session, url_for
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from jinja2 import Template
from markupsafe import Markup

CSRF_SALT = "wtf-csrf-token"  # Flask-WTF's, so its validate_csrf reads these tokens
KEPT_TOKENS = 4096
KEPT_URLS = 512
LIVE_TEMPLATES = "_live_templates.html"


def fixed_url(endpoint: str, **values) -> str:
    # Each attribute read through one of Flask's proxies costs more than the kept URL's lookup:
    # the objects are taken from the proxies once.
    app, this_request = current_app._get_current_object(), request._get_current_object()
    return _fixed_url(app, this_request.script_root, endpoint, tuple(sorted(values.items())))


@lru_cache(maxsize=KEPT_URLS)
def _fixed_url(app: Flask, script_root: str, endpoint: str, values: tuple) -> str:
    return url_for(endpoint, **dict(values))


def csrf_token() -> str:
    """The session's CSRF token, as generate_csrf would give it; signed once per secret."""
    config, request_globals = current_app._get_current_object().config, g._get_current_object()
    field = config["WTF_CSRF_FIELD_NAME"]
    token = request_globals.get(field)
    if token is not None:
        return token  # this request's, as generate_csrf would return it
    secret = session.get(field)
    if secret is None or config["WTF_CSRF_TIME_LIMIT"] is not None:
        return generate_csrf()  # a new session's secret is made there; a timed token must be fresh
    token = _signed(config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, secret)
    setattr(request_globals, field, token)  # what generate_csrf returns for this request's forms
    return token


@lru_cache(maxsize=KEPT_TOKENS)
def _signed(key: str, secret: str) -> str:
    return URLSafeTimedSerializer(key, salt=CSRF_SALT).dumps(secret)


def live_templates(*macros: str) -> Markup:
    """The named macros of templates/_live_templates.html, rendered once per version of the file."""
    template = current_app.jinja_env.get_template(LIVE_TEMPLATES)
    return Markup("").join(_rendered(template, name) for name in macros)


@lru_cache(maxsize=64)
def _rendered(template: Template, macro: str) -> Markup:
    return Markup(getattr(template.module, macro)())


def init_frame(app: Flask) -> None:
    """After CSRFProtect, whose context processor names its own csrf_token: this one comes later."""
    app.add_template_global(fixed_url)
    app.add_template_global(live_templates)
    app.context_processor(lambda: {"csrf_token": csrf_token})
