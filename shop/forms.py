"""Forms shared by several blueprints."""

from uuid import uuid4

from flask import current_app, flash
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from shop.services import messages
from shop.services.addresses import COUNTRIES, AddressFields, address_errors
from shop.services.cart import FORM_EXPIRED, MAX_QUANTITY, ShownCart, ShownLine
from shop.services.checkout import CheckoutQuote
from shop.services.errors import DomainError, InvalidInput, NotFound
from shop.services.messages import MAX_BODY
from shop.services.orders import Delivery

NEW_ADDRESS = "new"


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def send_from_form(form: "MessageForm", order_id: int, as_shop: bool) -> DomainError | None:
    """Send the message form's text as the signed-in user: None when sent (flashed), else
    the refusal to show with the page (flashed too). No such order raises NotFound."""
    limit = current_app.config["MESSAGES_PER_MINUTE"]
    try:
        reader = messages.Reader.of(current_user)
        messages.send_message(reader, order_id, form.body.data, form.client_id.data, limit, as_shop)
    except NotFound:
        raise
    except DomainError as exc:
        flash(exc.message, "error")
        return exc
    flash("Message sent.", "success")
    return None


class MessageForm(FlaskForm):
    """A message of an order's thread. The body's rules are the service's (1 to 2,000
    characters after trimming); ``client_id`` is new on every render, so that the same
    page posted twice stores one message."""

    body = TextAreaField("Your message", render_kw={"rows": 3, "maxlength": MAX_BODY})
    client_id = HiddenField()

    def fresh(self) -> "MessageForm":
        self.client_id.data = uuid4().hex
        return self


class QuantityForm(FlaskForm):
    quantity = IntegerField(
        "Quantity",
        default=1,
        validators=[
            InputRequired("Enter a quantity."),
            NumberRange(1, MAX_QUANTITY, f"Quantity must be a whole number from 1 to {MAX_QUANTITY}."),
        ],
    )


class ShownLineForm(Form):
    """One cart line as the cart page showed it (hidden fields)."""

    product_id = HiddenField()
    quantity = HiddenField()
    unit_price_cents = HiddenField()


class ShownShippingForm(Form):
    """One shipping method as the checkout page offered it: its cost and the total with it."""

    code = HiddenField()
    cost_cents = HiddenField()
    total_cents = HiddenField()


class AddressFieldsForm(Form):
    """An address's fields; their rules and messages are shop/services/addresses.py's."""

    name = StringField("Full name", render_kw={"autocomplete": "name"})
    line1 = StringField("Street and number", render_kw={"autocomplete": "address-line1"})
    line2 = StringField("Apartment, floor, building (optional)", render_kw={"autocomplete": "address-line2"})
    postcode = StringField("Postcode", render_kw={"autocomplete": "postal-code"})
    city = StringField("Town or city", render_kw={"autocomplete": "address-level2"})
    country = SelectField(
        "Country",
        choices=[SelectChoice("", "Choose a country")]
        + [SelectChoice(country.code, country.name) for country in COUNTRIES],
        validate_choice=False,  # the service says what is wrong, in its words
        render_kw={"autocomplete": "country"},
    )
    phone = StringField("Phone", render_kw={"autocomplete": "tel", "type": "tel"})

    def address(self) -> AddressFields:
        return AddressFields(**{name: (self[name].data or "") for name in AddressFields.__dataclass_fields__})

    def show_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            self[name].errors = [message]


class AddressForm(FlaskForm):
    """The account page's form for one address."""

    address = FormField(AddressFieldsForm)

    def checked(self) -> bool:
        """Submitted, its CSRF token good, and every field by the rules (each error shown at its field)."""
        if not self.validate_on_submit():
            return False
        errors = address_errors(self.address.form.address())
        self.address.form.show_errors(errors)
        return not errors


