"""The catalogue: browsing, categories, product edits, stock and back-in-stock watches."""

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from shop.extensions import db
from shop.formatting import money
from shop.models import Category, Product, StockWatch
from shop.models.notification import BACK_IN_STOCK, LOW_STOCK
from shop.realtime import publisher
from shop.services.changes import Change, bump_version, record
from shop.services.errors import InvalidInput, NotFound
from shop.services.notifications import notify_admins, notify_many
from shop.services.transaction import write_transaction

MAX_STOCK = 1_000_000
# How the catalogue can be sorted (the ``sort`` argument), the first the default.
SORTS = {
    "name": ("Name", (Product.name, Product.id)),
    "price": ("Price, low to high", (Product.price_cents, Product.id)),
    "price_desc": ("Price, high to low", (Product.price_cents.desc(), Product.id)),
    "newest": ("Newest", (Product.created_at.desc(), Product.id.desc())),
}


@dataclass(frozen=True)
class ProductFields:
    name: str
    description: str
    price_cents: int
    low_stock_threshold: int
    active: bool
    category_ids: tuple[int, ...] = field(default=())


@dataclass(frozen=True)
class Browse:
    """What a catalogue page asks for: words, a category (its slug), in stock only, an order."""

    text: str = ""
    category: str = ""
    in_stock: bool = False
    sort: str = "name"

    def arguments(self, **changes: str | None) -> dict[str, str]:
        """As query arguments, the defaults left out, ``changes`` over them (None: left out);
        for links and forms that keep what else was chosen."""
        values = {"q": self.text, "category": self.category, "in_stock": "1" if self.in_stock else ""}
        values["sort"] = "" if self.sort == "name" else self.sort
        values.update(changes)
        return {name: value for name, value in values.items() if value}


def search_products(query: str | Browse, page: int, per_page: int, include_inactive: bool = False):
    browse = query if isinstance(query, Browse) else Browse(text=query)
    order = SORTS.get(browse.sort, SORTS["name"])[1]
    statement = select(Product).options(selectinload(Product.photos)).order_by(*order)
    if not include_inactive:
        statement = statement.where(Product.active)
    if browse.text.strip():
        pattern = f"%{_escape_like(browse.text.strip())}%"
        statement = statement.where(
            or_(Product.name.ilike(pattern, escape="\\"), Product.description.ilike(pattern, escape="\\"))
        )
    if browse.category:
        statement = statement.where(Product.categories.any(Category.slug == browse.category))
    if browse.in_stock:
        statement = statement.where(Product.stock > 0)
    return db.paginate(statement, page=page, per_page=per_page, error_out=False)


# What a catalogue card or a product page's body shows that can change under it: a kept
# rendering is shown again only while these are what they were (updated_at moves with every
# change of the row, photos included, stock with every sale).
_CARD_STATE_COLUMNS = ("id", "stock", "low_stock_threshold", "active", "updated_at")
# Built once: a statement keeps its cache key.
_CARD_STATE = (
    select(*(getattr(Product, name) for name in _CARD_STATE_COLUMNS))
    .where(Product.id.in_(bindparam("ids", expanding=True)))
    .order_by(Product.id)
)


def card_state(product: Product) -> tuple:
    """What card_states reads of ``product``, from the loaded object (as it was rendered)."""
    return tuple(getattr(product, name) for name in _CARD_STATE_COLUMNS)


def card_states(product_ids: Sequence[int]) -> tuple[tuple, ...]:
    """For each of these products, what its card depends on that a sale or an edit changes."""
    if not product_ids:
        return ()
    found = db.session.connection().execute(_CARD_STATE, {"ids": list(product_ids)})
    return tuple(tuple(row) for row in found)


# -- categories ------------------------------------------------------------------------


def all_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.name)))


def find_category(slug: str) -> Category | None:
    return db.session.scalar(select(Category).where(Category.slug == slug)) if slug else None


def get_category(category_id: int) -> Category:
    category = db.session.get(Category, category_id)
    if category is None:
        raise NotFound("There is no such category.")
    return category


