from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length


class SessionForm(FlaskForm):
    """A button naming one login session by its public id (never its token)."""

    session_id = HiddenField(validators=[DataRequired(), Length(max=32)])
