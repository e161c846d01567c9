"""The cart: one per user, kept in the database; and a visitor's, kept in their session.

A visitor who has not signed in keeps a *guest cart*: product ids and
quantities only, which the route stores in the Flask session. The same
stock and quantity rules hold for it, and it is merged into the account's
cart at sign-in or registration (``merge_guest_cart``).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from shop.extensions import db
from shop.models import CartItem, Product
from shop.realtime import publisher
from shop.services.catalog import get_product
from shop.services.errors import (
    CartChanged,
    InvalidInput,
    InvalidQuantity,
    NotFound,
    OutOfStock,
    PricesChanged,
    ProductUnavailable,
    ShippingChanged,
)
from shop.services.shipping import SHIPPING_CHANGED
from shop.services.totals import ShippingOption, Totals
from shop.services.transaction import write_transaction

MAX_QUANTITY = 99
# Lines a guest cart holds: it travels in the session cookie, which browsers cap at 4 KB.
MAX_GUEST_LINES = 30
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
    """What the shopper saw when they pressed "Place order": the lines, what the
    items came to, the shipping method chosen and its cost, and the total with
    it. ``total_cents`` is None when a form carried no total (a page from
    before checkout forms carried one, or a broken one)."""

    lines: tuple[ShownLine, ...]
    items_cents: int | None
    shipping_code: str
    shipping_cents: int | None
    total_cents: int | None


class LineProduct(NamedTuple):
    """What a cart's pages show of a line's product, read with its line."""

    id: int
    name: str
    price_cents: int
    stock: int
    low_stock_threshold: int
    active: bool


@dataclass(frozen=True)
class CartLine:
    """A line of a cart (the account's or a guest's) as its pages and the checkout show it."""

    product: LineProduct
    quantity: int

    @property
    def product_id(self) -> int:
        return self.product.id

    @property
    def line_total_cents(self) -> int:
        return self.product.price_cents * self.quantity


@dataclass(frozen=True)
class MergeResult:
    """What merging a guest cart did: units added, and what could not be (one sentence each)."""

    added: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cart:
    items: list[CartLine]

    @property
    def total_cents(self) -> int:
        """What the items come to (shipping is added by shop/services/totals.py)."""
        return sum(item.line_total_cents for item in self.items)

    @property
    def count(self) -> int:
        return sum(item.quantity for item in self.items)

    @property
    def no_longer_sold(self) -> list[CartLine]:
        """Lines whose product was taken off sale: checkout waits until they are removed."""
        return [item for item in self.items if not item.product.active]

    def shown_lines(self) -> tuple[ShownLine, ...]:
        return tuple(ShownLine(i.product_id, i.quantity, i.product.price_cents) for i in self.items)

    def shown(self, option: ShippingOption) -> ShownCart:
        """What the checkout page shows with ``option`` chosen, for its form to carry back."""
        return ShownCart(
            lines=self.shown_lines(),
            items_cents=option.totals.items_cents,
            shipping_code=option.method.code,
            shipping_cents=option.totals.shipping_cents,
            total_cents=option.totals.total_cents,
        )


def get_cart(user_id: int) -> Cart:
    rows = db.session.connection().execute(_CART_LINES, {"user_id": user_id})
    return Cart(items=[CartLine(LineProduct(*row[1:]), row[0]) for row in rows])


_LINE_PRODUCT = tuple(getattr(Product, name) for name in LineProduct._fields)
# Built once (a statement keeps its compiled form and cache key): every cart page asks it.
_CART_LINES = (
    select(CartItem.quantity, *_LINE_PRODUCT)
    .join(Product, CartItem.product_id == Product.id)
    .where(CartItem.user_id == bindparam("user_id"))
    .order_by(CartItem.id)
)


def cart_count(user_id: int) -> int:
    return _count(db.session, user_id)


def _count(session: Session, user_id: int) -> int:
    return session.scalar(
        select(func.coalesce(func.sum(CartItem.quantity), 0)).where(CartItem.user_id == user_id)
    )


def queue_cart_count(session: Session, user_id: int) -> None:
    """After the commit, every tab and device of the user shows the cart's new count."""
    session.flush()
    publisher.queue_cart(session, user_id, _count(session, user_id))


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
        queue_cart_count(session, user_id)
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
        queue_cart_count(session, user_id)
    return item


def remove_from_cart(user_id: int, product_id: int) -> None:
    with write_transaction() as session:
        lock_cart(session, user_id)
        session.execute(
            delete(CartItem).where(CartItem.user_id == user_id, CartItem.product_id == product_id)
        )
        queue_cart_count(session, user_id)


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


def check_as_shown(items: Sequence[CartItem], shown: ShownCart, totals: Totals) -> None:
    """Refuse to check out anything but what the shopper saw: the same lines
    (not changed in another tab), at the same prices, the same shipping cost,
    for the same total. ``items`` are the cart's lines read under lock_cart,
    with today's prices; ``totals`` are theirs with the chosen method's rates."""
    if shown.total_cents is None or shown.items_cents is None or shown.shipping_cents is None:
        raise InvalidInput(FORM_EXPIRED)
    if sorted((line.product_id, line.quantity) for line in shown.lines) != sorted(
        (item.product_id, item.quantity) for item in items
    ):
        raise CartChanged(CART_CHANGED)
    prices = {item.product_id: item.product.price_cents for item in items}
    if any(line.unit_price_cents != prices[line.product_id] for line in shown.lines):
        raise PricesChanged(PRICES_CHANGED)
    if shown.items_cents != totals.items_cents:
        raise PricesChanged(PRICES_CHANGED)
    if shown.shipping_cents != totals.shipping_cents:
        raise ShippingChanged(SHIPPING_CHANGED)
    if shown.total_cents != totals.total_cents:
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


