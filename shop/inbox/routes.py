from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from shop.forms import ActionForm, whole_number
from shop.services import notifications

bp = Blueprint("inbox", __name__, url_prefix="/notifications")


@bp.route("")
@login_required
def index():
    """The inbox: the latest notifications, unread first to the eye."""
    items = notifications.recent_notifications(current_user.id)
    return render_template("inbox/index.html", notifications=items, action_form=ActionForm())


@bp.route("/read", methods=["POST"])
@login_required
def mark_read():
    """Mark everything up to a seq (default: all) as read."""
    up_to = request.form.get("up_to_seq", type=whole_number)
    if up_to is None:
        up_to = notifications.last_seq(current_user.id)
    notifications.mark_read(current_user.id, up_to)
    flash("All caught up.", "success")
    return redirect(url_for("inbox.index"))
