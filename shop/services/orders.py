"""Orders: checkout, status changes and cancellation."""

from dataclasses import asdict, dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from shop.extensions import db
from shop.formatting import money
from shop.models import (
    Address,
    CartItem,
    Order,
    OrderDelivery,
    OrderEvent,
    OrderItem,
    OrderPaymentEvent,
    Product,
    User,
)
from shop.models.base import utcnow
from shop.models.mail import CANCELLATION, CONFIRMATION
from shop.models.notification import NEW_ORDER, ORDER_STATUS
from shop.models.order import (
    CANCELLED,
    NEXT_STATUSES,
    PAID,
    PAYMENT_STATUSES,
    PLACED,
    SHIPPED,
    STATUSES,
    UNPAID,
)
from shop.realtime import publisher
from shop.services import payment_methods
from shop.services.addresses import AddressFields, check_address, save_address
from shop.services.cart import (
    FORM_EXPIRED,
    PRICES_CHANGED,
    ShownCart,
    check_as_shown,
    lock_cart,
    no_longer_sold,
    out_of_stock,
    queue_cart_count,
)
from shop.services.catalog import record_stock_change
from shop.services.changes import Change, check_version, record
from shop.services.errors import (
    EmptyCart,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PaymentPending,
    PricesChanged,
)
from shop.services.mail import queue_order_email
from shop.services.notifications import notify, notify_admins
from shop.services.shipping import offered_method
from shop.services.totals import items_cents, quote
from shop.services.transaction import write_transaction

STATUS_TITLES = {
    "placed": "Order placed",
    "processing": "We are preparing your order",
    "shipped": "Your order is on its way",
    "delivered": "Your order was delivered",
    "cancelled": "Your order was cancelled",
}


@dataclass(frozen=True)
class Delivery:
    """Where the order goes and how it is paid, as the checkout form chose:
    a saved address (``address_id``) or a new one (``address``, saved to the
    address book too when ``save_address``)."""

    payment_method: str
    address: AddressFields | None = None
    address_id: int | None = None
    save_address: bool = False


def place_order(user_id: int, idempotency_key: str, shown: ShownCart, delivery: Delivery) -> Order:
    """Turn the cart into an order in one transaction, if it is what ``shown``
    says the shopper saw: the same lines, prices, shipping method and cost and
    total (check_as_shown). The order keeps a copy of the address and of the
    shipping method as they are now.

    Stock is taken with guarded UPDATEs in product-id order (so two baskets
    never deadlock), guarded by the price too; a short product rolls
    everything back and leaves the cart as it was. The same idempotency key
    returns the same order.

    The cart is locked first, and the key and the cart are read after the
    lock: a checkout that waited for another one (a second tab, the same form
    posted again) sees the order it made and the cart it emptied.
    """
    _check_idempotency_key(idempotency_key)
    try:
        with write_transaction() as session:
            lock_cart(session, user_id)
            existing = _order_by_key(session, user_id, idempotency_key)
            if existing is not None:
                return existing
            return _create_order(session, user_id, idempotency_key, shown, delivery)
    except IntegrityError:
        # A concurrent submit of the same form won the unique key (the cart lock
        # makes that one wait instead; this is the backstop): return its order.
        existing = _order_by_key(db.session, user_id, idempotency_key)
        if existing is None:
            raise
        return existing


def change_status(
    order_id: int,
    status: str,
    actor_id: int | None,
    note: str = "",
    ship_unpaid: bool = False,
    expected_version: int | None = None,
) -> Order:
    """Move an order along (admins), refusing any transition not in NEXT_STATUSES,
    and refusing (StaleVersion) a form rendered from another version than the order's.

    An order whose payment method is paid before shipping (bank transfer)
    ships unpaid only when ``ship_unpaid`` says an admin confirmed it.
    """
    with write_transaction() as session:
        order = locked_order(session, order_id)
        check_version(order, expected_version)
        if status == SHIPPED and not ship_unpaid:
            _check_paid_before_shipping(order)
        _transition(session, order, status, actor_id, note)
    return order


def needs_payment_before_shipping(order: Order) -> bool:
    """Paid before it ships (bank transfer), and not paid: shipping it takes a confirmation."""
    method = payment_methods.METHODS.get(order.payment_method)
    return bool(method and method.paid_before_shipping) and order.payment_status != PAID


def cancel_order(order_id: int, user_id: int) -> Order:
    """The owner cancels their own order, which they may do while it is placed."""
    with write_transaction() as session:
        order = locked_order(session, order_id)
        if order.user_id != user_id:
            raise NotFound("There is no such order.")
        if order.status != PLACED:
            raise InvalidTransition(
                f"Order #{order.id} is {order.status} and can no longer be cancelled online."
            )
        _transition(session, order, CANCELLED, user_id, "Cancelled by the customer")
    return order


