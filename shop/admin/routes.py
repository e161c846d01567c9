from decimal import Decimal

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from shop.admin.forms import (
    CategoryForm,
    PaymentForm,
    PhotoForm,
    PhotoUploadForm,
    ProductForm,
    ShippingMethodForm,
    StatusForm,
    StockForm,
)
from shop.forms import ActionForm, MessageForm, page_number, require_valid, send_from_form
from shop.models.mail import MAIL_STATUSES
from shop.models.order import STATUSES
from shop.services import catalog, changes, mail, messages, orders, payments, photos, shipping
from shop.services.errors import DomainError
from shop.services.messages import Reader
from shop.web import takes_uploads

bp = Blueprint("admin", __name__, url_prefix="/admin")
PHOTO_SAVED = {"main": "Main photo chosen.", "up": "Photo moved.", "down": "Photo moved."}


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
    """All orders, filterable by status and by payment status; new orders appear live."""
    status = request.args.get("status") or None
    payment = request.args.get("payment") or None
    page = request.args.get("page", 1, type=page_number)
    position = changes.head()  # before the data: the page's socket catches up from here
    found = orders.all_orders(status, page, current_app.config["ORDERS_PER_PAGE"], payment_status=payment)
    return render_template(
        "admin/orders.html",
        orders=found,
        status=status,
        statuses=STATUSES,
        payment=payment,
        feed_position=position,
    )


@bp.route("/orders/<int:order_id>")
def order_detail(order_id: int):
    """One order, offering only the statuses it may move to."""
    return render_order(orders.get_order(order_id))


