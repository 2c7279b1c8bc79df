"""Parents and their children: GET|POST /api/v1/parents, GET|PATCH /api/v1/parents/{id}.

A parent whose mobile, or name and a child's date of birth, matches someone already
recorded is refused with 409 ``{"error": {"code": "duplicate", "message", "fields",
"matches": [{"id", "reason"}]}}``; send ``"allow_duplicate": true`` to record them anyway.
"""
from __future__ import annotations

import marshmallow as ma
from flask import jsonify
from flask_login import current_user
from flask_smorest import Blueprint

from app.api.core import BaseSchema, LondonDateTime, StrictBoolean, StrictInteger
from app.auth.permissions import requires
from app.extensions import db
from app.parents.choices import DEMOGRAPHIC_FIELDS, LANGUAGES, values
from app.parents.services import (DuplicateParent, create_parent, get_parent, search_parents, unasked_questions,
                                  update_parent)
from app.timeutil import now

blp = Blueprint("parents_api", __name__, url_prefix="/api/v1/parents", description="Parents, carers and children")


def _one_of(choices, what: str):
    return ma.validate.OneOf(values(choices), error=f"Choose one of the {what} values: {{choices}}.")


class ChildInSchema(BaseSchema):
    id = StrictInteger(metadata={"description": "an existing child: of this family, or of another carer's family "
                                                "(to record a second carer)"})
    first_name = ma.fields.String(validate=ma.validate.Length(max=80))
    date_of_birth = ma.fields.Date(allow_none=True)
    due_date = ma.fields.Date(allow_none=True, metadata={"description": "for a baby not born yet, at most 10 months "
                                                                        "away"})


def _demographic_fields() -> dict:
    return {name: ma.fields.String(validate=_one_of(choices, name),
                                   metadata={"description": "\"not_asked\" and \"prefer_not_to_say\" are different "
                                                            "answers"})
            for name, choices in DEMOGRAPHIC_FIELDS.items()}


def _parent_fields(required: bool) -> dict:
    return {
        "first_name": ma.fields.String(required=required, validate=ma.validate.Length(max=80)),
        "last_name": ma.fields.String(required=required, validate=ma.validate.Length(max=80)),
        "mobile": ma.fields.String(allow_none=True, metadata={
            "description": "a mobile number: UK (07400 123456) or from abroad with + and the country code; "
                           "stored as E.164; landlines are refused"}),
        "email": ma.fields.String(allow_none=True),
        "postcode": ma.fields.String(allow_none=True, metadata={"description": "UK postcode, stored as \"SW9 7QD\""}),
        "address": ma.fields.String(allow_none=True),
        "language": ma.fields.String(validate=_one_of(LANGUAGES, "language")),
        "interpreter_needed": StrictBoolean(),
        "sms_consent": StrictBoolean(),
        **_demographic_fields(),
        "worker_id": StrictInteger(allow_none=True),
        "centre_id": StrictInteger(allow_none=True),
        "children": ma.fields.List(ma.fields.Nested(ChildInSchema), metadata={
            "description": "on PATCH, the whole list: children left out are no longer linked to this parent"}),
        "allow_duplicate": StrictBoolean(load_default=False, metadata={
            "description": "record the parent even if they look like someone already recorded"}),
    }


ParentInSchema = BaseSchema.from_dict(_parent_fields(True), name="ParentIn")
ParentPatchSchema = BaseSchema.from_dict(_parent_fields(False), name="ParentPatch")


class ChildSchema(ma.Schema):
    id = ma.fields.Integer()
    first_name = ma.fields.String()
    date_of_birth = ma.fields.Date(allow_none=True)
    due_date = ma.fields.Date(allow_none=True)


class EnrolmentBriefSchema(ma.Schema):
    id = ma.fields.Integer()
    cohort_id = ma.fields.Integer()
    status = ma.fields.String()


