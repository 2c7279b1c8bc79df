"""Cohorts and sessions: GET|POST /api/v1/cohorts, GET|PATCH /api/v1/cohorts/{id}, PATCH /api/v1/sessions/{id}."""
from __future__ import annotations

from datetime import datetime

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy.orm import selectinload

from app.api.core import BaseSchema, LondonDateTime, QueryId, StrictBoolean, StrictInteger
from app.auth.permissions import requires
from app.centres.models import Centre
from app.centres.services import room_by_name
from app.cohorts.models import Cohort
from app.cohorts.services import (
    cancel_cohort, cancel_session, change_capacity, change_room, create_cohort, get_cohort, get_session,
    list_cohorts, move_session,
)
from app.enrolment.places import places_summary
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.timeutil import isoformat, now, to_london
from programmes import registry

blp = Blueprint("cohorts_api", __name__, url_prefix="/api/v1", description="Cohorts and their sessions")


def _valid_programme(value: str) -> None:
    if value not in registry():
        raise ma.ValidationError(f"Unknown programme '{value}'. Choose one of: {', '.join(sorted(registry()))}.")


class LocalDateTime(ma.fields.Field):
    """A London wall-clock date-time, e.g. 2026-10-06T10:00 (an offset, if given, is converted to London)."""

    default_error_messages = {"invalid": "Not a valid date-time: use ISO 8601 local time, e.g. 2026-10-06T10:00."}

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update({"type": "string", "format": "date-time"})
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise self.make_error("invalid") from None
        return to_london(parsed).replace(tzinfo=None) if parsed.tzinfo else parsed


class CohortSessionSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.Integer()
    starts_at = LondonDateTime()
    ends_at = LondonDateTime()
    status = ma.fields.String()
    cancel_reason = ma.fields.String(allow_none=True)
    is_catch_up = ma.fields.Boolean()
    room = ma.fields.Function(lambda s: s.room.name)
    sequence = ma.fields.Integer(metadata={"description": "goes up on every change; send it back to detect a stale update"})


class CohortSessionChangeSchema(CohortSessionSchema):
    catch_up = ma.fields.Nested(CohortSessionSchema, allow_none=True)


class CohortPlacesSchema(ma.Schema):
    capacity = ma.fields.Integer()
    enrolled = ma.fields.Integer()
    waitlisted = ma.fields.Integer()
    free = ma.fields.Integer()


class CohortSchema(ma.Schema):
    id = ma.fields.Integer()
    programme = ma.fields.String(attribute="programme_key")
    programme_name = ma.fields.Function(lambda c: c.programme.name)
    centre_id = ma.fields.Integer()
    centre_name = ma.fields.Function(lambda c: c.centre.name)
    room = ma.fields.Function(lambda c: c.room.name)
    first_session = ma.fields.Method("first_local")
    duration_minutes = ma.fields.Integer()
    capacity = ma.fields.Integer()
    status = ma.fields.String()
    cancel_reason = ma.fields.String(allow_none=True)
    version = ma.fields.Integer()
    places = ma.fields.Method("places_of")
    sessions = ma.fields.List(ma.fields.Nested(CohortSessionSchema))

    def first_local(self, obj):
        from app.timeutil import local_to_utc

        return isoformat(local_to_utc(obj.start_date, obj.start_time))

    def places_of(self, obj):
        return CohortPlacesSchema().dump(places_summary(db.session, obj))


class CohortListSchema(ma.Schema):
    cohorts = ma.fields.List(ma.fields.Nested(CohortSchema))


class CohortQuerySchema(BaseSchema):
    programme = ma.fields.String(validate=_valid_programme)
    centre_id = QueryId()
    term = ma.fields.String(metadata={"description": "e.g. 2026-autumn (Sep-Dec), 2027-spring (Jan-Mar), 2027-summer (Apr-Aug)"})


class CohortInSchema(BaseSchema):
    programme = ma.fields.String(required=True, validate=_valid_programme,
                                 metadata={"description": "together_time or circle_of_security"})
    centre_id = StrictInteger(required=True)
    room = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80),
                            metadata={"description": "the room's name at the centre"})
    first_session = LocalDateTime(required=True, metadata={"description": "London local date-time of the first session"})
    duration_minutes = StrictInteger(validate=ma.validate.Range(min=15, max=480),
                                     metadata={"description": "default: the programme's session length"})
    capacity = StrictInteger(validate=ma.validate.Range(min=1, max=100),
                             metadata={"description": "family places; default: the programme's group size"})


class CohortPatchSchema(BaseSchema):
    capacity = StrictInteger(validate=ma.validate.Range(min=1, max=100))
    room = ma.fields.String(validate=ma.validate.Length(min=1, max=80))
    status = ma.fields.String(validate=ma.validate.OneOf(["cancelled"], error="Only \"cancelled\" can be set."))
    reason = ma.fields.String(validate=ma.validate.Length(max=300))
    version = StrictInteger(metadata={"description": "the version you read; 409 if the cohort changed since"})

    @ma.validates_schema
    def one_change(self, data, **kwargs):
        if not {"capacity", "room", "status"} & set(data):
            raise ma.ValidationError("Send capacity, room, or status \"cancelled\" with a reason.", "_schema")
        if "reason" in data and "status" not in data:
            raise ma.ValidationError("A reason goes with status \"cancelled\".", "reason")


