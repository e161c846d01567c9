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


class PriceField(DecimalField):
    """A DecimalField that refuses NaN and infinities, which the range check
    cannot compare (a signalling NaN would raise there)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))


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