def save_category(name: str, category_id: int | None = None) -> Category:
    """Add a category, or rename one; its slug (its name in URLs) follows the name."""
    name = " ".join(name.split())
    slug = slugify(name)
    if not name or not slug:
        raise InvalidInput("Give the category a name with a letter or digit in it.")
    try:
        with write_transaction() as session:
            clash = session.scalar(
                select(Category.id).where(
                    or_(func.lower(Category.name) == name.lower(), Category.slug == slug),
                    Category.id != (category_id or 0),
                )
            )
            if clash:
                raise InvalidInput(f"There is a category called {name} already.")
            category = session.get(Category, category_id) if category_id else Category()
            if category is None:
                raise NotFound("There is no such category.")
            category.name, category.slug = name, slug
            session.add(category)
    except IntegrityError as exc:  # the same name added twice at once
        raise InvalidInput(f"There is a category called {name} already.") from exc
    return category


def delete_category(category_id: int) -> str:
    """Delete a category (its products stay, in their other categories); its name."""
    with write_transaction() as session:
        category = session.get(Category, category_id)
        if category is None:
            raise NotFound("There is no such category.")
        name = category.name
        session.delete(category)
    return name


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60]


def get_product(product_id: int, include_inactive: bool = False) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or not (product.active or include_inactive):
        raise NotFound("There is no such product.")
    return product


def product_page(product_id: int) -> Product:
    """A product on sale with what its page shows of it (photos, categories), loaded at once."""
    product = db.session.get(Product, product_id, options=_PAGE_LOADS)
    if product is None or not product.active:
        raise NotFound("There is no such product.")
    return product


_PAGE_LOADS = (joinedload(Product.photos), joinedload(Product.categories))


def create_product(fields: ProductFields, stock: int, actor_id: int | None = None) -> Product:
    _check_stock(stock)
    with write_transaction() as session:
        product = Product(stock=stock)
        _apply(session, product, fields)
        session.add(product)
        session.flush()
        record_product_change(session, product, actor_id, "added", ["added"])
    return product


def update_product(
    product_id: int, fields: ProductFields, actor_id: int | None = None, expected_version: int | None = None
) -> Product:
    """Save a product's details; refused (StaleVersion) when ``expected_version``, the one
    the form was rendered from, is no longer the product's."""
    with write_transaction() as session:
        product = locked_product(session, product_id)
        bump_version(session, product, expected_version)
        before = _details(product)
        _apply(session, product, fields)
        after = _details(product)
        changed = [name for name in after if after[name][0] != before[name][0]]
        told = ", ".join(f"{name} {after[name][1]}" for name in changed)
        summary = f"changed {told}" if changed else "saved unchanged"
        record_product_change(session, product, actor_id, summary, changed)
    return product


def _details(product: Product) -> dict[str, tuple[object, str]]:
    """Each detail an admin edits: its value, and how a change of it is told."""
    categories = ", ".join(sorted(c.name for c in product.categories)) or "none"
    return {
        "name": (product.name, repr(product.name)),
        "price": (product.price_cents, money(product.price_cents)),
        "description": (product.description, "edited"),
        "low-stock warning": (product.low_stock_threshold, str(product.low_stock_threshold)),
        "on sale": (product.active, "yes" if product.active else "no"),
        "categories": (categories, categories),
    }


def record_product_change(
    session: Session, product: Product, actor_id: int | None, summary: str, fields: list[str]
) -> None:
    """Put the product's change (its version already bumped) in the admins' feed;
    ``fields`` names what changed (``stock`` alone for a stock change)."""
    data = {
        "fields": fields,
        "stock": product.stock,
        "name": product.name,
        "price_cents": product.price_cents,
        "active": product.active,
        "low_stock_threshold": product.low_stock_threshold,
    }
    record(session, Change("product", product.id, product.version, actor_id, summary, data))


