from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from shop.extensions import csrf
from shop.forms import ActionForm
from shop.services import preferences, push
from shop.services.errors import DomainError

bp = Blueprint("preferences", __name__)


@bp.route("/account/notifications", methods=["GET", "POST"])
@login_required
def settings():
    """A switch per topic and channel; the form works without JavaScript, and every open
    tab of the person shows the new switches at once."""
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            flash("The form expired; please try again.", "error")
            return _page(form, 400)
        chosen = {
            channel: {
                key.removeprefix(f"{channel}-") for key in request.form if key.startswith(f"{channel}-")
            }
            for channel in preferences.active_channels()
        }
        preferences.save_channels(current_user.id, chosen)
        flash("Your choices are saved.", "success")
        return redirect(url_for("preferences.settings"))
    return _page(form)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: a mail client posts here with no cookie; the signed token is the proof
def unsubscribe(token: str):
    """GET: a button to confirm (link scanners follow GETs); POST (the one-click
    List-Unsubscribe-Post, or that button): turn that kind of email off and say so."""
    if request.method == "GET":
        return render_template("preferences/unsubscribe.html", token=token, done=None)
    try:
        address, labels = preferences.unsubscribe(token)
    except DomainError as exc:
        return render_template("errors/error.html", status=exc.status, message=exc.message), exc.status
    return render_template("preferences/unsubscribe.html", token=token, done=labels, address=address)


def _page(form: ActionForm, status: int = 200):
    topics = preferences.topics_for(current_user.is_admin)
    settings = preferences.settings_of(current_user.id, current_user.is_admin)
    devices = push.devices_of(current_user.id)
    page = render_template(
        "preferences/settings.html", form=form, topics=topics, settings=settings, devices=devices
    )
    return page, status
