from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from shop.cart import guest
from shop.catalog import cards, product_page
from shop.extensions import cache
from shop.forms import page_number
from shop.services import catalog
from shop.services.errors import DomainError

bp = Blueprint("catalog", __name__)


def _page_is_personal() -> bool:
    """Signed in, a guest cart (its count is in the navigation), or a message
    waiting to be shown: this visitor's page is their own."""
    return current_user.is_authenticated or guest.has_one() or "_flashes" in session


@bp.route("/")
@cache.cached(query_string=True, unless=_page_is_personal)
def index():
    """The catalogue: search, a category, in stock only, an order, and pages, all
    plain query arguments (a bookmark or a shared link shows the same page).

    What anonymous visitors see is the same for all of them and is most of the
    traffic, so it is kept for CATALOGUE_CACHE_SECONDS: a visitor may see a
    stock figure that old, while the cart and checkout always read the live one.
    A signed-in shopper's page is their own, around cards kept for everyone
    while their products are unchanged (shop/catalog/cards.py).
    """
    browse = catalog.Browse(
        text=request.args.get("q", "", type=str)[:100],
        category=request.args.get("category", "", type=str)[:60],
        in_stock=request.args.get("in_stock") == "1",
        sort=request.args.get("sort", "name", type=str)
        if request.args.get("sort") in catalog.SORTS
        else "name",
    )
    page = request.args.get("page", 1, type=page_number)
    found = cards.cards_for(browse, page, current_app.config["PRODUCTS_PER_PAGE"])
    return render_template("catalog/index.html", cards=found, query=browse.text)


@bp.route("/products/<int:product_id>")
def product(product_id: int):
    """One product, with add-to-cart or, when sold out, a back-in-stock alert."""
    # No form object: the page's quantity starts at 1, its forms carry the session's CSRF token.
    return product_page.render(product_id)


@bp.route("/products/<int:product_id>/watch", methods=["POST"])
@login_required
def watch(product_id: int):
    """Ask to be told when the product is back in stock."""
    return _watch_action(product_id, catalog.watch, "We will tell you when it is back.")


@bp.route("/products/<int:product_id>/unwatch", methods=["POST"])
@login_required
def unwatch(product_id: int):
    """Stop waiting for the product."""
    return _watch_action(product_id, catalog.unwatch, "Alert removed.")


def _watch_action(product_id: int, action, success: str):
    try:
        action(current_user.id, product_id)
        flash(success, "success")
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("catalog.product", product_id=product_id))
