"""Forms of the register page (they work without JavaScript; the page's script queues marks offline)."""
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxInput, GovSubmitInput, GovTextArea, GovTextInput
from wtforms import BooleanField, HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.attendance.services import COLLECTED_BY_MAX, NOTE_MAX


class MarkForm(FlaskForm):
    """One parent's row: a status button, or the late toggle (values checked by the service)."""

    status = HiddenField(validators=[Optional()])
    late = HiddenField(validators=[Optional()])


class CollectForm(FlaskForm):
    """Crèche sign-out: who collected the child."""

    collected_by = StringField("Collected by", widget=GovTextInput(),
                               validators=[DataRequired("Enter who collected the child"),
                                           Length(max=COLLECTED_BY_MAX, message=f"Use {COLLECTED_BY_MAX} characters "
                                                                                 "or fewer")])


class NoteForm(FlaskForm):
    """The facilitators' note about the session (staff only)."""

    body = TextAreaField("Session note", widget=GovTextArea(),
                         description="Seen by staff only. Keep it short and factual.",
                         validators=[Length(max=NOTE_MAX, message=f"The note must be {NOTE_MAX} characters or fewer")])
    submit = SubmitField("Save note", widget=GovSubmitInput())


class CloseForm(FlaskForm):
    """Confirming the register after the session."""

    confirm = BooleanField("I have marked everyone who came", widget=GovCheckboxInput(),
                           validators=[DataRequired("Confirm that you have marked everyone who came")])
    submit = SubmitField("Close the register", widget=GovSubmitInput())