def _apply(session: Session, product: Product, fields: ProductFields) -> None:
    for name, value in fields.__dict__.items():
        if name != "category_ids":
            setattr(product, name, value)
    wanted = set(fields.category_ids)
    product.categories = (
        list(session.scalars(select(Category).where(Category.id.in_(wanted)))) if wanted else []
    )


def set_stock(
    product_id: int, stock: int, actor_id: int | None = None, expected_version: int | None = None
) -> Product:
    """Set a product's stock (an admin count or delivery) and tell who needs to know;
    refused (StaleVersion) when ``expected_version`` is no longer the product's."""
    _check_stock(stock)
    with write_transaction() as session:
        product = locked_product(session, product_id)
        bump_version(session, product, expected_version)
        before = product.stock
        product.stock = stock
        session.flush()
        record_stock_change(session, product, before, actor_id, f"stock set to {stock} (was {before})")
    return product


def record_stock_change(
    session: Session, product: Product, before: int, actor_id: int | None, summary: str
) -> None:
    """Put the change in the admins' feed, push the new stock, warn admins when it
    runs low, and wake the watchers.

    Call it inside the transaction that changed ``product.stock`` and bumped its version.
    """
    record_product_change(session, product, actor_id, summary, ["stock"])
    after = product.stock
    if after == before:
        return
    publisher.queue_stock(session, product.id, after)
    url = f"/products/{product.id}"
    if after == 0:
        notify_admins(
            session,
            LOW_STOCK,
            f"Out of stock: {product.name}",
            url=url,
            data={"product_id": product.id, "stock": 0},
        )
    elif before > product.low_stock_threshold >= after:
        notify_admins(
            session,
            LOW_STOCK,
            f"Running low: {product.name}",
            body=f"Only {after} left.",
            url=url,
            data={"product_id": product.id, "stock": after},
        )
    if before == 0:
        _wake_watchers(session, product, url)


def watch(user_id: int, product_id: int) -> None:
    with write_transaction() as session:
        product = locked_product(session, product_id)
        if product.stock > 0:
            raise InvalidInput(f"{product.name} is in stock: no need to wait.")
        exists = session.scalar(
            select(StockWatch.id).where(StockWatch.user_id == user_id, StockWatch.product_id == product_id)
        )
        if not exists:
            session.add(StockWatch(user_id=user_id, product_id=product_id))
    # A double click racing itself hits the unique constraint: the watch exists either way.


def unwatch(user_id: int, product_id: int) -> None:
    with write_transaction() as session:
        watch_row = session.scalar(
            select(StockWatch).where(StockWatch.user_id == user_id, StockWatch.product_id == product_id)
        )
        if watch_row is not None:
            session.delete(watch_row)


def is_watching(user_id: int, product_id: int) -> bool:
    found = db.session.connection().execute(_WATCHING, {"user_id": user_id, "product_id": product_id})
    return found.first() is not None


# Built once (a statement keeps its compiled form and cache key): every product page asks it.
_WATCHING = select(StockWatch.id).where(
    StockWatch.user_id == bindparam("user_id"), StockWatch.product_id == bindparam("product_id")
)


def _wake_watchers(session: Session, product: Product, url: str) -> None:
    """Tell every watcher and drop the watches: the product is locked, as ``watch`` locks it,
    so none is added meanwhile."""
    watchers = session.scalars(select(StockWatch.user_id).where(StockWatch.product_id == product.id)).all()
    notify_many(
        session,
        watchers,
        BACK_IN_STOCK,
        f"Back in stock: {product.name}",
        body=f"{product.stock} available now.",
        url=url,
        data={"product_id": product.id, "stock": product.stock},
    )
    session.execute(delete(StockWatch).where(StockWatch.product_id == product.id))


def locked_product(session: Session, product_id: int) -> Product:
    product = session.scalar(select(Product).where(Product.id == product_id).with_for_update())
    if product is None:
        raise NotFound("There is no such product.")
    return product


def _check_stock(stock: int) -> None:
    if not 0 <= stock <= MAX_STOCK:
        raise InvalidInput(f"Stock must be between 0 and {MAX_STOCK:,}.")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
