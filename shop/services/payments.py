"""An order's payment status (unpaid, paid, refunded), beside its fulfilment status.

Admins set it on the order page, cron jobs with ``flask orders set-payment``,
and a payment provider's webhook would call the same function (see
``payment_methods``). Each step is a row of the order's payment timeline,
notifies the owner, and is pushed live as ``payment_status`` to the owner and
the admins, after the commit.
"""

from shop.models import OrderPaymentEvent
from shop.models.notification import PAYMENT_STATUS
from shop.models.order import (
    CANCELLED,
    NEXT_PAYMENT_STATUSES,
    PAID,
    PAYMENT_STATUSES,
    REFUNDED,
    UNPAID,
    Order,
)
from shop.realtime import publisher
from shop.services.changes import bump_version
from shop.services.errors import InvalidInput, InvalidTransition
from shop.services.notifications import notify
from shop.services.orders import locked_order, record_order_change
from shop.services.transaction import write_transaction

PAYMENT_TITLES = {
    PAID: "Payment received",
    REFUNDED: "Payment refunded",
    UNPAID: "Payment not received yet",
}


def set_payment_status(
    order_id: int, status: str, actor_id: int | None, note: str = "", expected_version: int | None = None
) -> Order:
    """Record that the order is now ``status``, refusing any step not in
    NEXT_PAYMENT_STATUSES, marking a cancelled order paid, and a form rendered
    from another version of the order (StaleVersion).
    ``actor_id`` is None for a step no person took (a provider's webhook)."""
    if status not in PAYMENT_STATUSES:
        raise InvalidInput(f"Unknown payment status {status!r}.")
    with write_transaction() as session:
        order = locked_order(session, order_id)
        bump_version(session, order, expected_version)
        previous = order.payment_status
        if status not in NEXT_PAYMENT_STATUSES[previous]:
            raise InvalidTransition(f"Order #{order.id} is {previous}: it cannot become {status}.")
        if status == PAID and order.status == CANCELLED:
            raise InvalidTransition(f"Order #{order.id} is cancelled: it cannot be marked paid.")
        order.payment_status = status
        event = OrderPaymentEvent(
            order_id=order.id, from_status=previous, to_status=status, actor_id=actor_id, note=note
        )
        session.add(event)
        session.flush()
        notify(
            session,
            order.user_id,
            PAYMENT_STATUS,
            f"{PAYMENT_TITLES[status]} (order #{order.id})",
            body=note,
            url=f"/orders/{order.id}",
            data={"order_id": order.id, "payment_status": status, "previous": previous},
        )
        publisher.queue_payment_status(session, order, previous, event.created_at)
        record_order_change(session, order, actor_id, f"payment {previous} → {status}")
    return order
