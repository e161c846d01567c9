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
