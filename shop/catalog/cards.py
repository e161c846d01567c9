"""The catalogue's cards, rendered once and shown to every signed-in shopper.

A signed-in page is personal (the navigation's counts, the socket's position),
but its cards, search bar and pager are what every visitor of that search and
page sees: they are rendered without the request's user
(templates/catalog/_cards.html) and kept in the worker's cache for
CATALOGUE_CACHE_SECONDS, around which each shopper's own page is rendered.

A kept list is shown again only while its products are as they were: each
request reads their stock, threshold, active flag and ``updated_at`` (one
small query) and renders afresh on any difference, so a stock badge is never
older than the page, on whichever worker the sale was made (a photo change
touches ``updated_at`` too). What the check does not see (a new product, a
renamed category) shows within CATALOGUE_CACHE_SECONDS, as on the anonymous page.
"""

from dataclasses import dataclass

from flask import current_app
from markupsafe import Markup

from shop.extensions import cache
from shop.services import catalog


@dataclass(frozen=True)
class Cards:
    html: Markup
    title: str
    product_ids: tuple[int, ...]
    states: tuple[tuple, ...]  # catalog.card_states of product_ids, as rendered


def cards_for(browse: catalog.Browse, page: int, per_page: int) -> Cards:
    """The cards of this search and page: the kept ones while their products are unchanged."""
    key = _key(browse, page, per_page)
    kept = cache.get(key)
    if kept is not None and kept.states == catalog.card_states(kept.product_ids):
        return kept
    cards = _render(browse, page, per_page)
    cache.set(key, cards)
    return cards


def _render(browse: catalog.Browse, page: int, per_page: int) -> Cards:
    products = catalog.search_products(browse, page, per_page)
    category = catalog.find_category(browse.category)
    html = current_app.jinja_env.get_template("catalog/_cards.html").render(
        products=products,
        browse=browse,
        query=browse.text,
        category=category,
        categories=catalog.all_categories(),
        sorts=catalog.SORTS,
    )
    states = sorted(catalog.card_state(product) for product in products.items)
    return Cards(
        html=Markup(html),
        title=_title(browse, category),
        product_ids=tuple(state[0] for state in states),
        states=tuple(states),
    )


def _title(browse: catalog.Browse, category) -> str:
    if browse.text:
        return f"Search: {browse.text}"
    return category.name if category else "Shop"


def _key(browse: catalog.Browse, page: int, per_page: int) -> str:
    arguments = sorted(browse.arguments().items())
    return f"catalogue-cards:{per_page}:{page}:{arguments!r}"
