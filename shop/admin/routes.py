from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from shop.admin.forms import ProductForm, StatusForm, StockForm
from shop.forms import page_number, require_valid
from shop.models.order import STATUSES
from shop.services import catalog, orders
from shop.services.errors import DomainError

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    """Anonymous visitors go to the login page; shoppers get a 403."""
    if not current_user.is_admin:
        abort(403)


@bp.route("/")
def dashboard():
    """The admin home: the orders that need attention."""
    return redirect(url_for("admin.order_list", status="placed"))


@bp.route("/orders")
def order_list():
    """All orders, filterable by status; new orders appear live."""
    status = request.args.get("status") or None
    page = request.args.get("page", 1, type=page_number)
    found = orders.all_orders(status, page, current_app.config["ORDERS_PER_PAGE"])
    return render_template("admin/orders.html", orders=found, status=status, statuses=STATUSES)


@bp.route("/orders/<int:order_id>")
def order_detail(order_id: int):
    """One order, offering only the statuses it may move to."""
    return render_order(orders.get_order(order_id))


@bp.route("/orders/<int:order_id>/status", methods=["POST"])
def order_status(order_id: int):
    """Move the order along; an illegal transition is a 409 with a message."""
    order = orders.get_order(order_id)
    form = status_form(order)
    try:
        require_valid(form)
        orders.change_status(order_id, form.status.data, current_user.id, form.note.data or "")
    except DomainError as exc:
        flash(exc.message, "error")
        return render_order(orders.get_order(order_id), form), exc.status
    flash(f"Order #{order_id} is now {form.status.data}.", "success")
    return redirect(url_for("admin.order_detail", order_id=order_id))


@bp.route("/products")
def product_list():
    """Every product, on sale or not, with its stock."""
    page = request.args.get("page", 1, type=page_number)
    query = request.args.get("q", "", type=str)[:100]
    found = catalog.search_products(query, page, 50, include_inactive=True)
    return render_template("admin/products.html", products=found, query=query, stock_form=StockForm())


@bp.route("/products/new", methods=["GET", "POST"])
def product_new():
    """Add a product."""
    form = ProductForm()
    if form.validate_on_submit():
        product = catalog.create_product(form.fields(), form.stock.data)
        flash(f"{product.name} added.", "success")
        return redirect(url_for("admin.product_list"))
    return render_template(
        "admin/product_form.html", form=form, product=None
    ), 400 if form.is_submitted() else 200


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
def product_edit(product_id: int):
    """Edit a product's details (stock has its own form)."""
    product = catalog.get_product(product_id, include_inactive=True)
    form = edit_form(product)
    if form.validate_on_submit():
        catalog.update_product(product_id, form.fields())
        flash(f"{form.name.data} saved.", "success")
        return redirect(url_for("admin.product_list"))
    return render_product(product, form), 400 if form.is_submitted() else 200


@bp.route("/products/<int:product_id>/stock", methods=["POST"])
def product_stock(product_id: int):
    """Set the stock; shoppers and watchers hear about it live."""
    product = catalog.get_product(product_id, include_inactive=True)
    form = StockForm()
    try:
        require_valid(form)
        product = catalog.set_stock(product_id, form.stock.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return render_product(product, edit_form(product, formdata=None), form), exc.status
    flash(f"{product.name}: stock is now {product.stock}.", "success")
    if request.form.get("back") == "list":
        return redirect(url_for("admin.product_list"))
    return redirect(url_for("admin.product_edit", product_id=product_id))


def edit_form(product, **kwargs) -> ProductForm:
    form = ProductForm(obj=product, **kwargs)
    del form.stock
    if not form.is_submitted() or kwargs.get("formdata", True) is None:
        form.price.data = Decimal(product.price_cents) / 100
    return form


def render_product(product, form: ProductForm, stock_form: StockForm | None = None):
    return render_template(
        "admin/product_form.html", form=form, product=product, stock_form=stock_form or StockForm(obj=product)
    )


def status_form(order) -> StatusForm:
    form = StatusForm()
    form.status.choices = [(status, status.title()) for status in order.next_statuses] or [("", "—")]
    return form


def render_order(order, form: StatusForm | None = None):
    return render_template("admin/order.html", order=order, form=form or status_form(order))