class CohortSessionPatchSchema(BaseSchema):
    starts_at = LondonDateTime(metadata={"description": "new start; without an offset it is London time"})
    room = ma.fields.String(validate=ma.validate.Length(min=1, max=80))
    status = ma.fields.String(validate=ma.validate.OneOf(["cancelled"], error="Only \"cancelled\" can be set."))
    reason = ma.fields.String(validate=ma.validate.Length(max=300))
    add_catch_up = StrictBoolean(load_default=False)
    sequence = StrictInteger(metadata={"description": "the sequence you read; 409 if the session changed since"})

    @ma.validates_schema
    def one_change(self, data, **kwargs):
        moving = bool({"starts_at", "room"} & set(data))
        cancelling = "status" in data
        if moving and cancelling:
            raise ma.ValidationError("Either move the session (starts_at, room) or cancel it (status), not both.",
                                     "status")
        if not moving and not cancelling:
            raise ma.ValidationError("Send starts_at (and/or room) to move, or status \"cancelled\" with a reason.",
                                     "_schema")
        if cancelling and not (data.get("reason") or "").strip():
            raise ma.ValidationError("Give a reason: parents and staff are told the session is cancelled.", "reason")
        if not cancelling and ("reason" in data or data.get("add_catch_up")):
            raise ma.ValidationError("reason and add_catch_up go with status \"cancelled\".", "reason")


def _actor():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _centre(centre_id: int) -> Centre:
    centre = db.session.get(Centre, centre_id)
    if centre is None:
        raise ValidationFailed("There is no centre with this id.", "centre_id")
    return centre


@blp.route("/cohorts", methods=["GET"])
@requires("cohorts.view")
@blp.arguments(CohortQuerySchema, location="query")
@blp.response(200, CohortListSchema)
def list_all(args):
    """Cohorts, soonest last; filter by programme, centre_id and term."""
    cohorts = list_cohorts(db.session, programme=args.get("programme"), centre_id=args.get("centre_id"),
                           term=args.get("term"))
    if cohorts:
        # load sessions for all cohorts in one go
        db.session.scalars(db.select(Cohort).where(Cohort.id.in_([c.id for c in cohorts]))
                           .options(selectinload(Cohort.sessions))).all()
    return {"cohorts": cohorts}


@blp.route("/cohorts", methods=["POST"])
@requires("cohorts.manage")
@blp.arguments(CohortInSchema)
@blp.response(201, CohortSchema)
@blp.alt_response(409, description="The room is taken at one of the session times (the other cohort is named)")
def create(data):
    """Create a cohort; its weekly sessions skip bank holidays and the centre's closure days."""
    centre = _centre(data["centre_id"])
    room = room_by_name(centre, data["room"])
    cohort = create_cohort(db.session, programme_key=data["programme"], centre=centre, room=room,
                           first_session=data["first_session"], duration_minutes=data.get("duration_minutes"),
                           capacity=data.get("capacity"), now=now(), actor=_actor())
    db.session.commit()
    return cohort


@blp.route("/cohorts/<int:cohort_id>", methods=["GET"])
@requires("cohorts.view")
@blp.response(200, CohortSchema)
def get(cohort_id):
    """One cohort with its sessions and places."""
    return get_cohort(db.session, cohort_id)


@blp.route("/cohorts/<int:cohort_id>", methods=["PATCH"])
@requires("cohorts.manage")
@blp.arguments(CohortPatchSchema)
@blp.response(200, CohortSchema)
@blp.alt_response(409, description="Room clash, already cancelled, or a stale version")
def update(data, cohort_id):
    """Change the places or room of a cohort, or cancel it (status "cancelled" with a reason)."""
    cohort = get_cohort(db.session, cohort_id)
    if "version" in data and data["version"] != cohort.version:
        raise Conflict("This cohort has changed since you read it: read it again.", "version")
    if "capacity" in data:
        change_capacity(db.session, cohort, data["capacity"], now=now(), actor=_actor())
    if "room" in data:
        change_room(db.session, cohort, room_by_name(cohort.centre, data["room"]), now=now(), actor=_actor())
    if "status" in data:
        cancel_cohort(db.session, cohort, reason=data.get("reason", ""), now=now(), actor=_actor())
    db.session.commit()
    db.session.refresh(cohort)
    return cohort


@blp.route("/sessions/<int:session_id>", methods=["PATCH"])
@requires("cohorts.manage")
@blp.arguments(CohortSessionPatchSchema)
@blp.response(200, CohortSessionChangeSchema)
@blp.alt_response(409, description="Room clash (the other cohort is named) or a stale sequence")
def update_session(data, session_id):
    """Move a session ({"starts_at"}, optionally "room") or cancel it ({"status": "cancelled", "reason", "add_catch_up"})."""
    session = get_session(db.session, session_id)
    if "sequence" in data and data["sequence"] != session.sequence:
        raise Conflict("This session has changed since you read it: read it again.", "sequence")
    catch_up = None
    if "status" in data:
        session, catch_up = cancel_session(db.session, session, reason=data["reason"],
                                           add_catch_up=data["add_catch_up"], now=now(), actor=_actor())
    else:
        room = room_by_name(session.cohort.centre, data["room"]) if "room" in data else None
        session = move_session(db.session, session, starts_at=data.get("starts_at"), room=room, now=now(),
                               actor=_actor())
    db.session.commit()
    session.catch_up = catch_up
    return session
