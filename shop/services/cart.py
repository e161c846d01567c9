"""The cart: one per user, kept in the database."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shop.extensions import db
from shop.models import CartItem, Product
from shop.services.catalog import get_product
from shop.services.errors import (
    CartChanged,
    InvalidInput,
    InvalidQuantity,
    NotFound,
    OutOfStock,
    PricesChanged,
    ProductUnavailable,
)
from shop.services.transaction import write_transaction

MAX_QUANTITY = 99
# The cart's namespace for PostgreSQL advisory locks: the lock (CART_LOCK, user id) is a user's cart.
CART_LOCK = 0x63617274  # "cart"

FORM_EXPIRED = "This checkout form has expired; please try again."
PRICES_CHANGED = "Prices changed, please review your cart."
CART_CHANGED = "Your cart changed in another tab, please review it."


@dataclass(frozen=True)
class ShownLine:
    """One line of the cart as its page showed it."""

    product_id: int
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True)
class ShownCart:
    """What the shopper saw when they pressed "Place order": the lines and the
    total. ``total_cents`` is None when a form carried no total (a page from
    before checkout forms carried one, or a broken one)."""

    lines: tuple[ShownLine, ...]
    total_cents: int | None


@dataclass(frozen=True)
class Cart:
    items: list[CartItem]

    @property
    def total_cents(self) -> int:
        return sum(item.line_total_cents for item in self.items)

    @property
    def count(self) -> int:
        return sum(item.quantity for item in self.items)

    @property
    def no_longer_sold(self) -> list[CartItem]:
        """Lines whose product was taken off sale: checkout waits until they are removed."""
        return [item for item in self.items if not item.product.active]

    def shown(self) -> ShownCart:
        """What the cart page shows, for its checkout form to carry back."""
        lines = tuple(ShownLine(i.product_id, i.quantity, i.product.price_cents) for i in self.items)
        return ShownCart(lines=lines, total_cents=self.total_cents)


def get_cart(user_id: int) -> Cart:
    items = db.session.scalars(
        select(CartItem).where(CartItem.user_id == user_id).order_by(CartItem.id)
    ).all()
    return Cart(items=list(items))


def cart_count(user_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(CartItem.quantity), 0)).where(CartItem.user_id == user_id)
    )


def add_to_cart(user_id: int, product_id: int, quantity: int) -> CartItem:
    check_quantity(quantity)
    with write_transaction() as session:
        lock_cart(session, user_id)
        product = get_product(product_id)
        item = _find_item(session, user_id, product_id)
        wanted = quantity + (item.quantity if item else 0)
        check_quantity(wanted)
        _check_available(product, wanted)
        if item is None:
            item = CartItem(user_id=user_id, product_id=product_id, quantity=wanted)
            session.add(item)
        else:
            item.quantity = wanted
    return item


def update_cart_item(user_id: int, product_id: int, quantity: int) -> CartItem:
    check_quantity(quantity)
    with write_transaction() as session:
        lock_cart(session, user_id)
        item = _find_item(session, user_id, product_id)
        if item is None:
            raise NotFound("That product is not in your cart.")
        _check_available(item.product, quantity)
        item.quantity = quantity
    return item


def remove_from_cart(user_id: int, product_id: int) -> None:
    with write_transaction() as session:
        lock_cart(session, user_id)
        session.execute(
            delete(CartItem).where(CartItem.user_id == user_id, CartItem.product_id == product_id)
        )


def lock_cart(session: Session, user_id: int) -> None:
    """Hold the user's cart until the transaction ends. Every cart write and the
    checkout take it first and read the cart after it, so that for one user they
    run one at a time, each seeing what the one before committed.

    SQLite needs nothing more: write_transaction begins IMMEDIATE, and writers
    wait for each other. PostgreSQL takes a transaction-level advisory lock
    rather than the user's row: notify() updates that row (last_seq) while
    holding product rows (a cancel restoring stock), so a checkout holding the
    row and waiting for a product would deadlock with it.
    """
    if session.get_bind().dialect.name == "sqlite":
        return
    session.execute(select(func.pg_advisory_xact_lock(CART_LOCK, user_id)))


def check_as_shown(items: Sequence[CartItem], shown: ShownCart) -> None:
    """Refuse to check out anything but what the shopper saw: the same lines
    (not changed in another tab), at the same prices, for the same total.
    ``items`` are the cart's lines read under lock_cart, with today's prices."""
    if shown.total_cents is None:
        raise InvalidInput(FORM_EXPIRED)
    if sorted((line.product_id, line.quantity) for line in shown.lines) != sorted(
        (item.product_id, item.quantity) for item in items
    ):
        raise CartChanged(CART_CHANGED)
    prices = {item.product_id: item.product.price_cents for item in items}
    if any(line.unit_price_cents != prices[line.product_id] for line in shown.lines):
        raise PricesChanged(PRICES_CHANGED)
    if shown.total_cents != sum(item.line_total_cents for item in items):
        raise PricesChanged(PRICES_CHANGED)


def check_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidQuantity(f"Quantity must be a whole number from 1 to {MAX_QUANTITY}.")


def out_of_stock(product: Product) -> OutOfStock:
    if product.stock == 0:
        return OutOfStock(f"Sorry, {product.name} is out of stock.")
    return OutOfStock(f"Sorry, only {product.stock} left of {product.name}.")


def no_longer_sold(product: Product) -> ProductUnavailable:
    return ProductUnavailable(f"Sorry, {product.name} is no longer sold. Please remove it from your cart.")


def _check_available(product: Product, quantity: int) -> None:
    """Refuse a product taken off sale, or one with less than ``quantity`` left."""
    if not product.active:
        raise no_longer_sold(product)
    if product.stock < quantity:
        raise out_of_stock(product)


def _find_item(session, user_id: int, product_id: int) -> CartItem | None:
    return session.scalar(
        select(CartItem).where(CartItem.user_id == user_id, CartItem.product_id == product_id)
    )
