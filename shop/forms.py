"""Forms shared by several blueprints."""

from uuid import uuid4

from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, HiddenField, IntegerField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from shop.services.cart import FORM_EXPIRED, MAX_QUANTITY, Cart, ShownCart, ShownLine
from shop.services.errors import InvalidInput


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


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


class CheckoutForm(FlaskForm):
    """The "Place order" button: a key that makes a second submit harmless, and
    what the page showed, so that checkout charges nothing else."""

    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=64)])
    shown_lines = FieldList(FormField(ShownLineForm))
    shown_total_cents = HiddenField()

    @classmethod
    def showing(cls, cart: Cart) -> "CheckoutForm":
        """A new form for the cart page: a fresh key and the cart as the page shows it.

        Never filled from the request: re-rendered after a refused checkout it
        must carry today's prices, not the ones that were posted.
        """
        shown = cart.shown()
        return cls(
            formdata=None,
            idempotency_key=uuid4().hex,
            shown_lines=list(shown.lines),
            shown_total_cents=shown.total_cents,
        )

    def shown_cart(self) -> ShownCart:
        """What the page showed, read back; a value that is not a whole number is a broken form."""
        try:
            lines = tuple(
                ShownLine(
                    product_id=_shown_number(line.product_id.data),
                    quantity=_shown_number(line.quantity.data),
                    unit_price_cents=_shown_number(line.unit_price_cents.data),
                )
                for line in self.shown_lines
            )
            total = self.shown_total_cents.data
            return ShownCart(lines=lines, total_cents=_shown_number(total) if total else None)
        except (TypeError, ValueError):
            raise InvalidInput(FORM_EXPIRED) from None


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
