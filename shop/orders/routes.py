from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from shop.forms import MessageForm, page_number, send_from_form
from shop.orders import order_page
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
    """One of my orders with its timeline and its conversation; anyone else's is a 404."""
    return order_page.render(order_id)


@bp.route("/<int:order_id>/cancel", methods=["POST"])
def cancel(order_id: int):
    """Cancel my order while it is still placed."""
    try:
        orders.cancel_order(order_id, current_user.id)
    except DomainError as exc:
        flash(exc.message, "error")
        return order_page.render(order_id), exc.status
    flash(f"Order #{order_id} is cancelled.", "success")
    return redirect(url_for("orders.detail", order_id=order_id))


@bp.route("/<int:order_id>/messages", methods=["POST"])
def send_message(order_id: int):
    """Write to the shop about my order (the form without JavaScript; with it, the socket)."""
    form = MessageForm()
    refused = send_from_form(form, order_id, as_shop=False)
    if refused:
        return order_page.render(order_id, form), refused.status
    return redirect(url_for("orders.detail", order_id=order_id, _anchor="thread"))
