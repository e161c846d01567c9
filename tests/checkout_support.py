"""What a test needs to check out: an address, a delivery choice, and the checkout page's form.

The checkout page asks where to deliver; a shopper without saved addresses
types one. These are that address as the service takes it and as the form
posts it, and helpers that fill the form as such a shopper would.
"""

from shop.services import checkout
from shop.services.addresses import AddressFields
from shop.services.cart import ShownCart
from shop.services.orders import Delivery
from tests.live import Shopper, checkout_form

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


def checkout_fields(page: bytes | str, **choices: str) -> dict[str, str]:
    """The checkout page's form as a shopper posts it: the page's own fields and
    choices, ADDRESS typed in the new-address fields, and ``choices`` over them
    (``payment_method="bank_transfer"``, ``shipping_method="express"``)."""
    return {**checkout_form(page), **ADDRESS_FORM, **choices}


def order_paid_by(shopper: Shopper, product_id: int, payment_method: str, quantity: int = 1) -> int:
    """Over HTTP, as a browser: add the product, check out paying by ``payment_method``; the order id."""
    added = shopper.post(f"/cart/add/{product_id}", {"quantity": quantity}, allow_redirects=False)
    assert added.status_code == 302, f"add to cart failed: {added.status_code}"
    form = checkout_fields(shopper.get("/checkout").text, payment_method=payment_method)
    placed = shopper.post("/checkout", form, allow_redirects=False)
    assert placed.status_code == 302, f"checkout failed: {placed.status_code}"
    return int(placed.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def set_payment(admin: Shopper, order_id: int, status: str, note: str = ""):
    """The admin order page's payment form, posted; the response (302, or 409 when refused)."""
    return admin.post(
        f"/admin/orders/{order_id}/payment",
        {"payment-status": status, "payment-note": note},
        allow_redirects=False,
    )
