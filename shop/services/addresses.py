"""The address book: delivery addresses, their rules, and the countries we deliver to.

Every rule of an address is here, with the message a shopper reads next to
the field: the account pages and the checkout show these, and place_order
checks them again.
"""

import re
from dataclasses import asdict, dataclass, fields, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.extensions import db
from shop.models import Address
from shop.models.address import ADDRESS_LIMITS
from shop.services.errors import InvalidInput, NotFound
from shop.services.transaction import write_transaction

MAX_ADDRESSES = 20
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 6, 15
PHONE = re.compile(r"\+?[0-9 ()./-]+")


@dataclass(frozen=True)
class Country:
    code: str  # ISO 3166-1 alpha-2
    name: str
    postcode: str  # a regular expression for the postcode, upper-cased and with single spaces
    example: str


# The countries we deliver to, in the order the list shows them.
COUNTRIES = (
    Country("AT", "Austria", r"[0-9]{4}", "1010"),
    Country("BE", "Belgium", r"[0-9]{4}", "1000"),
    Country("DK", "Denmark", r"[0-9]{4}", "1050"),
    Country("FI", "Finland", r"[0-9]{5}", "00100"),
    Country("FR", "France", r"[0-9]{5}", "75001"),
    Country("DE", "Germany", r"[0-9]{5}", "10115"),
    Country("IE", "Ireland", r"[A-Z][0-9][0-9W] ?[A-Z0-9]{4}", "D02 X285"),
    Country("IT", "Italy", r"[0-9]{5}", "00184"),
    Country("LU", "Luxembourg", r"(L-)?[0-9]{4}", "1648"),
    Country("NL", "Netherlands", r"[0-9]{4} ?[A-Z]{2}", "1015 CJ"),
    Country("PT", "Portugal", r"[0-9]{4}-[0-9]{3}", "1100-148"),
    Country("ES", "Spain", r"[0-9]{5}", "28013"),
    Country("SE", "Sweden", r"[0-9]{3} ?[0-9]{2}", "111 52"),
)
COUNTRIES_BY_CODE = {country.code: country for country in COUNTRIES}

REQUIRED = {
    "name": "Enter the name of the person the parcel is for.",
    "line1": "Enter the street and house number.",
    "postcode": "Enter the postcode.",
    "city": "Enter the town or city.",
    "country": "Choose a country from the list.",
    "phone": "Enter a phone number the courier can call.",
}


class InvalidAddress(InvalidInput):
    """An address with fields that break a rule; ``errors`` has a message per field."""

    code = "invalid_address"

    def __init__(self, errors: dict[str, str]):
        fields = "one field needs" if len(errors) == 1 else f"{len(errors)} fields need"
        super().__init__(f"Please check the address: {fields} a change.")
        self.errors = errors


@dataclass(frozen=True)
class AddressFields:
    """An address as typed, or as saved (``AddressFields.of``)."""

    name: str
    line1: str
    postcode: str
    city: str
    country: str
    phone: str
    line2: str = ""

    @classmethod
    def of(cls, address) -> "AddressFields":
        return cls(**{field.name: getattr(address, field.name) for field in fields(cls)})

    def cleaned(self) -> "AddressFields":
        """Spaces trimmed and collapsed; the postcode and country upper-cased."""
        values = {name: " ".join(str(value or "").split()) for name, value in asdict(self).items()}
        values["postcode"] = values["postcode"].upper()
        values["country"] = values["country"].upper()
        return replace(self, **values)


def address_errors(address: AddressFields) -> dict[str, str]:
    """What is wrong with each field of ``address`` (cleaned first); empty when nothing is."""
    address = address.cleaned()
    errors = {}
    for name, value in asdict(address).items():
        if not value and name in REQUIRED:
            errors[name] = REQUIRED[name]
        elif len(value) > ADDRESS_LIMITS[name]:
            errors[name] = f"Use at most {ADDRESS_LIMITS[name]} characters."
        elif not value.isprintable():
            errors[name] = "Use letters, digits and punctuation only."
    if "country" not in errors and address.country not in COUNTRIES_BY_CODE:
        errors["country"] = "We deliver only to the countries in the list: choose one of them."
    if "postcode" not in errors and "country" not in errors:
        country = COUNTRIES_BY_CODE[address.country]
        if not re.fullmatch(country.postcode, address.postcode):
            errors["postcode"] = f"A postcode in {country.name} looks like {country.example}."
    if "phone" not in errors:
        digits = sum(character.isdigit() for character in address.phone)
        if not PHONE.fullmatch(address.phone) or not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
            errors["phone"] = (
                f"Enter a phone number of {MIN_PHONE_DIGITS} to {MAX_PHONE_DIGITS} digits, "
                "like +31 20 123 4567."
            )
    return errors


def check_address(address: AddressFields) -> AddressFields:
    """The cleaned address, or InvalidAddress with a message for each field that is wrong."""
    errors = address_errors(address)
    if errors:
        raise InvalidAddress(errors)
    return address.cleaned()


def country_name(code: str) -> str:
    country = COUNTRIES_BY_CODE.get(code)
    return country.name if country else code


def list_addresses(user_id: int) -> list[Address]:
    """The user's addresses, the most recently saved or edited first (checkout offers that one first)."""
    return list(
        db.session.scalars(
            select(Address)
            .where(Address.user_id == user_id)
            .order_by(Address.updated_at.desc(), Address.id.desc())
        )
    )


def get_address(user_id: int, address_id: int) -> Address:
    """One of the user's addresses; anyone else's is reported as missing."""
    address = db.session.get(Address, address_id)
    if address is None or address.user_id != user_id:
        raise NotFound("There is no such address in your address book.")
    return address


def add_address(user_id: int, address: AddressFields) -> Address:
    address = check_address(address)
    with write_transaction() as session:
        saved = save_address(session, user_id, address)
        if saved is None:
            raise InvalidInput(f"An address book keeps at most {MAX_ADDRESSES} addresses: delete one first.")
    return saved


def update_address(user_id: int, address_id: int, address: AddressFields) -> Address:
    """Change a saved address; orders placed with it keep the copy they made."""
    address = check_address(address)
    with write_transaction() as session:
        saved = _own_address(session, user_id, address_id)
        for name, value in asdict(address).items():
            setattr(saved, name, value)
    return saved


def delete_address(user_id: int, address_id: int) -> None:
    with write_transaction() as session:
        session.delete(_own_address(session, user_id, address_id))


def save_address(session: Session, user_id: int, address: AddressFields) -> Address | None:
    """Add a checked address to the book in the caller's transaction, unless the same one
    is there already (that one is returned) or the book is full (None)."""
    existing = session.scalars(select(Address).where(Address.user_id == user_id)).all()
    for saved in existing:
        if AddressFields.of(saved) == address:
            return saved
    if len(existing) >= MAX_ADDRESSES:
        return None
    saved = Address(user_id=user_id, **asdict(address))
    session.add(saved)
    session.flush()
    return saved


def _own_address(session: Session, user_id: int, address_id: int) -> Address:
    address = session.get(Address, address_id)
    if address is None or address.user_id != user_id:
        raise NotFound("There is no such address in your address book.")
    return address
