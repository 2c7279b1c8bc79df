"""Enrolments: POST /api/v1/cohorts/{id}/enrolments, GET|PATCH /api/v1/enrolments/{id}.

Eligibility: a family that fails the check (postcode outside the eligible wards, no child of
the right age on the cohort's dates) is refused with 422 naming ``eligibility`` (its messages
are the reasons), unless a coordinator sends ``eligibility_override_reason``. While no ward has
been imported the postcode is not checked (the response's ``eligibility.notes`` says so).
"""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_login import current_user
from flask_smorest import Blueprint

from app.api.core import BaseSchema, LondonDateTime, StrictInteger
from app.auth.permissions import requires
from app.cohorts.models import Cohort
from app.eligibility.services import check_eligibility
from app.enrolment.models import CrecheBooking, Enrolment
from app.enrolment.services import enrol, get_enrolment, get_open_cohort, transfer, withdraw
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.parents.choices import REFERRAL_SOURCES, values
from app.parents.services import get_parent
from app.timeutil import now

blp = Blueprint("enrolment_api", __name__, url_prefix="/api/v1", description="Enrolments of parents into cohorts")


class EnrolmentInSchema(BaseSchema):
    parent_id = StrictInteger(required=True)
    referral_source = ma.fields.String(required=True, validate=ma.validate.OneOf(
        values(REFERRAL_SOURCES), error="Choose one of the referral sources: {choices}."))
    creche_child_ids = ma.fields.List(StrictInteger(), load_default=list, metadata={
        "description": "children of the parent to book into the crèche for every session still to come"})
    eligibility_override_reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=300), metadata={
        "description": "coordinators only: enrol a family that fails the eligibility check, and why"})


class EnrolmentPatchSchema(BaseSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(["withdrawn"]), metadata={
        "description": "\"withdrawn\", with a reason"})
    reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=300))
    transfer_to_cohort_id = StrictInteger(metadata={"description": "move the parent to this later cohort"})
    eligibility_override_reason = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=300))
    version = StrictInteger(metadata={"description": "the version you last saw; a stale one is a 409"})

    @ma.validates_schema
    def one_change(self, data, **kwargs):
        if ("status" in data) == ("transfer_to_cohort_id" in data):
            raise ma.ValidationError("Send either status \"withdrawn\" with a reason, or transfer_to_cohort_id.",
                                     "status")
        if "status" in data and not (data.get("reason") or "").strip():
            raise ma.ValidationError("Enter the reason for the withdrawal.", "reason")


class EligibilitySchema(ma.Schema):
    eligible = ma.fields.Boolean()
    reasons = ma.fields.List(ma.fields.String())
    notes = ma.fields.List(ma.fields.String())
    ward = ma.fields.String(allow_none=True)


class BookingSchema(ma.Schema):
    id = ma.fields.Integer()
    session_id = ma.fields.Integer()
    child_id = ma.fields.Integer()
    status = ma.fields.String()
    waitlist_reason = ma.fields.String(allow_none=True)


class EnrolmentSchema(ma.Schema):
    id = ma.fields.Integer()
    parent_id = ma.fields.Integer()
    cohort_id = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "enrolled, waitlisted, withdrawn or transferred"})
    referral_source = ma.fields.String()
    enrolled_at = LondonDateTime(allow_none=True)
    waitlisted_at = LondonDateTime(allow_none=True)
    withdrawn_at = LondonDateTime(allow_none=True)
    withdrawal_reason = ma.fields.String(allow_none=True)
    transferred_to_id = ma.fields.Integer(allow_none=True)
    eligibility_override_reason = ma.fields.String(allow_none=True)
    eligibility_override_by_id = ma.fields.Integer(allow_none=True)
    eligibility = ma.fields.Method("eligibility_of")
    creche_bookings = ma.fields.Method("bookings_of")
    version = ma.fields.Integer()

    def eligibility_of(self, enrolment):
        result = getattr(enrolment, "_eligibility", None) or check_eligibility(
            db.session, enrolment.parent, enrolment.cohort, now=now())
        return EligibilitySchema().dump(result.as_dict())

    def bookings_of(self, enrolment):
        rows = db.session.scalars(sa.select(CrecheBooking).where(CrecheBooking.enrolment_id == enrolment.id)
                                  .order_by(CrecheBooking.session_id, CrecheBooking.child_id))
        return BookingSchema(many=True).dump(rows)


class EnrolmentChangeSchema(EnrolmentSchema):
    transferred_to = ma.fields.Method("new_enrolment")

    def new_enrolment(self, enrolment):
        if enrolment.transferred_to_id is None:
            return None
        return EnrolmentSchema().dump(db.session.get(Enrolment, enrolment.transferred_to_id))


def _parent(parent_id: int):
    try:
        return get_parent(db.session, parent_id, current_user)
    except NotFound:
        raise ValidationFailed("There is no such family, or it is not one of yours", "parent_id") from None


@blp.route("/cohorts/<int:cohort_id>/enrolments", methods=["POST"])
@requires("enrolments.manage")
@blp.arguments(EnrolmentInSchema)
@blp.response(201, EnrolmentSchema)
def create(data, cohort_id):
    """Enrol a parent: a place if one is free, otherwise the waiting list; crèche places for chosen children."""
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("There is no such cohort.", "cohort_id")
    parent = _parent(data["parent_id"])
    outcome = enrol(db.session, cohort, parent, referral_source=data["referral_source"],
                    creche_child_ids=data["creche_child_ids"], override_reason=data.get("eligibility_override_reason"),
                    now=now(), actor=current_user)
    db.session.commit()
    outcome.enrolment._eligibility = outcome.eligibility
    return outcome.enrolment


@blp.route("/enrolments/<int:enrolment_id>", methods=["GET"])
@requires("parents.view")
@blp.response(200, EnrolmentChangeSchema)
def get(enrolment_id):
    """One enrolment, with the family's eligibility for its cohort as of now."""
    return get_enrolment(db.session, enrolment_id, current_user)


@blp.route("/enrolments/<int:enrolment_id>", methods=["PATCH"])
@requires("enrolments.manage")
@blp.arguments(EnrolmentPatchSchema)
@blp.response(200, EnrolmentChangeSchema)
def update(data, enrolment_id):
    """Withdraw (with the parent's reason) or transfer to a later cohort; the history is kept."""
    enrolment = get_enrolment(db.session, enrolment_id, current_user)
    if "status" in data:
        withdraw(db.session, enrolment, reason=data.get("reason"), now=now(), actor=current_user,
                 version=data.get("version"))
    else:
        target = get_open_cohort(db.session, data["transfer_to_cohort_id"], "transfer_to_cohort_id")
        transfer(db.session, enrolment, target, now=now(), actor=current_user,
                 override_reason=data.get("eligibility_override_reason"), version=data.get("version"))
    db.session.commit()
    return enrolment