class CheckoutForm(FlaskForm):
    """The checkout page: where to deliver, how to ship and pay, and what the page
    showed, so that checkout charges nothing else.

    The hidden fields of what was shown are rendered from the quote (the
    ``shown_fields`` macro of templates/cart/checkout.html), never from posted
    data: re-rendered after a refusal the page must carry today's prices, while
    the address keeps what was typed. ``idempotency_key`` is new on every
    render (``offering``), so that a second submit of one page is harmless.
    """

    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=64)])
    shown_lines = FieldList(FormField(ShownLineForm))
    shown_items_cents = HiddenField()
    shown_shipping = FieldList(FormField(ShownShippingForm))
    # The choices are the quote's (rendered by the template); the services refuse anything else.
    address_id = RadioField("Deliver to", choices=[], validate_choice=False)
    address = FormField(AddressFieldsForm)
    save_address = BooleanField("Save this address for next time", default=True)
    shipping_method = RadioField("Delivery", choices=[], validate_choice=False)
    payment_method = RadioField("Payment", choices=[], validate_choice=False)

    def offering(self, quote: CheckoutQuote) -> "CheckoutForm":
        """A new key; on a new page, the quote's first address, shipping method and way to pay."""
        if not self.is_submitted():
            self.address_id.data = str(quote.addresses[0].id) if quote.addresses else NEW_ADDRESS
            self.shipping_method.data = quote.options[0].method.code if quote.options else None
            self.payment_method.data = quote.payment_methods[0].code
        self.idempotency_key.data = uuid4().hex
        return self

    def new_address_chosen(self) -> bool:
        return self.address_id.data in (None, "", NEW_ADDRESS)

    def delivery(self) -> Delivery:
        """Where to deliver and how to pay, as chosen."""
        if self.new_address_chosen():
            return Delivery(
                payment_method=self.payment_method.data or "",
                address=self.address.form.address(),
                save_address=bool(self.save_address.data),
            )
        try:
            address_id = _shown_number(self.address_id.data)
        except (TypeError, ValueError):
            raise InvalidInput("Choose an address from your address book, or enter a new one.") from None
        return Delivery(payment_method=self.payment_method.data or "", address_id=address_id)

    def shown_cart(self) -> ShownCart:
        """What the page showed, read back, with the shipping method chosen; a value
        that is not a whole number is a broken form."""
        code = self.shipping_method.data or ""
        try:
            lines = tuple(
                ShownLine(
                    product_id=_shown_number(line.product_id.data),
                    quantity=_shown_number(line.quantity.data),
                    unit_price_cents=_shown_number(line.unit_price_cents.data),
                )
                for line in self.shown_lines
            )
            offered = {
                entry.code.data: (_shown_number(entry.cost_cents.data), _shown_number(entry.total_cents.data))
                for entry in self.shown_shipping
            }
            shipping, total = offered.get(code, (None, None))
            return ShownCart(
                lines=lines,
                items_cents=_optional_number(self.shown_items_cents.data),
                shipping_code=code,
                shipping_cents=shipping,
                total_cents=total,
            )
        except (TypeError, ValueError):
            raise InvalidInput(FORM_EXPIRED) from None

    def show_errors(self, refusal: DomainError) -> None:
        """Put a refusal's messages for the address fields (InvalidAddress) at those fields."""
        self.address.form.show_errors(getattr(refusal, "errors", {}))


MAX_PAGE = 100_000
MAX_INT = 2**31 - 1  # the largest value a database INTEGER column holds everywhere
MAX_BIGINT = 2**63 - 1  # the largest a BIGINT (money) column holds


def page_number(text: str) -> int:
    """A ``?page=`` argument, from 1 to MAX_PAGE: any whole number is clamped
    into range (beyond the last page a list is just empty)."""
    return min(max(int(text), 1), MAX_PAGE)


def whole_number(text: str) -> int:
    """A whole number a database column can hold; ValueError otherwise, so that
    ``request.form.get(name, type=whole_number)`` falls back to its default."""
    value = int(text)
    if not 0 <= value <= MAX_INT:
        raise ValueError(f"{value} is out of range")
    return value


def _shown_number(text: str | None) -> int:
    value = int(text)
    if not 0 <= value <= MAX_BIGINT:
        raise ValueError(f"{value} is out of range")
    return value


def _optional_number(text: str | None) -> int | None:
    return _shown_number(text) if text else None


def first_error(form: FlaskForm) -> str:
    for errors in form.errors.values():
        if errors:
            return errors[0] if isinstance(errors[0], str) else "Please check the form."
    return "Please check the form."


def require_valid(form: FlaskForm) -> FlaskForm:
    """Validate a submitted form or raise InvalidInput with its first error."""
    if not form.validate_on_submit():
        raise InvalidInput(first_error(form))
    return form