class ParentSchema(ma.Schema):
    id = ma.fields.Integer()
    first_name = ma.fields.String()
    last_name = ma.fields.String()
    mobile = ma.fields.String(allow_none=True)
    mobile_problem = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    postcode = ma.fields.String()
    address = ma.fields.String()
    language = ma.fields.String()
    interpreter_needed = ma.fields.Boolean()
    sms_consent = ma.fields.Boolean()
    sms_consent_at = LondonDateTime(allow_none=True)
    sms_consent_by_id = ma.fields.Integer(allow_none=True)
    sms_opted_out_at = LondonDateTime(allow_none=True)
    ethnicity = ma.fields.String()
    relationship_status = ma.fields.String()
    gender = ma.fields.String()
    age_band = ma.fields.String()
    first_time_parent = ma.fields.String()
    not_asked = ma.fields.Function(unasked_questions, metadata={"description": "demographic questions not asked yet"})
    worker_id = ma.fields.Integer(allow_none=True)
    centre_id = ma.fields.Integer(allow_none=True)
    children = ma.fields.List(ma.fields.Nested(ChildSchema))
    enrolments = ma.fields.Method("enrolments_of")
    created_at = LondonDateTime()
    updated_at = LondonDateTime()

    def enrolments_of(self, parent):
        import sqlalchemy as sa

        from app.enrolment.models import Enrolment

        rows = db.session.scalars(sa.select(Enrolment).where(Enrolment.parent_id == parent.id).order_by(Enrolment.id))
        return EnrolmentBriefSchema(many=True).dump(rows)


class ParentListSchema(ma.Schema):
    parents = ma.fields.List(ma.fields.Nested(ParentSchema))


class ParentQuerySchema(BaseSchema):
    q = ma.fields.String(load_default="", metadata={"description": "part of a name, mobile or postcode"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(1, 500))


def duplicate_response(exc: DuplicateParent):
    """409 with the matching parents' ids, so a client can offer to use the existing record."""
    response = jsonify({"error": {"code": exc.code, "message": exc.message, "fields": exc.fields,
                                  "matches": [{"id": m.parent.id, "reason": m.reason} for m in exc.matches]}})
    response.status_code = 409
    return response


@blp.route("", methods=["GET"])
@requires("parents.view")
@blp.arguments(ParentQuerySchema, location="query")
@blp.response(200, ParentListSchema)
def list_parents(args):
    """The families this user may see (coordinators: all; workers: their centres' and their own)."""
    return {"parents": search_parents(db.session, current_user, args["q"], limit=args["limit"])}


@blp.route("", methods=["POST"])
@requires("parents.manage")
@blp.arguments(ParentInSchema)
@blp.response(201, ParentSchema)
@blp.alt_response(409, description="The parent looks like one already recorded (see matches)")
def create(data):
    """Record a parent or carer and their children."""
    allow = data.pop("allow_duplicate", False)
    try:
        parent = create_parent(db.session, data, now=now(), actor=current_user, allow_duplicate=allow)
    except DuplicateParent as exc:
        db.session.rollback()
        return duplicate_response(exc)
    db.session.commit()
    return parent


@blp.route("/<int:parent_id>", methods=["GET"])
@requires("parents.view")
@blp.response(200, ParentSchema)
def get(parent_id):
    """One family."""
    return get_parent(db.session, parent_id, current_user)


@blp.route("/<int:parent_id>", methods=["PATCH"])
@requires("parents.manage")
@blp.arguments(ParentPatchSchema)
@blp.response(200, ParentSchema)
@blp.alt_response(409, description="The change makes the parent look like someone already recorded")
def update(data, parent_id):
    """Change a family's details; a `children` list replaces the list of children."""
    parent = get_parent(db.session, parent_id, current_user)
    allow = data.pop("allow_duplicate", False)
    try:
        update_parent(db.session, parent, data, now=now(), actor=current_user, allow_duplicate=allow)
    except DuplicateParent as exc:
        db.session.rollback()
        return duplicate_response(exc)
    db.session.commit()
    return parent
