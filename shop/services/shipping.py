"""Shipping methods: what admins configure and what checkout offers."""

import re
from dataclasses import asdict, dataclass, replace

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shop.extensions import db
from shop.models import ShippingMethod
from shop.services.errors import InvalidInput, NotFound, ShippingChanged
from shop.services.transaction import write_transaction

CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,29}")
MAX_DAYS = 60
MAX_PRICE_CENTS = 10_000_000  # €100,000, the most a product may cost too
SHIPPING_CHANGED = "Shipping costs changed, please review your order."
NOT_OFFERED = "That shipping method is no longer offered; please choose another."


@dataclass(frozen=True)
class ShippingFields:
    code: str
    name: str
    price_cents: int
    free_from_cents: int | None
    min_days: int
    max_days: int
    active: bool = True
    position: int = 0


# What a new shop offers (`flask seed`, and the migration that brought shipping methods).
DEFAULT_METHODS = (
    ShippingFields("standard", "Standard", 490, 5000, 2, 4, position=1),
    ShippingFields("express", "Express", 990, None, 1, 1, position=2),
)


def offered_methods() -> list[ShippingMethod]:
    """The methods checkout offers, in their order; the first is the one the cart page quotes."""
    return list(db.session.scalars(_offered(ShippingMethod)))


def _offered(*columns) -> Select:
    return select(*columns).where(ShippingMethod.active).order_by(ShippingMethod.position, ShippingMethod.id)


def cart_page_method():
    """The first offered method, as the cart page quotes it: its row (code, name, price,
    free_from_cents, days), read with one statement built once; None when none is offered."""
    return db.session.connection().execute(_FIRST_OFFERED).first()


_FIRST_OFFERED = _offered(
    ShippingMethod.code,
    ShippingMethod.name,
    ShippingMethod.price_cents,
    ShippingMethod.free_from_cents,
    ShippingMethod.min_days,
    ShippingMethod.max_days,
).limit(1)


def all_methods() -> list[ShippingMethod]:
    statement = select(ShippingMethod).order_by(ShippingMethod.position, ShippingMethod.id)
    return list(db.session.scalars(statement))


def get_method(method_id: int) -> ShippingMethod:
    method = db.session.get(ShippingMethod, method_id)
    if method is None:
        raise NotFound("There is no such shipping method.")
    return method


def create_method(fields: ShippingFields) -> ShippingMethod:
    fields = _checked(fields)
    try:
        with write_transaction() as session:
            _check_code_free(session, fields.code)
            method = ShippingMethod(**asdict(fields))
            session.add(method)
    except IntegrityError:
        raise _code_taken(fields.code) from None
    return method


def update_method(method_id: int, fields: ShippingFields) -> ShippingMethod:
    """Change a method; orders placed with it keep the copy they made, and a
    checkout page showing the old cost is refused (ShippingChanged)."""
    fields = _checked(fields)
    try:
        with write_transaction() as session:
            method = _locked_method(session, method_id)
            if method is None:
                raise NotFound("There is no such shipping method.")
            if fields.code != method.code:
                _check_code_free(session, fields.code)
            for name, value in asdict(fields).items():
                setattr(method, name, value)
    except IntegrityError:
        raise _code_taken(fields.code) from None
    return method


def ensure_default_methods() -> int:
    """Add the DEFAULT_METHODS whose code is missing; how many were added."""
    added = 0
    with write_transaction() as session:
        existing = set(session.scalars(select(ShippingMethod.code)))
        for fields in DEFAULT_METHODS:
            if fields.code not in existing:
                session.add(ShippingMethod(**asdict(fields)))
                added += 1
    return added


def offered_method(session: Session, code: str) -> ShippingMethod:
    """The offered method ``code``, share-locked until the caller's transaction ends:
    an admin's change waits for the checkouts using it (which do not wait for each
    other), or a checkout that came after it sees the change."""
    if not code:
        raise InvalidInput("Choose a shipping method.")
    statement = select(ShippingMethod).where(ShippingMethod.code == code).with_for_update(read=True)
    method = session.scalar(statement)
    if method is None or not method.active:
        raise ShippingChanged(NOT_OFFERED)
    return method


def _locked_method(session: Session, method_id: int) -> ShippingMethod | None:
    return session.scalar(select(ShippingMethod).where(ShippingMethod.id == method_id).with_for_update())


def _checked(fields: ShippingFields) -> ShippingFields:
    fields = replace(fields, code=fields.code.strip().lower(), name=fields.name.strip())
    if not CODE.fullmatch(fields.code):
        raise InvalidInput("The code is 1 to 30 lower-case letters, digits or dashes, like standard.")
    if not fields.name or len(fields.name) > 60:
        raise InvalidInput("Give the method a name of at most 60 characters.")
    if not 0 <= fields.price_cents <= MAX_PRICE_CENTS:
        raise InvalidInput("The price must be between €0.00 and €100,000.00.")
    if fields.free_from_cents is not None and not 0 <= fields.free_from_cents <= MAX_PRICE_CENTS:
        raise InvalidInput("Free shipping must start between €0.00 and €100,000.00, or be left empty.")
    if not 0 <= fields.min_days <= fields.max_days <= MAX_DAYS:
        raise InvalidInput(f"Delivery takes from 0 to {MAX_DAYS} working days, the fewest first.")
    return fields


def _check_code_free(session: Session, code: str) -> None:
    if session.scalar(select(ShippingMethod.id).where(ShippingMethod.code == code)) is not None:
        raise _code_taken(code)


def _code_taken(code: str) -> InvalidInput:
    return InvalidInput(f"Another shipping method has the code {code!r}.")
