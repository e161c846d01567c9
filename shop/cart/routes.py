from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from shop.cart import guest
from shop.catalog import product_page
from shop.forms import CheckoutForm, QuantityForm, require_valid
from shop.services import cart as cart_service
from shop.services import checkout as checkout_service
from shop.services import orders, payment_methods
from shop.services.errors import DomainError

bp = Blueprint("cart", __name__)


@bp.route("/cart")
def view():
    """The cart, the account's or (before signing in) the visitor's, with its totals."""
    return render_cart()


@bp.route("/cart/add/<int:product_id>", methods=["POST"])
def add(product_id: int):
    """Add a quantity of a product; errors are shown on the product page."""
    form = QuantityForm()
    try:
        require_valid(form)
        change_cart(cart_service.add_to_cart, cart_service.add_to_guest_cart, product_id, form.quantity.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return product_page.render(product_id, form), exc.status
    flash("Added to your cart.", "success")
    return redirect(url_for("cart.view"))


@bp.route("/cart/update/<int:product_id>", methods=["POST"])
def update(product_id: int):
    """Change the quantity of one line."""
    form = QuantityForm()
    try:
        require_valid(form)
        change_cart(
            cart_service.update_cart_item, cart_service.update_guest_cart, product_id, form.quantity.data
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return render_cart(), exc.status
    flash("Cart updated.", "success")
    return redirect(url_for("cart.view"))


@bp.route("/cart/remove/<int:product_id>", methods=["POST"])
def remove(product_id: int):
    """Remove one line."""
    change_cart(cart_service.remove_from_cart, cart_service.remove_from_guest_cart, product_id)
    flash("Removed from your cart.", "info")
    return redirect(url_for("cart.view"))


@bp.route("/checkout", methods=["GET"])
@login_required
def checkout_page():
    """Where to deliver, how to ship and pay, and the totals with each; nothing is charged yet."""
    return render_checkout(CheckoutForm())


@bp.route("/checkout", methods=["POST"])
@login_required
def checkout():
    """Place the order the checkout page showed (refused if a price, line or
    shipping cost changed since); the same form submitted twice gives the same order."""
    form = CheckoutForm()
    try:
        require_valid(form)
        order = orders.place_order(
            current_user.id, form.idempotency_key.data, form.shown_cart(), form.delivery()
        )
    except DomainError as exc:
        flash(exc.message, "error")
        form.show_errors(exc)
        return render_checkout(form), exc.status
    flash(f"Thank you! Order #{order.id} is placed.", "success")
    start = payment_methods.get_method(order.payment_method).start_url(order)
    return redirect(start or url_for("orders.detail", order_id=order.id))


def change_cart(account_change, guest_change, product_id: int, *args) -> None:
    """Change the account's cart when signed in, else the guest cart in the session."""
    if current_user.is_authenticated:
        account_change(current_user.id, product_id, *args)
    else:
        guest.store(guest_change(guest.stored(), product_id, *args))


def render_cart():
    if current_user.is_authenticated:
        cart = cart_service.get_cart(current_user.id)
    else:
        cart = cart_service.guest_cart(guest.stored())
    return render_template(
        "cart/cart.html",
        quote=checkout_service.quote_cart(cart),
    )


def render_checkout(form: CheckoutForm):
    quote = checkout_service.quote_checkout(current_user.id)
    return render_template("cart/checkout.html", quote=quote, form=form.offering(quote))
