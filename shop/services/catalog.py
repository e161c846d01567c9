"""The catalogue: browsing, product edits, stock and back-in-stock watches."""

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shop.extensions import db
from shop.models import Product, StockWatch
from shop.models.notification import BACK_IN_STOCK, LOW_STOCK
from shop.realtime import publisher
from shop.services.errors import InvalidInput, NotFound
from shop.services.notifications import notify, notify_admins
from shop.services.transaction import write_transaction

MAX_STOCK = 1_000_000


@dataclass(frozen=True)
class ProductFields:
    name: str
    description: str
    price_cents: int
    low_stock_threshold: int
    active: bool


def search_products(query: str, page: int, per_page: int, include_inactive: bool = False):
    statement = select(Product).order_by(Product.name, Product.id)
    if not include_inactive:
        statement = statement.where(Product.active)
    if query:
        pattern = f"%{_escape_like(query.strip())}%"
        statement = statement.where(
            or_(Product.name.ilike(pattern, escape="\\"), Product.description.ilike(pattern, escape="\\"))
        )
    return db.paginate(statement, page=page, per_page=per_page, error_out=False)


def get_product(product_id: int, include_inactive: bool = False) -> Product:
    product = db.session.get(Product, product_id)
    if product is None or not (product.active or include_inactive):
        raise NotFound("There is no such product.")
    return product


def create_product(fields: ProductFields, stock: int) -> Product:
    _check_stock(stock)
    with write_transaction() as session:
        product = Product(stock=stock, **fields.__dict__)
        session.add(product)
    return product


def update_product(product_id: int, fields: ProductFields) -> Product:
    with write_transaction() as session:
        product = _locked_product(session, product_id)
        for name, value in fields.__dict__.items():
            setattr(product, name, value)
    return product


def set_stock(product_id: int, stock: int) -> Product:
    """Set a product's stock (an admin count or delivery) and tell who needs to know."""
    _check_stock(stock)
    with write_transaction() as session:
        product = _locked_product(session, product_id)
        before = product.stock
        product.stock = stock
        session.flush()
        record_stock_change(session, product, before)
    return product


def record_stock_change(session: Session, product: Product, before: int) -> None:
    """Push the new stock, warn admins when it runs low, and wake the watchers.

    Call it inside the transaction that changed ``product.stock``.
    """
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
        product = _locked_product(session, product_id)
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
    return (
        db.session.scalar(
            select(StockWatch.id).where(StockWatch.user_id == user_id, StockWatch.product_id == product_id)
        )
        is not None
    )


def _wake_watchers(session: Session, product: Product, url: str) -> None:
    watches = session.scalars(
        select(StockWatch).where(StockWatch.product_id == product.id).order_by(StockWatch.user_id)
    ).all()
    for watch_row in watches:
        notify(
            session,
            watch_row.user_id,
            BACK_IN_STOCK,
            f"Back in stock: {product.name}",
            body=f"{product.stock} available now.",
            url=url,
            data={"product_id": product.id, "stock": product.stock},
        )
        session.delete(watch_row)


def _locked_product(session: Session, product_id: int) -> Product:
    product = session.scalar(select(Product).where(Product.id == product_id).with_for_update())
    if product is None:
        raise NotFound("There is no such product.")
    return product


def _check_stock(stock: int) -> None:
    if not 0 <= stock <= MAX_STOCK:
        raise InvalidInput(f"Stock must be between 0 and {MAX_STOCK:,}.")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
