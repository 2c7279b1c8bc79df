"""Forms for cohorts: create, change places and room, move or cancel a session, cancel a cohort."""
from __future__ import annotations

import re
from datetime import time

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput, GovSelect, GovSubmitInput, GovTextArea, GovTextInput,
)
from wtforms import BooleanField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.centres.forms import LocalDateField, WholeNumberField

_TIME = re.compile(r"^\s*(\d{1,2})[:.]?(\d{2})\s*$")


def parse_time(text: str | None) -> time | None:
    """'10:00', '9.30' or '1330' as a time; None if it is not one."""
    match = _TIME.match(text or "")
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


class TimeField(StringField):
    """A 24-hour clock time typed as text; .time holds the parsed value."""

    def post_validate(self, form, validation_stopped):
        self.time = None
        if self.data and not self.errors:
            self.time = parse_time(self.data)
            if self.time is None:
                self.errors.append("Enter a time on the 24-hour clock, like 10:00 or 13:30")


class CohortForm(FlaskForm):
    """A new cohort."""

    programme = SelectField("Programme", widget=GovSelect(), validators=[DataRequired("Choose a programme")])
    room_id = SelectField("Centre and room", widget=GovSelect(), validators=[DataRequired("Choose a centre and room")])
    start_date = LocalDateField("Date of the first session", validators=[InputRequired("Enter the date of the first session")],
                                description="For example, 6 10 2026. Later sessions are weekly; bank holidays and "
                                            "the centre's closure days are skipped.")
    start_time = TimeField("Start time", widget=GovTextInput(),
                           validators=[DataRequired("Enter the start time, like 10:00")],
                           description="London time, 24-hour clock, for example 10:00")
    duration_minutes = WholeNumberField("Length in minutes (optional)", widget=GovTextInput(),
                                        validators=[Optional(), NumberRange(min=15, max=480,
                                                                            message="Enter 15 to 480 minutes")],
                                        description="Leave empty for the programme's usual length.")
    capacity = WholeNumberField("Family places (optional)", widget=GovTextInput(),
                                validators=[Optional(), NumberRange(min=1, max=100, message="Enter 1 to 100 places")],
                                description="Leave empty for the programme's usual group size.")
    submit = SubmitField("Create cohort", widget=GovSubmitInput())


class CohortEditForm(FlaskForm):
    """Change a cohort's places and room."""

    capacity = WholeNumberField("Family places", widget=GovTextInput(),
                                validators=[InputRequired("Enter the number of family places"),
                                            NumberRange(min=1, max=100, message="Enter 1 to 100 places")],
                                description="More places give the first families on the waiting list a place.")
    room_id = SelectField("Room", widget=GovSelect(), validators=[DataRequired("Choose a room")],
                          description="Sessions still to come move to this room.")
    submit = SubmitField("Save changes", widget=GovSubmitInput())


class MoveSessionForm(FlaskForm):
    """Move one session."""

    new_date = LocalDateField("New date", validators=[InputRequired("Enter the new date")])
    new_time = TimeField("New start time", widget=GovTextInput(),
                         validators=[DataRequired("Enter the new start time, like 10:00")],
                         description="London time, 24-hour clock")
    room_id = SelectField("Room", widget=GovSelect(), validators=[DataRequired("Choose a room")])
    submit = SubmitField("Move session", widget=GovSubmitInput())


class CancelSessionForm(FlaskForm):
    """Cancel one session."""

    reason = TextAreaField("Why is the session cancelled?", widget=GovTextArea(),
                           validators=[DataRequired("Enter a reason"), Length(max=300)],
                           description="Parents and staff are told the session is cancelled.")
    add_catch_up = BooleanField("Add a catch-up session a week after the last one", widget=GovCheckboxInput())
    submit = SubmitField("Cancel session", widget=GovSubmitInput())


class CancelCohortForm(FlaskForm):
    """Cancel a whole cohort."""

    reason = TextAreaField("Why is the cohort cancelled?", widget=GovTextArea(),
                           validators=[DataRequired("Enter a reason"), Length(max=300)],
                           description="Every session still to come is cancelled; parents and staff are told.")
    submit = SubmitField("Cancel cohort", widget=GovSubmitInput())


class CohortFilterForm(FlaskForm):
    """Filters for the cohort list (a GET form)."""

    class Meta:
        csrf = False

    programme = SelectField("Programme", widget=GovSelect(), validators=[Optional()])
    centre_id = SelectField("Centre", widget=GovSelect(), validators=[Optional()])
    term = SelectField("Term", widget=GovSelect(), validators=[Optional()])
    submit = SubmitField("Filter", widget=GovSubmitInput())
