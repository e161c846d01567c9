"""What the cart and checkout pages offer: the cart with its totals, the
shipping options with theirs, the saved addresses and the ways to pay.
(Placing the order is ``orders.place_order``.)"""

from dataclasses import dataclass

from shop.models import Address
from shop.services import payment_methods, shipping
from shop.services.addresses import list_addresses
from shop.services.cart import Cart, ShownCart, get_cart
from shop.services.payment_methods import PaymentMethod
from shop.services.totals import ShippingOption, Totals, quote, shipping_options


@dataclass(frozen=True)
class CartQuote:
    """A cart and its totals with the first shipping method offered (None when none is)."""

    cart: Cart
    option: ShippingOption | None

    @property
    def totals(self) -> Totals:
        return self.option.totals if self.option else quote(self.cart.total_cents, None)


@dataclass(frozen=True)
class CheckoutQuote:
    cart: Cart
    options: list[ShippingOption]
    addresses: list[Address]
    payment_methods: list[PaymentMethod]

    @property
    def items_cents(self) -> int:
        return self.cart.total_cents

    def shown(self, option: ShippingOption) -> ShownCart:
        return self.cart.shown(option)


def quote_cart(cart: Cart) -> CartQuote:
    """The cart page's figures (an account's cart or a guest's)."""
    first = shipping.cart_page_method()
    options = shipping_options(cart.total_cents, [first] if first else [])
    return CartQuote(cart=cart, option=options[0] if options else None)


def quote_checkout(user_id: int) -> CheckoutQuote:
    cart = get_cart(user_id)
    return CheckoutQuote(
        cart=cart,
        options=shipping_options(cart.total_cents, shipping.offered_methods()),
        addresses=list_addresses(user_id),
        payment_methods=payment_methods.all_methods(),
    )
