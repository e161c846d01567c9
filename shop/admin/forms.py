import re
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import BooleanField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from shop.services.catalog import MAX_STOCK, ProductFields


class StatusForm(FlaskForm):
    # Choices show the allowed next statuses; the service is what refuses the rest (409).
    status = SelectField("New status", choices=[], validate_choice=False, validators=[DataRequired()])
    note = StringField("Note for the customer", validators=[Optional(), Length(max=500)])


class StockForm(FlaskForm):
    stock = IntegerField("Stock", validators=[InputRequired("Enter the stock."), NumberRange(0, MAX_STOCK)])


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

    def fields(self) -> ProductFields:
        return ProductFields(
            name=self.name.data.strip(),
            description=(self.description.data or "").strip(),
            price_cents=int((self.price.data * 100).to_integral_value()),
            low_stock_threshold=self.low_stock_threshold.data,
            active=self.active.data,
        )
