"""The report filter: a period, a programme and a centre (a GET form, so links can be shared)."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSelect, GovSubmitInput, GovTextInput
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length

from app.centres.models import Centre
from app.errors import ValidationFailed
from app.reports.services import ReportFilter, validate_filter
from programmes import registry


def default_period(today: date) -> tuple[date, date]:
    """The financial year so far (1 April to today): what the funder's returns cover."""
    start_year = today.year if today.month >= 4 else today.year - 1
    return date(start_year, 4, 1), today


def parse_date(text: str | None) -> date | None:
    """An ISO date (2026-09-01) or None when blank; ValueError when not a real date."""
    text = (text or "").strip()
    if not text:
        return None
    return date.fromisoformat(text)


class ReportFilterForm(FlaskForm):
    """Which period, programme and centre the reports cover."""

    class Meta:
        csrf = False  # a GET form that changes nothing

    start = StringField("From", widget=GovTextInput(), validators=[Length(max=20)],
                        description="The first day, for example 2026-04-01")
    end = StringField("To", widget=GovTextInput(), validators=[Length(max=20)],
                      description="The last day, for example 2027-03-31")
    programme = SelectField("Programme", widget=GovSelect(), validate_choice=False)
    centre = SelectField("Centre", widget=GovSelect(), validate_choice=False)
    submit = SubmitField("Show figures", widget=GovSubmitInput())

    def __init__(self, session, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.programme.choices = [("", "All programmes")] + sorted(
            ((p.key, p.name) for p in registry().values()), key=lambda c: c[1])
        self.centre.choices = [("", "All centres")] + [
            (str(cid), name) for cid, name in session.execute(sa.select(Centre.id, Centre.name).order_by(Centre.name))]
        self._session = session

    def to_filter(self, today: date) -> ReportFilter | None:
        """The filter the form describes, or None with the errors set beside the fields."""
        self.validate()
        default_start, default_end = default_period(today)
        values: dict = {}
        for name, default in (("start", default_start), ("end", default_end)):
            field = getattr(self, name)
            try:
                values[name] = parse_date(field.data) or default
            except ValueError:
                field.errors = list(field.errors) + ["Enter a real date in the form YYYY-MM-DD, for example 2026-09-01"]
        centre_id = None
        if self.centre.data:
            try:
                centre_id = int(self.centre.data)
            except (TypeError, ValueError):
                self.centre.errors = list(self.centre.errors) + ["Choose a centre from the list"]
        already = {n for n in ("start", "end", "programme", "centre") if getattr(self, n).errors}
        start, end = values.get("start", default_start), values.get("end", default_end)
        if "start" in already or "end" in already:
            start = end = values.get("start") or values.get("end") or default_end  # only check the good one
        try:
            result = validate_filter(self._session, start=start, end=end, programme=self.programme.data or None,
                                     centre_id=centre_id)
        except ValidationFailed as exc:
            for name, messages in exc.fields.items():
                if name not in already:  # one message per field: the first problem found
                    field = getattr(self, name)
                    field.errors = list(field.errors) + messages
            return None
        return None if already else result
