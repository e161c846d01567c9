"""The shop application factory."""

from flask import Flask, render_template, request
from sqlalchemy import event
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from config import BASE_DIR, Config, config_from_env, database_uri
from shop.extensions import cache, csrf, db, limiter, login_manager, mail, migrate
from shop.formatting import register_template_filters
from shop.frame import init_frame
from shop.metrics import count_db_connection
from shop.services.errors import DomainError
from shop.services.transaction import configure_sqlite
from shop.web import init_web, load_user, upload_limit


def create_app(config: type[Config] | None = None) -> Flask:
    config = config or config_from_env()
    config.check()
    app = Flask(__name__, template_folder="../templates", static_folder="../static")
    app.config.from_object(config)
    register_extensions(app)
    init_web(app)
    register_template_filters(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app.config["SQLALCHEMY_DATABASE_URI"])
    if not uri.startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_size": app.config["DB_POOL_SIZE"],
            "pool_pre_ping": app.config["DB_POOL_PRE_PING"],
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        }
    db.init_app(app)
    with app.app_context():
        event.listen(db.engine, "connect", count_db_connection)
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    cache.init_app(app)
    csrf.init_app(app)
    init_frame(app)  # after CSRFProtect: its csrf_token global, signed once per session
    limiter.init_app(app)
    mail.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = None  # login sessions are revocable rows instead

    from shop.realtime import relay
    from shop.sockets import init_sockets

    init_sockets(app)
    relay.init_app(app)
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def register_blueprints(app: Flask) -> None:
    from shop.account.routes import bp as account_bp
    from shop.addresses.routes import bp as addresses_bp
    from shop.admin.routes import bp as admin_bp
    from shop.auth.routes import bp as auth_bp
    from shop.cart.routes import bp as cart_bp
    from shop.catalog.routes import bp as catalog_bp
    from shop.inbox.routes import bp as inbox_bp
    from shop.main.routes import bp as main_bp
    from shop.media.routes import bp as media_bp
    from shop.orders.routes import bp as orders_bp
    from shop.preferences.routes import bp as preferences_bp
    from shop.push.routes import bp as push_bp

    for blueprint in (main_bp, catalog_bp, auth_bp, account_bp, cart_bp, orders_bp, inbox_bp, admin_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(addresses_bp)
    app.register_blueprint(media_bp)
    app.register_blueprint(preferences_bp)
    app.register_blueprint(push_bp)


def register_error_handlers(app: Flask) -> None:
    def render_error(error: HTTPException):
        if error.code >= 500:
            db.session.rollback()
        # Keep the error's own headers (Allow on a 405, Retry-After on a 429).
        headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        page = render_template("errors/error.html", status=error.code, message=error.description)
        return page, error.code, headers

    app.register_error_handler(HTTPException, render_error)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        if request.max_content_length == upload_limit(app):
            error.description = (
                f"Those photos come to more than the {app.config['MAX_UPLOAD_MB']} MB one upload may send: "
                "send fewer at a time, or smaller ones. Nothing was changed."
            )
        else:
            error.description = (
                f"That was more than the {app.config['MAX_CONTENT_LENGTH'] // 1024} KiB a form may send."
            )
        return render_error(error)

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        """A refusal no route handled itself, e.g. a missing order: its page and status."""
        db.session.rollback()
        return render_template("errors/error.html", status=error.status, message=error.message), error.status

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s", request.path)
        from werkzeug.exceptions import InternalServerError

        return render_error(InternalServerError())


def register_commands(app: Flask) -> None:
    from shop.commands import register

    register(app)
