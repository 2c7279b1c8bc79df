"""Follow-ups over JSON: GET /api/v1/follow-ups, PATCH /api/v1/follow-ups/{id}.

Workers see the follow-ups assigned to them; coordinators (admins) see every follow-up,
including those with nobody assigned (the coordinators' list) and escalated ones.
"""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint

from app.api.core import BaseSchema, LondonDateTime, StrictInteger
from app.auth.permissions import requires
from app.extensions import db
from app.followups import services
from app.followups.models import FOLLOWUP_KINDS, OUTCOMES
from app.timeutil import now

blp = Blueprint("followups_api", __name__, url_prefix="/api/v1/follow-ups",
                description="Follow-ups: a worker's task to contact a parent (after a missed session, an SMS reply)")


class FollowUpQuerySchema(BaseSchema):
    status = ma.fields.String(load_default="open", validate=ma.validate.OneOf(("open", "done", "all")))
    view = ma.fields.String(load_default=None, validate=ma.validate.OneOf(services.VIEWS),
                            metadata={"description": "admins only: mine, coordinator (escalated or unassigned), "
                                                     "all, escalated, unassigned; workers always see their own"})
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf(FOLLOWUP_KINDS))


class FollowUpSchema(ma.Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    status = ma.fields.String()
    parent_id = ma.fields.Integer(allow_none=True)
    enrolment_id = ma.fields.Integer(allow_none=True)
    session_id = ma.fields.Integer(allow_none=True)
    inbound_message_id = ma.fields.Integer(allow_none=True)
    assigned_to_id = ma.fields.Integer(allow_none=True, metadata={"description": "empty: the coordinators' list"})
    due_date = ma.fields.Date()
    is_escalated = ma.fields.Boolean()
    summary = ma.fields.String()
    outcome = ma.fields.String(allow_none=True)
    outcome_note = ma.fields.String(allow_none=True)
    closed_at = LondonDateTime(allow_none=True)
    created_at = LondonDateTime()
    version = ma.fields.Integer()


class FollowUpListSchema(ma.Schema):
    follow_ups = ma.fields.List(ma.fields.Nested(FollowUpSchema))


class FollowUpPatchSchema(BaseSchema):
    outcome = ma.fields.String(validate=ma.validate.OneOf(OUTCOMES), metadata={
        "description": "no_answer keeps it open, due the next working day; any other outcome closes it"})
    note = ma.fields.String(validate=ma.validate.Length(max=services.NOTE_MAX))
    version = StrictInteger(metadata={"description": "send the version you read: a stale one is a 409"})

    @ma.validates_schema
    def outcome_or_note(self, data, **kwargs):
        if not data.get("outcome") and not (data.get("note") or "").strip():
            raise ma.ValidationError("Send an outcome, a note, or both.", "outcome")


@blp.route("", methods=["GET"])
@requires("followups.view")
@blp.arguments(FollowUpQuerySchema, location="query")
@blp.response(200, FollowUpListSchema)
def list_followups(args):
    """Follow-ups the caller may see, ordered by due date."""
    query = services.visible_query(current_user, status=args["status"], view=args["view"])
    if args["kind"]:
        from app.followups.models import FollowUp

        query = query.where(FollowUp.kind == args["kind"])
    return {"follow_ups": list(db.session.scalars(query.limit(1000)))}


@blp.route("/<int:followup_id>", methods=["GET"])
@requires("followups.view")
@blp.response(200, FollowUpSchema)
def get_followup(followup_id: int):
    """One follow-up."""
    return services.get_visible(db.session, current_user, followup_id)


@blp.route("/<int:followup_id>", methods=["PATCH"])
@requires("followups.manage")
@blp.arguments(FollowUpPatchSchema)
@blp.response(200, FollowUpSchema)
def patch_followup(data, followup_id: int):
    """Record an outcome (and/or a note). Never changes the parent's enrolment."""
    followup = services.get_visible(db.session, current_user, followup_id)
    services.record_outcome(db.session, followup, outcome=data.get("outcome"), note=data.get("note"), now=now(),
                            actor=current_user._get_current_object(), expected_version=data.get("version"))
    db.session.commit()
    return followup