# -- the guest cart: {product id: quantity} in the visitor's session ------------------


def guest_lines(stored: object) -> dict[int, int]:
    """A guest cart as the session stored it (JSON: ids as text), read defensively:
    a cookie from an older version, or one that is not a cart, reads as empty."""
    if not isinstance(stored, Mapping):
        return {}
    lines = {}
    for key, quantity in stored.items():
        try:
            product_id = int(key)
        except (TypeError, ValueError):
            continue
        if isinstance(quantity, int) and not isinstance(quantity, bool) and 1 <= quantity <= MAX_QUANTITY:
            lines[product_id] = quantity
    return dict(list(lines.items())[:MAX_GUEST_LINES])


def stored_guest_lines(lines: Mapping[int, int]) -> dict[str, int]:
    """The form the session keeps (JSON object keys are text)."""
    return {str(product_id): quantity for product_id, quantity in lines.items()}


def guest_cart(stored: object) -> Cart:
    """The guest cart with its products, in the order they were added; products
    that no longer exist are left out (a product taken off sale stays, flagged)."""
    lines = guest_lines(stored)
    if not lines:
        return Cart(items=[])
    rows = db.session.execute(select(*_LINE_PRODUCT).where(Product.id.in_(lines)))
    products = {row.id: LineProduct(*row) for row in rows}
    return Cart(items=[CartLine(products[pid], qty) for pid, qty in lines.items() if pid in products])


def guest_count(stored: object) -> int:
    return sum(guest_lines(stored).values())


def add_to_guest_cart(stored: object, product_id: int, quantity: int) -> dict[str, int]:
    """The guest cart with ``quantity`` more of the product, by the account cart's rules."""
    check_quantity(quantity)
    lines = _known_lines(stored)
    product = get_product(product_id)
    wanted = quantity + lines.get(product_id, 0)
    check_quantity(wanted)
    _check_available(product, wanted)
    if product_id not in lines and len(lines) >= MAX_GUEST_LINES:
        raise InvalidInput(f"A cart holds {MAX_GUEST_LINES} different products until you sign in.")
    lines[product_id] = wanted
    return stored_guest_lines(lines)


def update_guest_cart(stored: object, product_id: int, quantity: int) -> dict[str, int]:
    check_quantity(quantity)
    lines = _known_lines(stored)
    if product_id not in lines:
        raise NotFound("That product is not in your cart.")
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound("There is no such product.")
    _check_available(product, quantity)
    lines[product_id] = quantity
    return stored_guest_lines(lines)


def remove_from_guest_cart(stored: object, product_id: int) -> dict[str, int]:
    lines = _known_lines(stored)
    lines.pop(product_id, None)
    return stored_guest_lines(lines)


def _known_lines(stored: object) -> dict[int, int]:
    """The guest cart less the lines of products that no longer exist (kept out of the count)."""
    lines = guest_lines(stored)
    if not lines:
        return lines
    known = set(db.session.scalars(select(Product.id).where(Product.id.in_(lines))))
    return {product_id: quantity for product_id, quantity in lines.items() if product_id in known}


def merge_guest_cart(user_id: int, stored: object) -> MergeResult:
    """Add a guest cart to the account's cart (at sign-in or registration).

    Quantities are added, then capped at MAX_QUANTITY and at the stock left;
    a product taken off sale, gone or sold out is left out. Each line that
    could not be merged whole is named in ``problems``. Locked like every
    cart write, so a merge and an add in another tab both count.
    """
    lines = guest_lines(stored)
    if not lines:
        return MergeResult()
    added, problems = 0, []
    with write_transaction() as session:
        lock_cart(session, user_id)
        for product_id, quantity in sorted(lines.items()):
            product = session.get(Product, product_id)
            if product is None or not product.active:
                name = product.name if product is not None else "A product from your visit"
                problems.append(f"{name} is no longer sold.")
                continue
            item = _find_item(session, user_id, product_id)
            have = item.quantity if item else 0
            cap = min(MAX_QUANTITY, product.stock)
            total = max(have, min(have + quantity, cap))
            if total < have + quantity:
                problems.append(_capped(product, total, cap))
            if total == have:
                continue
            added += total - have
            if item is None:
                session.add(CartItem(user_id=user_id, product_id=product_id, quantity=total))
            else:
                item.quantity = total
        queue_cart_count(session, user_id)
    return MergeResult(added=added, problems=problems)


def _capped(product: Product, total: int, cap: int) -> str:
    if product.stock == 0:
        return f"{product.name} is out of stock."
    if cap == MAX_QUANTITY:
        return f"{product.name}: {total} in your cart, the most one order can take."
    return f"{product.name}: {total} in your cart, all we have."
