"""Forms for the rota pages: a date range, putting someone on a session, swapping them."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovSelect, GovSubmitInput, GovTextArea
from wtforms import RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.rota.services import MAX_REASON
from app.staff.forms import DayMonthYearField

ROLE_CHOICES = [("facilitator", "Facilitator"), ("creche", "Crèche worker")]
FORCE_HINT = ("Only if you must break a rule (for example, cover agreed by phone). "
              "Say why; it is kept with the assignment.")


class TermForm(FlaskForm):
    """The dates a rota page shows (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    start_date = DayMonthYearField("From", validators=[InputRequired("Enter the first date, for example 7 9 2026")],
                           description="For example, 7 9 2026")
    end_date = DayMonthYearField("To", validators=[InputRequired("Enter the last date, for example 18 12 2026")])
    submit = SubmitField("Show rota", widget=GovSubmitInput())

    def validate_end_date(self, field):
        if self.start_date.data and field.data and field.data < self.start_date.data:
            raise ValueError("The last date must be on or after the first date")
        if self.start_date.data and field.data and (field.data - self.start_date.data).days > 400:
            raise ValueError("Choose at most about a year at a time")


class AssignForm(FlaskForm):
    """Put a member of staff on a session."""

    user_id = SelectField("Member of staff", widget=GovSelect(), validators=[DataRequired("Choose a member of staff")])
    role = RadioField("Role", choices=ROLE_CHOICES, default="facilitator", widget=GovRadioInput(),
                      validators=[InputRequired("Choose a role")])
    force_reason = TextAreaField("Reason to override the rota rules (admins only)", widget=GovTextArea(),
                                 validators=[Optional(), Length(max=MAX_REASON)], description=FORCE_HINT)
    submit = SubmitField("Add to session", widget=GovSubmitInput())


class SwapForm(FlaskForm):
    """Swap the person in a place for another."""

    user_id = SelectField("Swap in", widget=GovSelect(), validators=[DataRequired("Choose a member of staff")])
    force_reason = TextAreaField("Reason to override the rota rules (admins only)", widget=GovTextArea(),
                                 validators=[Optional(), Length(max=MAX_REASON)], description=FORCE_HINT)
    submit = SubmitField("Swap", widget=GovSubmitInput())