@bp.route("/orders/<int:order_id>/status", methods=["POST"])
def order_status(order_id: int):
    """Move the order along; an illegal transition is a 409 with a message. The service
    reads the order itself: the page loads it only to show the form again."""
    form = StatusForm()
    try:
        require_valid(form)
        orders.change_status(
            order_id,
            form.status.data,
            current_user.id,
            form.note.data or "",
            form.ship_unpaid.data,
            expected_version=form.version.data,
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return render_order(orders.get_order(order_id), form), exc.status
    flash(f"Order #{order_id} is now {form.status.data}.", "success")
    return redirect(url_for("admin.order_detail", order_id=order_id))


@bp.route("/orders/<int:order_id>/payment", methods=["POST"])
def order_payment(order_id: int):
    """Record a payment (or a refund); the customer sees it live. A step that does not follow is a 409."""
    form = PaymentForm()
    try:
        require_valid(form)
        payments.set_payment_status(
            order_id, form.status.data, current_user.id, form.note.data or "", form.version.data
        )
    except DomainError as exc:
        flash(exc.message, "error")
        return render_order(orders.get_order(order_id), payment=form), exc.status
    flash(f"Order #{order_id} is now {form.status.data}.", "success")
    return redirect(url_for("admin.order_detail", order_id=order_id))


@bp.route("/orders/<int:order_id>/messages", methods=["POST"])
def order_message(order_id: int):
    """Answer the customer, as the shop (the form without JavaScript; with it, the socket)."""
    order = orders.get_order(order_id)
    form = MessageForm()
    refused = send_from_form(form, order_id, as_shop=True)
    if refused:
        return render_order(order, message_form=form), refused.status
    return redirect(url_for("admin.order_detail", order_id=order_id, _anchor="thread"))


@bp.route("/conversations")
def conversations():
    """Every order's conversation, those the shop has not read first; updates live."""
    page = request.args.get("page", 1, type=page_number)
    found = messages.conversations(page, current_app.config["ORDERS_PER_PAGE"])
    last = messages.last_messages([state.order_id for state in found.items])
    return render_template("admin/conversations.html", threads=found, last=last)


@bp.route("/shipping")
def shipping_list():
    """The shipping methods checkout offers (and those it no longer does)."""
    return render_template("admin/shipping.html", methods=shipping.all_methods())


@bp.route("/mail")
def mail_list():
    """The latest emails: sent, failed (and why), and waiting for a (re)try."""
    status = request.args.get("status")
    status = status if status in MAIL_STATUSES else None
    return render_template(
        "admin/mail.html",
        deliveries=mail.recent_deliveries(status),
        counts=mail.delivery_counts(),
        status=status,
        statuses=MAIL_STATUSES,
    )


@bp.route("/shipping/new", methods=["GET", "POST"])
def shipping_new():
    """Add a shipping method."""
    form = ShippingMethodForm()
    if form.validate_on_submit():
        try:
            method = shipping.create_method(form.fields())
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("admin/shipping_form.html", form=form, method=None), exc.status
        flash(f"{method.name} added.", "success")
        return redirect(url_for("admin.shipping_list"))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/shipping_form.html", form=form, method=None), status


@bp.route("/shipping/<int:method_id>/edit", methods=["GET", "POST"])
def shipping_edit(method_id: int):
    """Change a method's price, threshold or days; orders placed keep what they were charged."""
    method = shipping.get_method(method_id)
    form = shipping_method_form(method)
    if form.validate_on_submit():
        try:
            shipping.update_method(method_id, form.fields())
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("admin/shipping_form.html", form=form, method=method), exc.status
        flash(f"{form.name.data} saved.", "success")
        return redirect(url_for("admin.shipping_list"))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/shipping_form.html", form=form, method=method), status


@bp.route("/products")
def product_list():
    """Every product, on sale or not, with its stock."""
    page = request.args.get("page", 1, type=page_number)
    query = request.args.get("q", "", type=str)[:100]
    position = changes.head()  # before the data: the page's socket catches up from here
    found = catalog.search_products(query, page, 50, include_inactive=True)
    return render_template(
        "admin/products.html", products=found, query=query, stock_form=StockForm(), feed_position=position
    )


@bp.route("/products/new", methods=["GET", "POST"])
def product_new():
    """Add a product."""
    form = with_categories(ProductForm())
    if form.validate_on_submit():
        product = catalog.create_product(form.fields(), form.stock.data, current_user.id)
        flash(f"{product.name} added: add its photos here.", "success")
        return redirect(url_for("admin.product_edit", product_id=product.id))
    return render_template(
        "admin/product_form.html", form=form, product=None
    ), 400 if form.is_submitted() else 200


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
def product_edit(product_id: int):
    """Edit a product's details (stock has its own form)."""
    product = catalog.get_product(product_id, include_inactive=True)
    form = edit_form(product)
    if form.validate_on_submit():
        try:
            catalog.update_product(product_id, form.fields(), current_user.id, form.version.data)
        except DomainError as exc:
            flash(exc.message, "error")
            return render_product(catalog.get_product(product_id, include_inactive=True), form), exc.status
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
        product = catalog.set_stock(product_id, form.stock.data, current_user.id, form.version.data)
    except DomainError as exc:
        flash(exc.message, "error")
        return render_product(product, edit_form(product, formdata=None), form), exc.status
    flash(f"{product.name}: stock is now {product.stock}.", "success")
    if request.form.get("back") == "list":
        return redirect(url_for("admin.product_list"))
    return redirect(url_for("admin.product_edit", product_id=product_id))


@bp.route("/products/<int:product_id>/photos", methods=["POST"])
@takes_uploads
def product_photos(product_id: int):
    """Upload one or more photos (all or none: a refused file names its reason).

    Its body may be MAX_UPLOAD_MB (shop/web.py); the page's script sends one file
    a request, asking for JSON, to show each one's progress.
    """
    product = catalog.get_product(product_id, include_inactive=True)
    form = PhotoUploadForm()
    try:
        require_valid(form)
        uploads = [
            photos.Upload(f.filename or "", f.read()) for f in form.photos.data or [] if f and f.filename
        ]
        added = photos.add_photos(product_id, uploads, form.alt.data or "")
    except DomainError as exc:
        if wants_json():
            return jsonify(ok=False, error={"code": exc.code, "message": exc.message}), exc.status
        flash(exc.message, "error")
        return render_product(product, edit_form(product, formdata=None), upload_form=form), exc.status
    if wants_json():
        return jsonify(ok=True, photos=[photo.id for photo in added])
    flash(f"{len(added)} photo{'' if len(added) == 1 else 's'} added.", "success")
    return redirect(url_for("admin.product_edit", product_id=product_id, _anchor="product-photos"))


@bp.route("/products/<int:product_id>/photos/<int:photo_id>", methods=["POST"])
def product_photo(product_id: int, photo_id: int):
    """Save a photo's alt text, or move it (the button pressed: main, up or down)."""
    form = PhotoForm()
    move = request.form.get("move") or None
    try:
        require_valid(form)
        photos.update_photo(product_id, photo_id, alt=form.alt.data or "", move=move)
    except DomainError as exc:
        flash(exc.message, "error")
        product = catalog.get_product(product_id, include_inactive=True)
        return render_product(product, edit_form(product, formdata=None)), exc.status
    flash(
        "Main photo chosen." if move == "main" else "Photo moved." if move else "Alt text saved.", "success"
    )
    return redirect(url_for("admin.product_edit", product_id=product_id, _anchor="product-photos"))


@bp.route("/products/<int:product_id>/photos/<int:photo_id>/delete", methods=["POST"])
def product_photo_delete(product_id: int, photo_id: int):
    """Delete a photo."""
    try:
        require_valid(ActionForm())
        photos.delete_photo(product_id, photo_id)
    except DomainError as exc:
        flash(exc.message, "error")
        product = catalog.get_product(product_id, include_inactive=True)
        return render_product(product, edit_form(product, formdata=None)), exc.status
    flash("Photo deleted.", "success")
    return redirect(url_for("admin.product_edit", product_id=product_id, _anchor="product-photos"))


@bp.route("/categories", methods=["GET", "POST"])
def categories():
    """The categories, and a form to add one."""
    form = CategoryForm()
    if form.is_submitted():
        try:
            require_valid(form)
            category = catalog.save_category(form.name.data)
        except DomainError as exc:
            flash(exc.message, "error")
            return render_categories(form), exc.status
        flash(f"{category.name} added.", "success")
        return redirect(url_for("admin.categories"))
    return render_categories(form)


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
def category_edit(category_id: int):
    """Rename a category (its URL follows the name)."""
    category = catalog.get_category(category_id)
    form = CategoryForm(obj=category)
    if form.is_submitted():
        try:
            require_valid(form)
            catalog.save_category(form.name.data, category_id)
        except DomainError as exc:
            flash(exc.message, "error")
            return render_template("admin/category_form.html", form=form, category=category), exc.status
        flash(f"{form.name.data} saved.", "success")
        return redirect(url_for("admin.categories"))
    return render_template("admin/category_form.html", form=form, category=category)


@bp.route("/categories/<int:category_id>/delete", methods=["POST"])
def category_delete(category_id: int):
    """Delete a category; its products stay."""
    try:
        require_valid(ActionForm())
        name = catalog.delete_category(category_id)
    except DomainError as exc:
        flash(exc.message, "error")
        return render_categories(CategoryForm(formdata=None)), exc.status
    flash(f"{name} deleted; its products are still for sale.", "success")
    return redirect(url_for("admin.categories"))


def render_categories(form: CategoryForm):
    return render_template(
        "admin/categories.html", categories=catalog.all_categories(), form=form, action_form=ActionForm()
    )


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def with_categories(form: ProductForm) -> ProductForm:
    form.categories.choices = [(category.id, category.name) for category in catalog.all_categories()]
    return form


def edit_form(product, **kwargs) -> ProductForm:
    form = with_categories(ProductForm(obj=product, **kwargs))
    del form.stock
    if not form.is_submitted() or kwargs.get("formdata", True) is None:
        form.price.data = Decimal(product.price_cents) / 100
        form.categories.data = [category.id for category in product.categories]
    return form


def render_product(
    product,
    form: ProductForm,
    stock_form: StockForm | None = None,
    upload_form: PhotoUploadForm | None = None,
):
    """The product's page; its forms carry the version it shows (whatever was posted).
    The feed's position is read first, then the product again: what the page shows is
    never older than where its socket catches up from."""
    position = changes.page_position(product)
    stock_form = stock_form or StockForm(obj=product)
    form.version.show(product.version)
    stock_form.version.show(product.version)
    return render_template(
        "admin/product_form.html",
        form=form,
        product=product,
        stock_form=stock_form,
        upload_form=upload_form or PhotoUploadForm(formdata=None),
        photo_form=PhotoForm(formdata=None),
        action_form=ActionForm(),
        max_upload_mb=current_app.config["MAX_UPLOAD_MB"],
        max_photos=current_app.config["MAX_PHOTOS_PER_PRODUCT"],
        feed_position=position,
    )


def status_form(order, form: StatusForm | None = None) -> StatusForm:
    """The order's status form (the one posted, when given), offering its next statuses."""
    form = StatusForm() if form is None else form
    form.status.choices = [(status, status.title()) for status in order.next_statuses] or [("", "—")]
    return form


def payment_form(order, form: PaymentForm | None = None) -> PaymentForm:
    form = PaymentForm() if form is None else form
    choices = [SelectChoice(status, status.title()) for status in order.next_payment_statuses]
    form.status.choices = choices or [SelectChoice("", "—")]
    return form


def shipping_method_form(method) -> ShippingMethodForm:
    form = ShippingMethodForm(obj=method)
    if not form.is_submitted():
        form.price.data = Decimal(method.price_cents) / 100
        form.free_from.data = (
            None if method.free_from_cents is None else Decimal(method.free_from_cents) / 100
        )
    return form


def render_order(
    order,
    form: StatusForm | None = None,
    payment: PaymentForm | None = None,
    message_form: MessageForm | None = None,
):
    """The order's page; its forms carry the version it shows (whatever was posted).
    The feed's position is read first, then the order again (see render_product)."""
    position = changes.page_position(order)
    form, payment = status_form(order, form), payment_form(order, payment)
    form.version.show(order.version)
    payment.version.show(order.version)
    return render_template(
        "admin/order.html",
        order=order,
        form=form,
        payment_form=payment,
        needs_payment=orders.needs_payment_before_shipping(order),
        thread=messages.thread_for(Reader.of(current_user), order, as_shop=True),
        message_form=(message_form or MessageForm(formdata=None)).fresh(),
        feed_position=position,
    )
