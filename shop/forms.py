"""Forms shared by several blueprints."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from shop.services.cart import MAX_QUANTITY
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


class CheckoutForm(FlaskForm):
    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=64)])


MAX_PAGE = 100_000
MAX_INT = 2**31 - 1  # the largest value a database INTEGER column holds everywhere


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
