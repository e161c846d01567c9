"""What an order costs: items, shipping and the grand total, computed here and nowhere else.

The cart page, the checkout, the order page, the admin's order page and the
confirmation email all show a ``Totals``: ``quote`` for a cart not yet
ordered (with a shipping method), ``order_totals`` for an order (what was
charged, as stored when it was placed). Templates render one with the
``totals_rows`` macro of ``templates/_macros.html``.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shop.models import Order, ShippingMethod


@dataclass(frozen=True)
class Totals:
    items_cents: int
    shipping_cents: int

    @property
    def total_cents(self) -> int:
        return self.items_cents + self.shipping_cents


@dataclass(frozen=True)
class ShippingOption:
    """A shipping method as checkout offers it for one cart: what it costs and the totals with it."""

    method: ShippingMethod
    totals: Totals

    @property
    def free(self) -> bool:
        """Free because the items reach the method's threshold (not because it costs nothing)."""
        return self.totals.shipping_cents == 0 and self.method.price_cents > 0


def shipping_cents(method: ShippingMethod, items_cents: int) -> int:
    """The method's price, or nothing once the items come to its free-shipping threshold."""
    if method.free_from_cents is not None and items_cents >= method.free_from_cents:
        return 0
    return method.price_cents


def items_cents(lines: Iterable) -> int:
    """The items' total: each line's unit price times its quantity (cart lines or order items)."""
    return sum(line.line_total_cents for line in lines)


def quote(items_total_cents: int, method: ShippingMethod | None) -> Totals:
    """The totals of items worth ``items_total_cents`` sent with ``method`` (None: not chosen yet)."""
    shipping = shipping_cents(method, items_total_cents) if method is not None else 0
    return Totals(items_cents=items_total_cents, shipping_cents=shipping)


def shipping_options(items_total_cents: int, methods: Sequence[ShippingMethod]) -> list[ShippingOption]:
    return [ShippingOption(method, quote(items_total_cents, method)) for method in methods]


def order_totals(order: Order) -> Totals:
    """What the order was charged, as stored when it was placed."""
    return Totals(items_cents=order.items_cents, shipping_cents=order.shipping_cents)
