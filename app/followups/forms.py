"""Recording what happened on a follow-up."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSubmitInput, GovTextArea
from wtforms import HiddenField, RadioField, SubmitField, TextAreaField
from wtforms.validators import Length, Optional

from app.followups.services import NOTE_MAX


class OutcomeForm(FlaskForm):
    """An outcome (choices set per kind of follow-up) and an optional note."""

    outcome = RadioField("What happened?", widget=GovRadioInput(), choices=[], validate_choice=False,
                         validators=[Optional()])
    note = TextAreaField("Note", widget=GovTextArea(), description="Optional. Staff only.",
                         validators=[Length(max=NOTE_MAX, message=f"The note must be {NOTE_MAX} characters or fewer")])
    version = HiddenField()
    submit = SubmitField("Save", widget=GovSubmitInput())
