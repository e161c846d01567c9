from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from shop.forms import MessageForm, page_number, send_from_form
from shop.services import messages, orders, push
from shop.services.errors import DomainError
from shop.services.messages import Reader

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
    return render_detail(orders.order_page(current_user.id, order_id))


@bp.route("/<int:order_id>/cancel", methods=["POST"])
def cancel(order_id: int):
    """Cancel my order while it is still placed."""
    try:
        orders.cancel_order(order_id, current_user.id)
    except DomainError as exc:
        flash(exc.message, "error")
        return render_detail(orders.get_order_for(current_user.id, order_id)), exc.status
    flash(f"Order #{order_id} is cancelled.", "success")
    return redirect(url_for("orders.detail", order_id=order_id))


@bp.route("/<int:order_id>/messages", methods=["POST"])
def send_message(order_id: int):
    """Write to the shop about my order (the form without JavaScript; with it, the socket)."""
    order = orders.get_order_for(current_user.id, order_id)
    form = MessageForm()
    refused = send_from_form(form, order_id, as_shop=False)
    if refused:
        return render_detail(order, form), refused.status
    return redirect(url_for("orders.detail", order_id=order_id, _anchor="thread"))


def render_detail(order, message_form: MessageForm | None = None):
    thread = messages.thread_for(Reader.of(current_user), order, as_shop=False)
    form = (message_form or MessageForm(formdata=None)).fresh()
    return render_template(
        "orders/detail.html",
        order=order,
        thread=thread,
        message_form=form,
        push_offer=push.offers_push(current_user.id),
    )
