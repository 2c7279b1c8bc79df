"""The template editor form."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextArea
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class WordingForm(FlaskForm):
    """One kind of message in one language; "Check" counts without saving."""

    body = TextAreaField("Wording", widget=GovTextArea(),
                       validators=[DataRequired("Enter the wording of the message"),
                                   Length(max=800, message="The wording must be 800 characters or fewer")])
    check = SubmitField("Check length and cost", widget=GovSubmitInput())
    save = SubmitField("Save wording", widget=GovSubmitInput())
