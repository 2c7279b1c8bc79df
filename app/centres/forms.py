"""Forms for centres: details and rooms, and closure days."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovSubmitInput, GovTextArea, GovTextInput
from wtforms import DateField, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional


class WholeNumberField(IntegerField):
    """An integer field whose error says what to type."""

    def __init__(self, *args, message: str = "Enter a whole number, like 8", **kwargs):
        super().__init__(*args, **kwargs)
        self.message = message

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0].strip():
            try:
                self.data = int(valuelist[0].strip())
            except ValueError:
                self.data = None
                raise ValueError(self.message) from None
        else:
            self.data = None


class LocalDateField(DateField):
    """Day, month and year boxes; a date that does not exist gets a plain error."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", "%d %m %Y")
        kwargs.setdefault("widget", GovDateInput())
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist):
        if len(valuelist) not in (0, 3):
            # Not what our page sends: keep three boxes to re-render, and say what is wanted.
            self.raw_data = (list(valuelist) + ["", "", ""])[:3]
            self.data = None
            raise ValueError("Enter the day, month and year, for example 6 10 2026")
        if not valuelist or not any(v.strip() for v in valuelist):
            self.data = None
            return
        try:
            super().process_formdata([" ".join(v.strip() for v in valuelist)])
        except ValueError:
            raise ValueError("Enter a real date, for example 6 10 2026") from None


class CentreForm(FlaskForm):
    """A centre's details and rooms."""

    name = StringField("Name", widget=GovTextInput(),
                       validators=[DataRequired("Enter the centre's name"), Length(max=120)])
    address = TextAreaField("Address", widget=GovTextArea(), validators=[Optional(), Length(max=300)])
    postcode = StringField("Postcode", widget=GovTextInput(), validators=[Optional(), Length(max=12)])
    ward = StringField("Ward", widget=GovTextInput(), validators=[Optional(), Length(max=80)])
    creche_capacity = WholeNumberField(
        "Crèche places", widget=GovTextInput(), default=0,
        validators=[InputRequired("Enter the number of crèche places (0 if there is no crèche)"),
                    NumberRange(min=0, max=100, message="Enter a number from 0 to 100")],
        description="The most children the crèche can hold at once, whatever the staffing.",
        message="Enter the number of crèche places as a whole number, like 12")
    rooms = TextAreaField("Rooms", widget=GovTextArea(),
                          validators=[DataRequired("Enter at least one room"), Length(max=2000)],
                          description="One room per line, for example Main hall.")
    submit = SubmitField("Save centre", widget=GovSubmitInput())

    def room_names(self) -> list[str]:
        return [line.strip() for line in (self.rooms.data or "").splitlines() if line.strip()]


class ClosureForm(FlaskForm):
    """A day the centre is shut."""

    closure_date = LocalDateField("Date the centre is closed", validators=[InputRequired("Enter the date")],
                                  description="For example, 24 12 2026")
    reason = StringField("Reason (optional)", widget=GovTextInput(), validators=[Optional(), Length(max=200)],
                         description="For example, Christmas closure or staff training.")
    submit = SubmitField("Add closure day", widget=GovSubmitInput())
