"""Forms to enrol a parent, withdraw them (with their reason) and move them to a later group."""
from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCheckboxesInput, GovRadioInput, GovSubmitInput, GovTextArea
from wtforms import RadioField, SelectMultipleField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length

from app.parents.choices import REFERRAL_SOURCES

OVERRIDE_HINT = ("Coordinators only. If the family does not meet the eligibility rules, say why they should join "
                 "anyway. The reason is kept on the record.")


class EnrolForm(FlaskForm):
    """Choose a group, the children for the crèche and how the family was referred."""

    cohort_id = RadioField("Which group?", widget=GovRadioInput(), choices=[], validate_choice=False,
                           validators=[InputRequired("Choose a group")])
    creche_child_ids = SelectMultipleField("Crèche places", widget=GovCheckboxesInput(), choices=[], coerce=int,
                                           validate_choice=False,
                                           description="For groups with a crèche. Select the children who will "
                                                       "go to the crèche during sessions.")
    referral_source = RadioField("Who referred the family?", widget=GovRadioInput(), choices=REFERRAL_SOURCES,
                                 validate_choice=False,
                                 validators=[InputRequired("Choose who referred the family")])
    eligibility_override_reason = TextAreaField("Reason to enrol a family who is not eligible (optional)",
                                                widget=GovTextArea(), description=OVERRIDE_HINT,
                                                validators=[Length(max=300)])
    submit = SubmitField("Enrol", widget=GovSubmitInput())


class WithdrawForm(FlaskForm):
    """Withdrawal is the parent's decision: their reason is required."""

    reason = TextAreaField("Why is the parent withdrawing?", widget=GovTextArea(),
                           description="In the parent's words if you can, for example \"started a new job\".",
                           validators=[InputRequired("Enter the reason for the withdrawal"), Length(max=300)])
    submit = SubmitField("Withdraw from the group", widget=GovSubmitInput())


class TransferForm(FlaskForm):
    """Move a parent who cannot continue now to a later group; this enrolment stays as history."""

    cohort_id = RadioField("Which later group?", widget=GovRadioInput(), choices=[], validate_choice=False,
                           validators=[InputRequired("Choose the group to move to")])
    eligibility_override_reason = TextAreaField("Reason to move a family who is not eligible (optional)",
                                                widget=GovTextArea(), description=OVERRIDE_HINT,
                                                validators=[Length(max=300)])
    submit = SubmitField("Move to this group", widget=GovSubmitInput())