def get_order(order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound("There is no such order.")
    return order


def orders_of(user_id: int, page: int, per_page: int):
    statement = (
        select(Order)
        .where(Order.user_id == user_id)
        .options(selectinload(Order.items))
        .order_by(Order.id.desc())
    )
    return db.paginate(statement, page=page, per_page=per_page, error_out=False)


def all_orders(status: str | None, page: int, per_page: int, payment_status: str | None = None):
    """Every order, newest first, of one status and one payment status when given."""
    statement = select(Order).options(selectinload(Order.user)).order_by(Order.id.desc())
    if status:
        if status not in STATUSES:
            raise InvalidInput(f"Unknown status {status!r}.")
        statement = statement.where(Order.status == status)
    if payment_status:
        if payment_status not in PAYMENT_STATUSES:
            raise InvalidInput(f"Unknown payment status {payment_status!r}.")
        statement = statement.where(Order.payment_status == payment_status)
    return db.paginate(statement, page=page, per_page=per_page, error_out=False)


def record_order_change(
    session: Session, order: Order, actor_id: int | None, summary: str, note: str = ""
) -> None:
    """Put the order's change (its version already bumped) in the admins' feed."""
    named = session.connection().execute(_NAMES, {"customer": order.user_id, "actor": actor_id})
    names = dict(named.all())
    data = {
        "note": note,
        "status": order.status,
        "payment_status": order.payment_status,
        "updated_at": order.updated_at.isoformat() if order.updated_at else None,
        "created_at": order.created_at.isoformat() if order.created_at else None,
        "total_cents": order.total_cents,
        "customer": names.get(order.user_id),
    }
    actor = names.get(actor_id) if actor_id is not None else None
    record(session, Change("order", order.id, order.version, actor_id, summary, data, actor))


# The customer's and the actor's names in one statement (built once: asked on every order change).
_NAMES = select(User.id, User.name).where(User.id.in_([bindparam("customer"), bindparam("actor")]))


def locked_order(session: Session, order_id: int) -> Order:
    """The order, its row locked until the caller's transaction ends (status and payment changes)."""
    order = session.scalar(_LOCKED, {"order_id": order_id})
    if order is None:
        raise NotFound("There is no such order.")
    return order


_LOCKED = select(Order).where(Order.id == bindparam("order_id")).with_for_update()


def _create_order(
    session: Session, user_id: int, idempotency_key: str, shown: ShownCart, delivery: Delivery
) -> Order:
    cart = session.scalars(
        select(CartItem).where(CartItem.user_id == user_id).order_by(CartItem.product_id)
    ).all()
    if not cart:
        raise EmptyCart("Your cart is empty.")
    address = _delivery_address(session, user_id, delivery)
    for item in cart:
        if not item.product.active:
            raise no_longer_sold(item.product)
    if shown.total_cents is None:  # a page from before it showed a total with shipping
        raise InvalidInput(FORM_EXPIRED)
    method = offered_method(session, shown.shipping_code)
    totals = quote(items_cents(cart), method)
    check_as_shown(cart, shown, totals)
    taken = [(item, _take_stock(session, item.product, item.quantity)) for item in cart]
    order = Order(
        user_id=user_id,
        status=PLACED,
        idempotency_key=idempotency_key,
        items_cents=totals.items_cents,
        shipping_cents=totals.shipping_cents,
        total_cents=totals.total_cents,
        payment_method=delivery.payment_method,
        payment_status=UNPAID,
        delivery=OrderDelivery(
            **asdict(address),
            shipping_code=method.code,
            shipping_name=method.name,
            shipping_min_days=method.min_days,
            shipping_max_days=method.max_days,
        ),
        items=[
            OrderItem(
                product_id=item.product_id,
                name=item.product.name,
                unit_price_cents=item.product.price_cents,
                quantity=item.quantity,
            )
            for item in cart
        ],
        events=[OrderEvent(from_status=None, to_status=PLACED, actor_id=user_id)],
        payment_events=[OrderPaymentEvent(from_status=None, to_status=UNPAID, actor_id=user_id)],
    )
    session.add(order)
    for item in cart:
        session.delete(item)
    session.flush()
    queue_cart_count(session, user_id)
    record_order_change(session, order, user_id, "placed")
    for item, before in taken:
        taken_here = f"{before - item.product.stock} taken by order #{order.id}"
        record_stock_change(session, item.product, before, user_id, taken_here)
    notify_admins(
        session,
        NEW_ORDER,
        f"New order #{order.id}",
        body=f"{order.item_count} item(s), {money(order.total_cents)}",
        url=f"/admin/orders/{order.id}",
        data={
            "order_id": order.id,
            "status": order.status,
            "total_cents": order.total_cents,
            "payment_status": order.payment_status,
            "customer": session.scalar(select(User.name).where(User.id == order.user_id)),
            "created_at": order.created_at.isoformat(),
        },
    )
    queue_order_email(session, order, CONFIRMATION)
    return order


def _take_stock(session: Session, product: Product, quantity: int) -> int:
    """Take ``quantity`` with a guarded UPDATE; return the stock before.

    The guard holds the price that was checked against the form too: a price
    change committed since (the UPDATE waits for its row) refuses the checkout.
    """
    price_cents = product.price_cents
    taken = session.execute(
        update(Product)
        .where(
            Product.id == product.id,
            Product.active,
            Product.price_cents == price_cents,
            Product.stock >= quantity,
        )
        .values(stock=Product.stock - quantity, version=Product.version + 1)
        .returning(Product.stock, Product.version)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if taken is None:
        session.refresh(product)
        if not product.active:
            raise no_longer_sold(product)
        if product.price_cents != price_cents:
            raise PricesChanged(PRICES_CHANGED)
        raise out_of_stock(product)
    stock, version = taken
    set_committed_value(product, "stock", stock)
    set_committed_value(product, "version", version)
    return stock + quantity


def _restore_stock(session: Session, order: Order, actor_id: int | None) -> None:
    for item in sorted(order.items, key=lambda item: item.product_id or 0):
        if item.product_id is None:
            continue
        stock, version = session.execute(
            update(Product)
            .where(Product.id == item.product_id)
            .values(stock=Product.stock + item.quantity, version=Product.version + 1)
            .returning(Product.stock, Product.version)
            .execution_options(synchronize_session=False)
        ).one()
        product = session.get(Product, item.product_id)
        set_committed_value(product, "stock", stock)
        set_committed_value(product, "version", version)
        summary = f"{item.quantity} back from cancelled order #{order.id}"
        record_stock_change(session, product, stock - item.quantity, actor_id, summary)


def _transition(session: Session, order: Order, status: str, actor_id: int, note: str) -> None:
    """Move the locked ``order`` to ``status``, its version bumped in the same UPDATE; record
    the step, the feed's change and the owner's notification, and queue their pushes."""
    if status not in NEXT_STATUSES.get(order.status, ()):
        raise InvalidTransition(f"Order #{order.id} is {order.status}: it cannot become {status}.")
    previous, now = order.status, utcnow()
    # Written as statements, not by the unit of work's flush (the order's new status, time and
    # version set as loaded); the event is added by id: appending to order.events would load the timeline.
    connection = session.connection()
    moved = connection.execute(_MOVE, {"order_id": order.id, "to_status": status, "moved_at": now})
    set_committed_value(order, "version", moved.scalar_one())
    set_committed_value(order, "status", status)
    set_committed_value(order, "updated_at", now)
    event = {"order_id": order.id, "from_status": previous, "to_status": status, "actor_id": actor_id}
    connection.execute(_WRITE_EVENT, {**event, "note": note, "created_at": now})
    if status == CANCELLED:
        _restore_stock(session, order, actor_id)
        session.flush()
    record_order_change(session, order, actor_id, f"status {previous} → {status}", note)
    notify(
        session,
        order.user_id,
        ORDER_STATUS,
        f"{STATUS_TITLES[status]} (order #{order.id})",
        body=note,
        url=f"/orders/{order.id}",
        data={"order_id": order.id, "status": status, "previous_status": previous},
    )
    publisher.queue_order_status(session, order, previous)
    if status == CANCELLED:
        queue_order_email(session, order, CANCELLATION)


# The order's next status, time and version, in one statement built once.
_MOVE = (
    update(Order.__table__)
    .where(Order.__table__.c.id == bindparam("order_id"))
    .values(
        status=bindparam("to_status"),
        updated_at=bindparam("moved_at"),
        version=Order.__table__.c.version + 1,
    )
    .returning(Order.__table__.c.version)
)
_WRITE_EVENT = insert(OrderEvent.__table__)


def _check_paid_before_shipping(order: Order) -> None:
    if needs_payment_before_shipping(order):
        method = payment_methods.get_method(order.payment_method)
        raise PaymentPending(
            f"Order #{order.id} is paid by {method.name.lower()} and is {order.payment_status}: "
            "mark it paid first, or confirm that it ships unpaid."
        )


def _delivery_address(session: Session, user_id: int, delivery: Delivery) -> AddressFields:
    """The address to deliver to, checked (and saved when asked), once the way to pay is one we offer."""
    payment_methods.get_method(delivery.payment_method)
    if delivery.address_id is not None:
        saved = session.get(Address, delivery.address_id)
        if saved is None or saved.user_id != user_id:
            raise NotFound("There is no such address in your address book.")
        return AddressFields.of(saved)
    address = check_address(delivery.address or AddressFields("", "", "", "", "", ""))
    if delivery.save_address:
        save_address(session, user_id, address)
    return address


def _order_by_key(session: Session, user_id: int, key: str) -> Order | None:
    return session.scalar(select(Order).where(Order.user_id == user_id, Order.idempotency_key == key))


def _check_idempotency_key(key: str) -> None:
    if not key or len(key) > 64 or not all(c.isalnum() or c in "-_" for c in key):
        raise InvalidInput(FORM_EXPIRED)
