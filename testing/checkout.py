"""What a test needs to check out: an address, a delivery choice, and the checkout page's form.

The checkout page asks where to deliver; a shopper without saved addresses
types one. These are that address as the service takes it and as the form
posts it, and helpers that fill the form as such a shopper would.
"""

from shop.services import checkout
from shop.services.addresses import AddressFields
from shop.services.cart import ShownCart
from shop.services.orders import Delivery

ADDRESS = AddressFields(
    name="Sam Shopper",
    line1="Keizersgracht 123",
    postcode="1015 CJ",
    city="Amsterdam",
    country="NL",
    phone="+31 20 123 4567",
)
ADDRESS_FORM = {f"address-{name}": value for name, value in ADDRESS.__dict__.items()}
# The checkout as the service takes it: to ADDRESS, paid on delivery (nothing to wait for).
DELIVERY = Delivery(payment_method="pay_on_delivery", address=ADDRESS)
BANK_TRANSFER = Delivery(payment_method="bank_transfer", address=ADDRESS)


def shown_with(user_id: int, shipping: str = "standard") -> ShownCart:
    """The user's cart as the checkout page shows it now, with ``shipping`` chosen."""
    quote = checkout.quote_checkout(user_id)
    [option] = [option for option in quote.options if option.method.code == shipping]
    return quote.shown(option)
