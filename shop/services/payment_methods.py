"""The ways an order can be paid: the one list the checkout, the pages and the services read.

Both methods today are settled outside the shop, and an admin (or
``flask orders set-payment``) records the payment with
``payments.set_payment_status``. A provider (Stripe, say) is one more
``PaymentMethod`` here with ``start`` set: checkout sends the shopper to the
URL it returns (the provider's payment page) instead of the order page, and
the provider's webhook, a route of its own that checks the provider's
signature, calls ``payments.set_payment_status(order_id, PAID, actor_id=None,
note=...)``, which records the step, tells the shopper live and refuses a
transition that does not follow.
"""

from collections.abc import Callable
from dataclasses import dataclass

from shop.services.errors import InvalidInput


@dataclass(frozen=True)
class PaymentMethod:
    code: str
    name: str
    # What the shopper reads at checkout, and on the order page while it is unpaid.
    description: str
    # Paid before it ships: shipping it unpaid takes an admin's explicit confirmation.
    paid_before_shipping: bool
    # Where checkout sends the shopper once the order is placed (a provider's
    # payment page); None: to the order page.
    start: Callable[[object], str | None] | None = None

    def start_url(self, order) -> str | None:
        return self.start(order) if self.start else None


BANK_TRANSFER = PaymentMethod(
    code="bank_transfer",
    name="Bank transfer",
    description="Transfer the total with your order number as the reference; we ship once it arrives.",
    paid_before_shipping=True,
)
PAY_ON_DELIVERY = PaymentMethod(
    code="pay_on_delivery",
    name="Pay on delivery",
    description="Pay the courier by card or in cash when the parcel arrives.",
    paid_before_shipping=False,
)

METHODS: dict[str, PaymentMethod] = {method.code: method for method in (PAY_ON_DELIVERY, BANK_TRANSFER)}


def all_methods() -> list[PaymentMethod]:
    """Every method, in the order checkout offers them."""
    return list(METHODS.values())


def get_method(code: str | None) -> PaymentMethod:
    try:
        return METHODS[code]
    except KeyError:
        raise InvalidInput("Choose how you will pay.") from None


def method_name(code: str) -> str:
    """The name of a method; the code itself for one no longer offered (an old order's)."""
    method = METHODS.get(code)
    return method.name if method else code
