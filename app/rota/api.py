"""The rota over JSON: auto-fill, a session's rota, and hand edits.

POST   /api/v1/cohorts/{id}/rota/autofill   fill a cohort's sessions still to come
POST   /api/v1/rota/autofill                {"start_date", "end_date"}: fill every cohort in a term
POST   /api/v1/cohorts/{id}/rota/publish    publish a cohort's rota (later edits notify the people affected)
GET    /api/v1/sessions/{id}/rota           who is on, their qualifications, what the session needs, whether met
POST   /api/v1/sessions/{id}/rota           {"user_id", "role", "force_reason"?}: put someone on (201)
PUT    /api/v1/sessions/{id}/rota/{user_id} {"user_id", "force_reason"?}: swap that person for another
DELETE /api/v1/sessions/{id}/rota/{user_id} take someone off (204)

A hand edit that breaks a hard rule is refused with 409 (``fields.user_id`` lists each broken
rule, each starting with the rule's name); an admin may override it by sending
``force_reason``. Bad input (unknown staff, a bad role or date) is a 422 naming the field.
"""
from __future__ import annotations

import marshmallow as ma
from flask import current_app
from flask_login import current_user
from flask_smorest import Blueprint

from app.api.core import BaseSchema, StrictInteger
from app.auth.permissions import requires
from app.extensions import db
from app.rota import services
from app.rota.autofill import autofill_cohort, autofill_term
from app.rota.models import ROTA_ROLES
from app.timeutil import isoformat, now

blp = Blueprint("rota_api", __name__, url_prefix="/api/v1", description="Co-facilitator and crèche rotas")


def travel_minutes() -> int:
    """Minutes between sessions at two different centres on the same day (config ROTA_TRAVEL_MINUTES)."""
    return int(current_app.config.get("ROTA_TRAVEL_MINUTES", services.DEFAULT_TRAVEL_MINUTES))


def _actor():
    return current_user._get_current_object() if current_user.is_authenticated else None


class RotaUnfilledSchema(ma.Schema):
    session_id = ma.fields.Integer()
    cohort_id = ma.fields.Integer()
    starts_at = ma.fields.String(metadata={"description": "ISO 8601 with the London offset"})
    role = ma.fields.String()
    missing = ma.fields.Integer(metadata={"description": "how many people short"})
    qualification = ma.fields.String(allow_none=True, metadata={"description": "the qualification still needed"})
    reason = ma.fields.String(metadata={"description": "why, in plain words with the London date"})


class RotaMadeSchema(ma.Schema):
    session_id = ma.fields.Integer()
    user_id = ma.fields.Integer()
    role = ma.fields.String()


class RotaAutofillResultSchema(ma.Schema):
    made = ma.fields.List(ma.fields.Nested(RotaMadeSchema))
    unfilled = ma.fields.List(ma.fields.Nested(RotaUnfilledSchema))
    violations = ma.fields.List(ma.fields.String(), metadata={"description": "hard rules broken in the result: []"})
    sessions_per_person = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    distinct_facilitators = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(),
                                           metadata={"description": "cohort id -> different facilitators"})
    sessions_considered = ma.fields.Integer()
    elapsed_seconds = ma.fields.Float()


class RotaTermSchema(BaseSchema):
    start_date = ma.fields.Date(required=True, metadata={"description": "first London day, e.g. 2026-09-07"})
    end_date = ma.fields.Date(required=True, metadata={"description": "last London day (inclusive)"})

    @ma.validates_schema
    def order(self, data, **kwargs):
        if "start_date" in data and "end_date" in data and data["end_date"] < data["start_date"]:
            raise ma.ValidationError("The end date must be on or after the start date.", "end_date")


class RotaAssignmentSchema(ma.Schema):
    user_id = ma.fields.Integer()
    name = ma.fields.String()
    role = ma.fields.String()
    qualifications = ma.fields.List(ma.fields.String())
    forced_reason = ma.fields.String(allow_none=True)
    is_auto = ma.fields.Boolean()


class RotaRequirementSchema(ma.Schema):
    key = ma.fields.String(metadata={"description": "facilitators, qualification:<q>, creche"})
    label = ma.fields.String()
    needed = ma.fields.Integer()
    have = ma.fields.Integer()
    met = ma.fields.Boolean()


class SessionRotaSchema(ma.Schema):
    session_id = ma.fields.Integer()
    cohort_id = ma.fields.Integer()
    starts_at = ma.fields.String()
    ends_at = ma.fields.String()
    status = ma.fields.String()
    published = ma.fields.Boolean()
    assignments = ma.fields.List(ma.fields.Nested(RotaAssignmentSchema))
    requirements = ma.fields.List(ma.fields.Nested(RotaRequirementSchema))
    complete = ma.fields.Boolean(metadata={"description": "every requirement met"})
    gaps = ma.fields.List(ma.fields.String())


