from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from shop.forms import ActionForm, CheckoutForm, QuantityForm, require_valid
from shop.services import cart as cart_service
from shop.services import catalog, orders
from shop.services.errors import DomainError

bp = Blueprint("cart", __name__)


@bp.route("/cart")
@login_required
def view():
    """The cart, with a fresh idempotency key for the checkout button."""
    return render_cart()


@bp.route("/cart/add/<int:product_id>", methods=["POST"])
@login_required
def add(product_id: int):
    """Add a quantity of a product; errors are shown on the product page."""
    form = QuantityForm()
    try:
        require_valid(form)
        cart_service.add_to_cart(current_user.id, product_id, form.quantity.data)
    except DomainError as exc:
        flash(exc.message, "error")
        product = catalog.get_product(product_id)
        return render_template(
            "catalog/product.html",
            product=product,
            form=form,
            action_form=ActionForm(),
            watching=catalog.is_watching(current_user.id, product_id),
        ), exc.status
    flash("Added to your cart.", "success")
    return redirect(url_for("cart.view"))


@bp.route("/cart/update/<int:product_id>", methods=["POST"])
@login_required
def update(product_id: int):
    """Change the quantity of one line."""
    form = QuantityForm()
    try:
        require_valid(form)
        cart_service.update_cart_item(current_user.id, product_id, form.quantity.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return render_cart(), exc.status
    flash("Cart updated.", "success")
    return redirect(url_for("cart.view"))


@bp.route("/cart/remove/<int:product_id>", methods=["POST"])
@login_required
def remove(product_id: int):
    """Remove one line."""
    cart_service.remove_from_cart(current_user.id, product_id)
    flash("Removed from your cart.", "info")
    return redirect(url_for("cart.view"))


@bp.route("/checkout", methods=["POST"])
@login_required
def checkout():
    """Place the order the cart page showed (refused if a price or line changed
    since); the same form submitted twice gives the same order."""
    form = CheckoutForm()
    try:
        require_valid(form)
        order = orders.place_order(current_user.id, form.idempotency_key.data, form.shown_cart())
    except DomainError as exc:
        flash(exc.message, "error")
        return render_cart(), exc.status
    flash(f"Thank you! Order #{order.id} is placed.", "success")
    return redirect(url_for("orders.detail", order_id=order.id))


def render_cart():
    cart = cart_service.get_cart(current_user.id)
    return render_template(
        "cart/cart.html",
        cart=cart,
        checkout_form=CheckoutForm.showing(cart),
        quantity_form=QuantityForm(),
        action_form=ActionForm(),
    )
