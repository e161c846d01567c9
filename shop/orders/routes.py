from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from shop.forms import ActionForm, page_number
from shop.services import orders
from shop.services.errors import DomainError

bp = Blueprint("orders", __name__, url_prefix="/orders")


@bp.before_request
@login_required
def require_login():
    """Every page here belongs to a signed-in shopper."""


@bp.route("")
def index():
    """My orders, newest first."""
    page = request.args.get("page", 1, type=page_number)
    my_orders = orders.orders_of(current_user.id, page, current_app.config["ORDERS_PER_PAGE"])
    return render_template("orders/index.html", orders=my_orders)


@bp.route("/<int:order_id>")
def detail(order_id: int):
    """One of my orders with its timeline; anyone else's is a 404."""
    order = orders.get_order_for(current_user.id, order_id)
    return render_template("orders/detail.html", order=order, action_form=ActionForm())


@bp.route("/<int:order_id>/cancel", methods=["POST"])
def cancel(order_id: int):
    """Cancel my order while it is still placed."""
    try:
        orders.cancel_order(order_id, current_user.id)
    except DomainError as exc:
        flash(exc.message, "error")
        order = orders.get_order_for(current_user.id, order_id)
        return render_template("orders/detail.html", order=order, action_form=ActionForm()), exc.status
    flash(f"Order #{order_id} is cancelled.", "success")
    return redirect(url_for("orders.detail", order_id=order_id))
