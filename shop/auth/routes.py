from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from limits import parse as parse_limit

from shop.auth.forms import ForgotForm, LoginForm, PasswordForm, RegisterForm, ResetForm
from shop.cart import guest
from shop.extensions import limiter
from shop.services import accounts, password_reset
from shop.services import cart as cart_service
from shop.services.errors import DomainError, InvalidCredentials, InvalidInput

bp = Blueprint("auth", __name__, url_prefix="/auth")


# The failure budget (LOGIN_RATE_LIMIT): failed logins, refused registrations
# of a registered email and wrong current passwords share one budget per
# client, so no form is a faster way to guess than the login.
LOGIN_FAILURES = "login-failures"
# Every POST to the login, sign-up and password forms, successful or not
# (AUTH_ATTEMPT_RATE_LIMIT): each costs argon2 computations, and the budget
# also bounds how many a client can send in parallel past the others.
AUTH_ATTEMPTS = "auth-attempts"
SIGN_UPS = "sign-ups"


def _setting(name: str):
    return lambda: current_app.config[name]


def _failed_login(response) -> bool:
    return response.status_code != 302


def _refused_credentials(response) -> bool:
    return response.status_code == 401


def _sign_up_slot() -> bool:
    """Take one of this client's SIGNUP_RATE_LIMIT accounts, or say there is none left.

    Taken with one atomic hit when the sign-up is about to succeed: a count
    made after the response (deduct_when) lets sign-ups sent in parallel all
    pass the check before any of them is counted.
    """
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    cap = parse_limit(current_app.config["SIGNUP_RATE_LIMIT"])
    return limiter.limiter.hit(cap, SIGN_UPS, get_remote_address())


def _account_key() -> str:
    """The signed-in account: its every browser and address share one budget."""
    if current_user.is_authenticated:
        return f"account:{current_user.id}"
    return get_remote_address()


def _every_attempt():
    return limiter.shared_limit(_setting("AUTH_ATTEMPT_RATE_LIMIT"), AUTH_ATTEMPTS, methods=["POST"])


def _failure_budget(deduct_when):
    return limiter.shared_limit(
        _setting("LOGIN_RATE_LIMIT"), LOGIN_FAILURES, methods=["POST"], deduct_when=deduct_when
    )


@bp.route("/register", methods=["GET", "POST"])
@_every_attempt()
@_failure_budget(_refused_credentials)
def register():
    """Create an account and sign in; a registered email answers as a login would.

    Each success takes one of the client's SIGNUP_RATE_LIMIT accounts, a
    sign-in through this form too: counting only new accounts would tell a
    stranger which emails are taken. Beyond it, the 429 error page.
    """
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.sign_up(form.email.data, form.name.data, form.password.data, admit=_sign_up_slot)
        except (InvalidCredentials, InvalidInput) as exc:
            flash(exc.message, "error")
            return render_template("auth/register.html", form=form), exc.status
        _sign_in(user)
        flash(f"Welcome, {user.name}!", "success")
        return redirect(safe_next(request.args.get("next")))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@_every_attempt()
@_failure_budget(_failed_login)
def login():
    """Sign in; every attempt, and failed ones more tightly, are rate-limited per client."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data)
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("auth/login.html", form=form), 401
        _sign_in(user)
        flash(f"Welcome back, {user.name}.", "success")
        return redirect(safe_next(request.args.get("next")))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    """Sign this browser out and close its live connections."""
    if current_user.is_authenticated:
        accounts.end_session(current_user.login_token)
        logout_user()
        session.clear()
        flash("You are logged out.", "info")
    return redirect(url_for("catalog.index"))


@bp.route("/password", methods=["GET", "POST"])
@_every_attempt()
@_failure_budget(_refused_credentials)
@limiter.limit(
    _setting("LOGIN_RATE_LIMIT"), key_func=_account_key, methods=["POST"], deduct_when=_refused_credentials
)
@login_required
def password():
    """Change the password; every other browser of this user is signed out.

    A wrong current password uses up the client's failure budget, shared with
    the login, and as much again of the account's own.
    """
    form = PasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(
                current_user.id, current_user.login_token, form.current.data, form.password.data
            )
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("auth/password.html", form=form), exc.status
        flash("Password changed. Your other sessions were signed out.", "success")
        return redirect(url_for("catalog.index"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/password.html", form=form), status


RESET_SENT = "If that address has an account, a link to reset its password is on its way."
RESET_EMAILS = "reset-emails"


def _reset_email_allowed(address: str) -> bool:
    """One of the address's RESET_EMAIL_RATE_LIMIT emails (whoever asks for it)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    cap = parse_limit(current_app.config["RESET_EMAIL_RATE_LIMIT"])
    return limiter.limiter.hit(cap, RESET_EMAILS, address)


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_setting("RESET_RATE_LIMIT"), methods=["POST"])
def forgot():
    """Ask for a reset link: the same answer whether or not the address has an account."""
    form = ForgotForm()
    if form.validate_on_submit():
        password_reset.request_reset(form.email.data, allowed=_reset_email_allowed)
        flash(RESET_SENT, "info")
        return redirect(url_for("auth.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@_every_attempt()
def reset(token: str):
    """Set a new password from an emailed link; every session of the account is signed out,
    and this browser signed in afresh."""
    form = ResetForm()
    try:
        if form.validate_on_submit():
            user = password_reset.reset_password(token, form.password.data)
            _sign_in(user)
            flash("Your password is changed; every other session was signed out.", "success")
            return redirect(url_for("catalog.index"))
        password_reset.user_for(token)
    except DomainError as exc:
        flash(exc.message, "error")
        return render_template("auth/reset.html", form=None), exc.status
    status = 400 if form.is_submitted() else 200
    return render_template("auth/reset.html", form=form), status


def _sign_in(user) -> None:
    """A fresh session for the new login: nothing from before it survives but
    the guest cart, which goes into the account's cart."""
    guest_cart = guest.take()
    session.clear()
    user.login_token = accounts.start_session(user.id, request.user_agent.string, request.remote_addr or "")
    login_user(user)
    _merge_guest_cart(user.id, guest_cart)


def _merge_guest_cart(user_id: int, guest_cart: object) -> None:
    merged = cart_service.merge_guest_cart(user_id, guest_cart)
    if merged.problems:
        flash("Not all of your cart could be kept: " + " ".join(merged.problems), "warning")
    elif merged.added:
        flash("What you put in your cart before signing in is in it still.", "info")


def safe_next(target: str | None) -> str:
    """Only a local path; anything else (other hosts, schemes, //host) goes home."""
    if target:
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
            and "\\" not in target
        ):
            return target
    return url_for("catalog.index")
