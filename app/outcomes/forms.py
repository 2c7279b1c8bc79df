"""The outcome scores form: one text box per parent and measure, built for the session's programme."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput, GovTextInput
from wtforms import StringField, SubmitField
from wtforms.validators import Length

from app.outcomes.services import OutcomeSheet, field_name


def _shown(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def outcome_form(sheet: OutcomeSheet, **kwargs) -> FlaskForm:
    """A form with a field per parent and measure (named e<enrolment id>_<measure>), filled with stored scores."""

    class OutcomeForm(FlaskForm):
        submit = SubmitField("Save scores", widget=GovSubmitInput())

    for row in sheet.rows:
        for m in sheet.measures:
            setattr(OutcomeForm, field_name(row.enrolment.id, m.key), StringField(
                m.name, widget=GovTextInput(), validators=[Length(max=20)],
                description=f"{_shown(m.min)} to {_shown(m.max)}; leave blank if not done",
                default=_shown(row.scores[m.key])))
    return OutcomeForm(**kwargs)
