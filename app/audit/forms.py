"""The erasure confirmation form."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput, GovSubmitInput, GovTextArea
from wtforms import BooleanField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class EraseForm(FlaskForm):
    """Why the record is erased, and a confirmation."""

    reason = TextAreaField(
        "Why is this record being erased?",
        description="For example: the parent asked by phone on 3 May. Do not write personal details here.",
        widget=GovTextArea(),
        validators=[DataRequired("Say why the record is being erased"),
                    Length(max=300, message="Keep the reason to 300 characters or fewer")])
    confirm = BooleanField("I understand this cannot be undone", widget=GovCheckboxInput(),
                           validators=[DataRequired("Confirm that you understand this cannot be undone")])
    submit = SubmitField("Erase personal data", widget=GovSubmitInput())
