import re
from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from shop.forms import whole_number
from shop.services.catalog import MAX_STOCK, ProductFields
from shop.services.photos import MAX_ALT, Upload
from shop.services.shipping import MAX_DAYS, ShippingFields


class VersionField(IntegerField):
    """The version of the order or product the form was rendered from (hidden): the
    service refuses the change (409) when it is no longer the current one. Left out
    (a script posting the form), the change is not checked."""

    def __init__(self, *args, **kwargs):
        super().__init__(
            *args, widget=HiddenInput(), validators=[Optional(), NumberRange(1, 2**31 - 1)], **kwargs
        )

    def show(self, version: int) -> None:
        """Render ``version``, whatever was posted: the page shows that version now."""
        self.data = version
        self.raw_data = [str(version)]


class StatusForm(FlaskForm):
    # Choices show the allowed next statuses; the service is what refuses the rest (409).
    status = SelectField("New status", choices=[], validate_choice=False, validators=[DataRequired()])
    note = StringField("Note for the customer", validators=[Optional(), Length(max=500)])
    # Shown for an order to be paid first that is not paid: the explicit confirmation.
    ship_unpaid = BooleanField("Ship it although it is not paid")
    version = VersionField()


class PaymentForm(FlaskForm):
    """Fields named ``payment-status`` and ``payment-note``: beside the status form on one page."""

    # Choices show the allowed next payment statuses; the service refuses the rest (409).
    status = SelectField("Payment status", choices=[], validate_choice=False, validators=[DataRequired()])
    note = StringField("Note about the payment", validators=[Optional(), Length(max=500)])
    version = VersionField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="payment", **kwargs)


class StockForm(FlaskForm):
    stock = IntegerField("Stock", validators=[InputRequired("Enter the stock."), NumberRange(0, MAX_STOCK)])
    version = VersionField()


PLAIN_PRICE = re.compile(r"[0-9]{1,6}(\.[0-9]{1,2})?")


class PriceField(DecimalField):
    """A price as people write it on a label: ASCII digits and at most two decimals.

    Python's Decimal would also take ``1_000``, ``1e3``, ``NaN`` and full-width
    digits, and round ``0.005`` to nothing: each of those is refused instead.
    """

    def process_formdata(self, valuelist):
        if valuelist and not PLAIN_PRICE.fullmatch(valuelist[0].strip()):
            self.data = None
            raise ValueError("Enter the price in euros, like 12.50 (at most two decimals).")
        super().process_formdata([valuelist[0].strip()] if valuelist else valuelist)


class ProductForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    price = PriceField(
        "Price", places=2, validators=[InputRequired(), NumberRange(Decimal("0"), Decimal("100000"))]
    )
    stock = IntegerField("Stock", default=0, validators=[InputRequired(), NumberRange(0, MAX_STOCK)])
    low_stock_threshold = IntegerField(
        "Low-stock warning at", default=5, validators=[InputRequired(), NumberRange(0, 10_000)]
    )
    active = BooleanField("On sale", default=True)
    # Choices: every category (set by the route); an id that names none is ignored by the service.
    categories = SelectMultipleField(
        "Categories",
        coerce=whole_number,
        choices=[],
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    version = VersionField()

    def fields(self) -> ProductFields:
        return ProductFields(
            name=self.name.data.strip(),
            description=(self.description.data or "").strip(),
            price_cents=_cents(self.price.data),
            low_stock_threshold=self.low_stock_threshold.data,
            active=self.active.data,
            category_ids=tuple(self.categories.data or ()),
        )


class PhotoUploadForm(FlaskForm):
    photos = MultipleFileField("Add photos (JPEG, PNG or WebP)")
    alt = StringField(
        "Alt text for them (what the photo shows; empty: the product's name)",
        validators=[Optional(), Length(max=MAX_ALT)],
    )

    def uploads(self) -> list[Upload]:
        """The files chosen (a browser sends one empty part when none is)."""
        chosen = [f for f in self.photos.data or [] if isinstance(f, FileStorage) and f.filename]
        return [Upload(f.filename, f.read()) for f in chosen]


class PhotoForm(FlaskForm):
    """One photo's alt text, and which button was pressed (``move``: main, up, down)."""

    alt = StringField("Alt text", validators=[Optional(), Length(max=MAX_ALT)])


class CategoryForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=60)])


class OptionalPriceField(PriceField):
    """A PriceField that may be left empty (None)."""

    def process_formdata(self, valuelist):
        if valuelist and not valuelist[0].strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class ShippingMethodForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=30)])
    name = StringField("Name", validators=[DataRequired(), Length(max=60)])
    price = PriceField(
        "Price", places=2, validators=[InputRequired(), NumberRange(Decimal("0"), Decimal("100000"))]
    )
    free_from = OptionalPriceField(
        "Free when the items come to (empty: never free)",
        places=2,
        validators=[Optional(), NumberRange(Decimal("0"), Decimal("100000"))],
    )
    min_days = IntegerField("Fewest working days", validators=[InputRequired(), NumberRange(0, MAX_DAYS)])
    max_days = IntegerField("Most working days", validators=[InputRequired(), NumberRange(0, MAX_DAYS)])
    position = IntegerField("Order in the list", default=0, validators=[InputRequired(), NumberRange(0, 999)])
    active = BooleanField("Offered at checkout", default=True)

    def fields(self) -> ShippingFields:
        return ShippingFields(
            code=self.code.data.strip(),
            name=self.name.data.strip(),
            price_cents=_cents(self.price.data),
            free_from_cents=_cents(self.free_from.data) if self.free_from.data is not None else None,
            min_days=self.min_days.data,
            max_days=self.max_days.data,
            active=self.active.data,
            position=self.position.data,
        )


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())
