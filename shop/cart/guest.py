"""Where a visitor's guest cart lives: the Flask session (signed, so only we write it).

It holds product ids and quantities only; shop/services/cart.py holds its
rules. Signing in or registering merges it into the account's cart.
"""

from flask import session

GUEST_CART = "guest_cart"


def stored() -> object:
    """The guest cart as the session holds it (shop/services/cart.py reads it defensively)."""
    return session.get(GUEST_CART)


def store(lines: dict[str, int]) -> None:
    if lines:
        session[GUEST_CART] = lines
    else:
        session.pop(GUEST_CART, None)


def take() -> object:
    """Remove the guest cart from the session and return it (to merge it)."""
    return session.pop(GUEST_CART, None)


def has_one() -> bool:
    return GUEST_CART in session
