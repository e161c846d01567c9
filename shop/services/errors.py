"""Typed domain errors. Routes, the API and socket handlers turn them into
flashed messages, error pages or error acks using ``code`` and ``status``."""


class DomainError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class InvalidInput(DomainError):
    code = "invalid_input"
    status = 400


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"


class EmptyCart(DomainError):
    code = "empty_cart"
    status = 400


class OutOfStock(DomainError):
    code = "out_of_stock"
    status = 409


class ProductUnavailable(OutOfStock):
    """Taken off sale (``active`` is false): like a sold-out product it cannot be
    bought, but the message says it is no longer sold, not how many are left."""

    code = "product_unavailable"


class PricesChanged(DomainError):
    """A price in the cart is not the one its page showed: nothing is charged
    that the shopper did not see."""

    code = "prices_changed"
    status = 409


class ShippingChanged(PricesChanged):
    """The shipping method or its cost is not what the checkout page showed (an
    admin changed it, or the items crossed its free-shipping threshold)."""

    code = "shipping_changed"


class CartChanged(DomainError):
    """The cart's lines are not the ones the checkout form showed (another tab changed them)."""

    code = "cart_changed"
    status = 409


class InvalidTransition(DomainError):
    code = "invalid_transition"
    status = 409


class PaymentPending(DomainError):
    """Shipping an order that is to be paid first (bank transfer) before it is
    paid, without an admin confirming that it may go unpaid."""

    code = "payment_pending"
    status = 409


class EmailTaken(DomainError):
    code = "email_taken"
    status = 409


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 401


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
