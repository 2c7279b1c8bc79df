"""Forms for the staff pages: the account, qualifications and centres, availability, leave."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (GovCheckboxesInput, GovCheckboxInput, GovDateInput, GovPasswordInput,
                                                GovSelect, GovSubmitInput, GovTextInput)
from wtforms import BooleanField, DateField, PasswordField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.staff.models import QUALIFICATION_LABELS
from app.staff.services import WEEKDAYS

ROLE_CHOICES = [("facilitator", "Facilitator"), ("worker", "Better Start / centre worker"),
                ("admin", "Coordinator (admin)"), ("commissioner", "Commissioner (reports only)")]
QUALIFICATION_CHOICES = list(QUALIFICATION_LABELS.items())


class DayMonthYearField(DateField):
    """A GOV.UK date (three boxes: day, month, year) with a plain message when it is not a real date."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("format", "%d %m %Y")
        kwargs.setdefault("widget", GovDateInput())
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        if valuelist and len(valuelist) != 3:
            # A crafted request with one or four parts: keep three for the widget, and refuse it.
            self.raw_data = (list(valuelist) + ["", "", ""])[:3]
            self.data = None
            raise ValueError(f"{self.label.text} must be a real date, for example 12 10 2026")
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(f"{self.label.text} must be a real date, for example 12 10 2026") from None


class StaffDetailsForm(FlaskForm):
    """Name, role, mobile, qualifications and centres (used to edit; NewStaffForm adds the account)."""

    full_name = StringField("Full name", widget=GovTextInput(),
                            validators=[DataRequired("Enter the person's name"), Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, widget=GovSelect(), validators=[DataRequired("Choose a role")])
    mobile = StringField("Mobile (for rota change texts)", widget=GovTextInput(),
                         validators=[Optional(), Length(max=20)], description="For example, 07700 900123")
    qualifications = SelectMultipleField("Qualifications", choices=QUALIFICATION_CHOICES, widget=GovCheckboxesInput(),
                                         validators=[Optional()])
    centres = SelectMultipleField("Centres they work at", coerce=int, widget=GovCheckboxesInput(),
                                  validators=[Optional()],
                                  description="Leave all unticked if they can work at any centre.")
    preferred = SelectMultipleField("Preferred centres", coerce=int, widget=GovCheckboxesInput(),
                                    validators=[Optional()],
                                    description="Auto-fill puts them here first, when everything else is equal.")
    is_enabled = BooleanField("Account switched on", widget=GovCheckboxInput(), default=True)
    submit = SubmitField("Save", widget=GovSubmitInput())


class NewStaffForm(StaffDetailsForm):
    """A new member of staff and their account."""

    email = StringField("Email address", widget=GovTextInput(),
                        validators=[DataRequired("Enter an email address"), Length(max=254)])
    password = PasswordField("First password", widget=GovPasswordInput(),
                             validators=[DataRequired("Enter a first password"), Length(max=200)],
                             description="At least 12 characters. They choose a new one when they first sign in.")
    submit = SubmitField("Add member of staff", widget=GovSubmitInput())


class AvailabilityForm(FlaskForm):
    """A weekly window when the person can work."""

    weekday = SelectField("Day", choices=[("", "Choose a day")] + [(str(i), d) for i, d in enumerate(WEEKDAYS)],
                          widget=GovSelect(), validators=[DataRequired("Choose a day")])
    start_time = StringField("From", widget=GovTextInput(), validators=[DataRequired("Enter a start time")],
                             description="For example, 09:00")
    end_time = StringField("Until", widget=GovTextInput(), validators=[DataRequired("Enter an end time")],
                           description="For example, 17:00")
    submit = SubmitField("Add availability", widget=GovSubmitInput())


class LeaveForm(FlaskForm):
    """Leave or a one-off absence."""

    start_date = DayMonthYearField("First day", validators=[InputRequired("Enter the first day of leave as day, month and year")],
                           description="For example, 12 10 2026")
    end_date = DayMonthYearField("Last day", validators=[InputRequired("Enter the last day of leave as day, month and year")])
    reason = StringField("Reason (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=200)],
                         description="Kept short: for example, annual leave or training.")
    submit = SubmitField("Add leave", widget=GovSubmitInput())
