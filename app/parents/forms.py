"""The family form: parent, children (two rows to start, more on request) and the funder's questions."""
from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (GovCheckboxInput, GovDateInput, GovSelect, GovSubmitInput,
                                                GovTextArea, GovTextInput)
from wtforms import BooleanField, Field, FieldList, Form, FormField, HiddenField, SelectField, StringField, SubmitField
from wtforms.validators import Length

from app.parents.choices import DEMOGRAPHIC_FIELDS, LANGUAGES

DEMOGRAPHIC_QUESTIONS = {
    "ethnicity": "Ethnic group",
    "relationship_status": "Relationship status",
    "gender": "Gender",
    "age_band": "Age",
    "first_time_parent": "Is this their first child?",
}


class GovDateField(Field):
    """A date typed as day, month and year boxes; every box is kept as typed when it is not a date."""

    widget = GovDateInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, **kwargs)

    def _value(self):
        return ""

    def process_formdata(self, valuelist):
        if not valuelist:
            self.raw_data = ["", "", ""]
            self.data = None
            return
        parts = [v.strip() for v in valuelist[:3]] + [""] * (3 - len(valuelist[:3]))
        self.raw_data = parts
        self.data = None
        if not any(parts):
            return
        if not all(parts):
            missing = [name for name, v in zip(("day", "month", "year"), parts) if not v]
            raise ValueError(f"{self.label.text} must include a {' and '.join(missing)}")
        try:
            day, month, year = (int(p) for p in parts)
            if year < 1000:
                raise ValueError
            self.data = date(year, month, day)
        except ValueError:
            raise ValueError(f"{self.label.text} must be a real date, like 27 3 2025") from None

    def process_data(self, value):
        self.data = value
        self.raw_data = [str(value.day), str(value.month), str(value.year)] if value else None


class ChildForm(Form):
    """One child row: name, then a date of birth or (for a pregnancy) a due date."""

    child_id = HiddenField()
    first_name = StringField("Child's first name", widget=GovTextInput(), validators=[Length(max=80)],
                             description="Leave blank for a baby not yet named")
    date_of_birth = GovDateField("Date of birth", description="For example, 27 3 2025")
    due_date = GovDateField("Or, if the baby is not born yet, the due date")
    remove = BooleanField("Remove this child from the family", widget=GovCheckboxInput())

    def is_blank(self) -> bool:
        return not (self.child_id.data or (self.first_name.data or "").strip()
                    or any(self.date_of_birth.raw_data or []) or any(self.due_date.raw_data or []))


class ParentForm(FlaskForm):
    """A parent or carer and their children."""

    first_name = StringField("First name", widget=GovTextInput(), validators=[Length(max=80)])
    last_name = StringField("Last name", widget=GovTextInput(), validators=[Length(max=80)])
    mobile = StringField("Mobile number", widget=GovTextInput(),
                         description="For reminders by text message. A UK mobile like 07400 123456, or from abroad "
                                     "with + and the country code")
    sms_consent = BooleanField("The parent agrees to get text messages about the group", widget=GovCheckboxInput())
    postcode = StringField("Postcode", widget=GovTextInput(), description="Used to check the family lives in an "
                                                                          "area the service covers")
    address = StringField("Address", widget=GovTextArea(), validators=[Length(max=300)])
    email = StringField("Email address (optional)", widget=GovTextInput(), validators=[Length(max=254)])
    language = SelectField("Preferred language", widget=GovSelect(), choices=LANGUAGES, default="en")
    interpreter_needed = BooleanField("They need an interpreter", widget=GovCheckboxInput())
    centre_id = SelectField("Children's centre", widget=GovSelect(), choices=[], validate_choice=False)
    worker_id = SelectField("Better Start worker", widget=GovSelect(), choices=[], validate_choice=False)
    ethnicity = SelectField(DEMOGRAPHIC_QUESTIONS["ethnicity"], widget=GovSelect(),
                            choices=DEMOGRAPHIC_FIELDS["ethnicity"], default="not_asked")
    relationship_status = SelectField(DEMOGRAPHIC_QUESTIONS["relationship_status"], widget=GovSelect(),
                                      choices=DEMOGRAPHIC_FIELDS["relationship_status"], default="not_asked")
    gender = SelectField(DEMOGRAPHIC_QUESTIONS["gender"], widget=GovSelect(), choices=DEMOGRAPHIC_FIELDS["gender"],
                         default="not_asked")
    age_band = SelectField(DEMOGRAPHIC_QUESTIONS["age_band"], widget=GovSelect(),
                           choices=DEMOGRAPHIC_FIELDS["age_band"], default="not_asked")
    first_time_parent = SelectField(DEMOGRAPHIC_QUESTIONS["first_time_parent"], widget=GovSelect(),
                                    choices=DEMOGRAPHIC_FIELDS["first_time_parent"], default="not_asked")
    children = FieldList(FormField(ChildForm), min_entries=2, max_entries=12)
    add_child = SubmitField("Add another child", widget=GovSubmitInput())
    not_duplicate = BooleanField("This is a different person: save a new record", widget=GovCheckboxInput())
    save_and_enrol = SubmitField("Save and enrol in a group", widget=GovSubmitInput())
    save = SubmitField("Save", widget=GovSubmitInput())

    def parent_data(self) -> dict:
        """The parent's fields as the service takes them."""
        data = {name: getattr(self, name).data for name in (
            "first_name", "last_name", "mobile", "postcode", "address", "email", "language", "interpreter_needed",
            "sms_consent", *DEMOGRAPHIC_FIELDS)}
        for name in ("centre_id", "worker_id"):
            value = getattr(self, name).data
            data[name] = int(value) if value and str(value).isdigit() else None
        return data

    def children_data(self) -> tuple[list[dict], list[int]]:
        """Children as the service takes them, and the form row each came from (blank rows left out)."""
        out, rows = [], []
        for index, entry in enumerate(self.children):
            child = entry.form
            if child.is_blank() or child.remove.data:
                continue
            spec = {"first_name": child.first_name.data or "", "date_of_birth": child.date_of_birth.data,
                    "due_date": child.due_date.data}
            if child.child_id.data and child.child_id.data.isdigit():
                spec["id"] = int(child.child_id.data)
            out.append(spec)
            rows.append(index)
        return out, rows
