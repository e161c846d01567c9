"""A shopper's order page as it is read: the order with its delivery and its conversation's
state in one statement (``head``), then its lines and both timelines in two more
(``in_full``), as plain rows.

Nothing on this page changes through it, so it needs no ORM objects, whose loading was
the largest part of the page (bench/README.md). The admin's order page, which changes
the order, loads the ORM's Order.
"""

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Select, bindparam, literal, select, union_all

from shop.extensions import db
from shop.models import Order, OrderDelivery, OrderEvent, OrderItem, OrderPaymentEvent, OrderThread
from shop.services.errors import NotFound


class ShownDelivery(NamedTuple):
    """Where and how the order goes, as copied when it was placed."""

    name: str
    line1: str
    line2: str
    postcode: str
    city: str
    country: str
    phone: str
    shipping_name: str
    shipping_min_days: int
    shipping_max_days: int


class ShownThread(NamedTuple):
    """How far each side of the order's conversation has read (OrderThread's row)."""

    customer_last_read: int
    shop_last_read: int
    unread_for_shop: bool
    unread_for_customer: bool


class ShownItem(NamedTuple):
    name: str
    quantity: int
    unit_price_cents: int

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


class ShownStep(NamedTuple):
    """A step of either timeline."""

    to_status: str
    created_at: datetime
    note: str


class ShownOrder(NamedTuple):
    id: int
    user_id: int
    status: str
    items_cents: int
    shipping_cents: int
    total_cents: int
    payment_method: str
    payment_status: str
    version: int  # bumped by every change of the order (shop/services/changes.py)
    delivery: ShownDelivery | None  # None for orders placed before checkout asked
    thread: ShownThread | None  # None until the order's first message
    # None in a head, until in_full reads them:
    items: tuple[ShownItem, ...] | None = None
    events: tuple[ShownStep, ...] | None = None
    payment_events: tuple[ShownStep, ...] | None = None


def head(user_id: int, order_id: int) -> ShownOrder:
    """The user's own order without its lines and steps; anyone else's is reported as missing."""
    row = db.session.connection().execute(_HEAD, {"order_id": order_id, "user_id": user_id}).first()
    if row is None:
        raise NotFound("There is no such order.")
    return ShownOrder(
        *row[:_ORDER_END],
        delivery=ShownDelivery(*row[_ORDER_END:_DELIVERY_END]) if row.has_delivery else None,
        thread=ShownThread(*row[_DELIVERY_END:_THREAD_END]) if row.has_thread else None,
    )


def in_full(order: ShownOrder) -> ShownOrder:
    """``order`` with its lines and both timelines."""
    connection = db.session.connection()
    items = connection.execute(_ITEMS, {"order_id": order.id})
    steps = {"status": [], "payment": []}
    for row in connection.execute(_STEPS, {"order_id": order.id}):
        steps[row.timeline].append(ShownStep(row.to_status, row.created_at, row.note))
    return order._replace(
        items=tuple(ShownItem(*row) for row in items),
        events=tuple(steps["status"]),
        payment_events=tuple(steps["payment"]),
    )


def _columns(model, names: tuple[str, ...]) -> list:
    return [getattr(model, name) for name in names]


_ORDER = _columns(Order, ShownOrder._fields[: ShownOrder._fields.index("delivery")])
_DELIVERY = _columns(OrderDelivery, ShownDelivery._fields)
_THREAD = _columns(OrderThread, ShownThread._fields)
_ORDER_END = len(_ORDER)
_DELIVERY_END = _ORDER_END + len(_DELIVERY)
_THREAD_END = _DELIVERY_END + len(_THREAD)

# Built once (a statement keeps its compiled form and cache key): every order page asks them.
_HEAD = (
    select(
        *_ORDER,
        *_DELIVERY,
        *_THREAD,
        OrderDelivery.order_id.is_not(None).label("has_delivery"),
        OrderThread.order_id.is_not(None).label("has_thread"),
    )
    .outerjoin(OrderDelivery, OrderDelivery.order_id == Order.id)
    .outerjoin(OrderThread, OrderThread.order_id == Order.id)
    .where(Order.id == bindparam("order_id"), Order.user_id == bindparam("user_id"))
)
_ITEMS = (
    select(OrderItem.name, OrderItem.quantity, OrderItem.unit_price_cents)
    .where(OrderItem.order_id == bindparam("order_id"))
    .order_by(OrderItem.id)
)


def _timeline(name: str, step) -> Select:
    return select(literal(name).label("timeline"), step.to_status, step.created_at, step.note, step.id).where(
        step.order_id == bindparam("order_id")
    )


_STEPS = union_all(_timeline("status", OrderEvent), _timeline("payment", OrderPaymentEvent)).order_by("id")