class RotaAssignInSchema(BaseSchema):
    user_id = StrictInteger(required=True, validate=ma.validate.Range(min=1, max=services.MAX_ID))
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(ROTA_ROLES))
    force_reason = ma.fields.String(validate=ma.validate.Length(max=services.MAX_REASON),
                                    metadata={"description": "admins only: override the hard rules, with a reason"})


class RotaSwapInSchema(BaseSchema):
    user_id = StrictInteger(required=True, validate=ma.validate.Range(min=1, max=services.MAX_ID),
                            metadata={"description": "the person who takes the place"})
    force_reason = ma.fields.String(validate=ma.validate.Length(max=services.MAX_REASON))


class RotaPublishedSchema(ma.Schema):
    cohort_id = ma.fields.Integer()
    rota_published_at = ma.fields.String()


def _rota_dict(rota: services.SessionRota) -> dict:
    slot = rota.slot
    return {
        "session_id": slot.session_id, "cohort_id": slot.cohort_id, "starts_at": isoformat(slot.starts_at),
        "ends_at": isoformat(slot.ends_at), "status": slot.status, "published": slot.is_published,
        "assignments": [{"user_id": a.user_id, "name": rota.profiles[a.user_id].name, "role": a.role,
                         "qualifications": sorted(rota.profiles[a.user_id].qualifications),
                         "forced_reason": a.forced_reason, "is_auto": a.is_auto} for a in rota.assignments],
        "requirements": [r.as_dict() for r in rota.requirements],
        "complete": rota.complete, "gaps": rota.gaps,
    }


@blp.route("/cohorts/<int:cohort_id>/rota/autofill", methods=["POST"])
@requires("rota.manage")
@blp.response(200, RotaAutofillResultSchema)
def autofill_one(cohort_id):
    """Fill a cohort's sessions still to come; lists what could not be filled and why."""
    cohort = services.get_cohort(db.session, cohort_id)
    result = autofill_cohort(db.session, cohort, now=now(), actor=_actor(), travel_minutes=travel_minutes())
    db.session.commit()
    return result.as_dict()


@blp.route("/rota/autofill", methods=["POST"])
@requires("rota.manage")
@blp.arguments(RotaTermSchema)
@blp.response(200, RotaAutofillResultSchema)
def autofill_range(data):
    """Fill every cohort's sessions on London days start_date..end_date."""
    result = autofill_term(db.session, data["start_date"], data["end_date"], now=now(), actor=_actor(),
                           travel_minutes=travel_minutes())
    db.session.commit()
    return result.as_dict()


@blp.route("/cohorts/<int:cohort_id>/rota/publish", methods=["POST"])
@requires("rota.manage")
@blp.response(200, RotaPublishedSchema)
def publish(cohort_id):
    """Publish a cohort's rota; from now on changes notify the people affected."""
    cohort = services.get_cohort(db.session, cohort_id)
    services.publish(db.session, cohort, now=now(), actor=_actor())
    db.session.commit()
    return {"cohort_id": cohort.id, "rota_published_at": isoformat(cohort.rota_published_at)}


@blp.route("/sessions/<int:session_id>/rota", methods=["GET"])
@requires("rota.view")
@blp.response(200, SessionRotaSchema)
def session_rota(session_id):
    """Who is on a session (with qualifications), what it needs, and whether that is met."""
    return _rota_dict(services.session_rota(db.session, services.get_session(db.session, session_id)))


@blp.route("/sessions/<int:session_id>/rota", methods=["POST"])
@requires("rota.manage")
@blp.arguments(RotaAssignInSchema)
@blp.response(201, SessionRotaSchema)
@blp.alt_response(409, description="A hard rule would be broken (each named in fields.user_id)")
def assign(data, session_id):
    """Put a member of staff on a session, checked against every hard rule."""
    session = services.get_session(db.session, session_id)
    services.assign(db.session, session, data["user_id"], data["role"], now=now(), actor=_actor(),
                    force_reason=data.get("force_reason"), travel_minutes=travel_minutes())
    db.session.commit()
    return _rota_dict(services.session_rota(db.session, session))


@blp.route("/sessions/<int:session_id>/rota/<int:user_id>", methods=["PUT"])
@requires("rota.manage")
@blp.arguments(RotaSwapInSchema)
@blp.response(200, SessionRotaSchema)
@blp.alt_response(409, description="A hard rule would be broken (each named in fields.user_id)")
def swap(data, session_id, user_id):
    """Swap the person in the path for the one in the body, in the same role."""
    session = services.get_session(db.session, session_id)
    services.swap(db.session, session, user_id, data["user_id"], now=now(), actor=_actor(),
                  force_reason=data.get("force_reason"), travel_minutes=travel_minutes())
    db.session.commit()
    return _rota_dict(services.session_rota(db.session, session))


@blp.route("/sessions/<int:session_id>/rota/<int:user_id>", methods=["DELETE"])
@requires("rota.manage")
@blp.response(204)
def remove(session_id, user_id):
    """Take a member of staff off a session."""
    session = services.get_session(db.session, session_id)
    services.remove(db.session, session, user_id, now=now(), actor=_actor())
    db.session.commit()
    return None
