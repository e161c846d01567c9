"""The product page, around a body kept for every shopper while the product is unchanged.

The photos, name, categories, price, stock badge and description are what every
visitor of the product sees: they are rendered without the request's user
(templates/catalog/_product_body.html) and kept in the worker's cache for
CATALOGUE_CACHE_SECONDS. The page around them (navigation, the add-to-cart and
alert forms with the session's token, whether this shopper is waiting for it)
is the shopper's own. A kept body is shown again only while the product's row is
as rendered, by the check the catalogue's cards make (shop/catalog/cards.py), so
a sale on any worker, an edit or a photo shows at once; a renamed category shows
within CATALOGUE_CACHE_SECONDS.
"""

from dataclasses import dataclass

from flask import current_app, render_template
from flask_login import current_user
from markupsafe import Markup

from shop.extensions import cache
from shop.models import Product
from shop.services import catalog


@dataclass(frozen=True)
class ProductBody:
    id: int
    name: str
    stock: int
    has_gallery: bool
    gallery: Markup
    summary: Markup
    states: tuple[tuple, ...]  # catalog.card_states of the product, as rendered


def render(product_id: int, form=None) -> str:
    """The product's page (``form``'s quantity when it was refused); NotFound when off sale."""
    body = product_body(product_id)
    watching = current_user.is_authenticated and catalog.is_watching(current_user.id, body.id)
    return render_template("catalog/product.html", product=body, form=form, watching=watching)


def product_body(product_id: int) -> ProductBody:
    """The product's body: the kept one while its product is unchanged; NotFound when off sale."""
    key = f"product-body:{product_id}"
    kept = cache.get(key)
    if kept is not None and kept.states == catalog.card_states([product_id]):
        return kept
    body = _render(catalog.product_page(product_id))
    cache.set(key, body)
    return body


def _render(product: Product) -> ProductBody:
    macros = current_app.jinja_env.get_template("catalog/_product_body.html").module
    return ProductBody(
        id=product.id,
        name=product.name,
        stock=product.stock,
        has_gallery=len(product.photos) > 1,
        gallery=Markup(macros.gallery(product)),
        summary=Markup(macros.summary(product)),
        states=(catalog.card_state(product),),
    )
