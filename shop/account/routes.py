from flask import Blueprint, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required, logout_user

from shop.account.forms import SessionForm
from shop.services import accounts, addresses
from shop.services.errors import DomainError

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("")
@login_required
def index():
    """Every browser signed in to this account, each of which can be signed out."""
    return _sessions_page()


@bp.route("/sessions/sign-out", methods=["POST"])
@login_required
def sign_out_session():
    """Sign out one session of this account and close its live connections."""
    form = SessionForm()
    if not form.validate_on_submit():
        flash("Choose a session to sign out.", "error")
        return _sessions_page(400)
    try:
        this_browser = accounts.sign_out_session(
            current_user.id, form.session_id.data, current_user.login_token
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return _sessions_page(exc.status)
    if this_browser:
        return _signed_out("You are signed out.")
    flash("That session is signed out.", "success")
    return redirect(url_for("account.index"))


@bp.route("/sessions/sign-out-everywhere", methods=["POST"])
@login_required
def sign_out_everywhere():
    """Sign out every session of this account, this one too, and close their live connections."""
    ended = accounts.sign_out_everywhere(current_user.id)
    return _signed_out(f"You are signed out everywhere ({ended} session{'s' if ended != 1 else ''}).")


def _sessions_page(status: int = 200):
    sessions = accounts.list_sessions(current_user.id, current_user.login_token)
    address_book = addresses.list_addresses(current_user.id)
    return render_template("account/index.html", sessions=sessions, addresses=address_book), status


def _signed_out(message: str):
    logout_user()
    session.clear()
    flash(message, "info")
    return redirect(url_for("auth.login"))
