"""The register over JSON: read a session's register, mark attendance (idempotent), close it, crèche in and out."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint

from app.api.core import BaseSchema, LondonDateTime, StrictBoolean
from app.attendance import services
from app.attendance.models import MARK_STATUSES
from app.auth.permissions import requires
from app.extensions import db
from app.timeutil import isoformat, now

blp = Blueprint("attendance_api", __name__, url_prefix="/api/v1/sessions",
                description="Registers: attendance marks, closing the register, crèche sign-in and out")


class MarkInSchema(BaseSchema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(MARK_STATUSES),
                              metadata={"description": "attended (here), apologies, or absent (not here)"})
    client_mark_id = ma.fields.String(required=True, validate=ma.validate.Regexp(r"^[A-Za-z0-9._:-]{1,64}$"),
                                      metadata={"description": "the tablet's id for this tap (a UUID); "
                                                               "sending it again changes nothing"})
    marked_at = LondonDateTime(required=True, metadata={"description": "when the tap was made; the latest wins"})
    is_late = StrictBoolean(load_default=False)


class MarkSchema(ma.Schema):
    session_id = ma.fields.Integer()
    enrolment_id = ma.fields.Integer()
    status = ma.fields.String()
    is_late = ma.fields.Boolean()
    marked_at = LondonDateTime()
    is_auto = ma.fields.Boolean(metadata={"description": "set by closing the register, not by a tap"})
    client_mark_id = ma.fields.String(allow_none=True)
    outcome = ma.fields.String(metadata={"description": "applied, stale (an older tap than the stored mark, "
                                                        "ignored) or replay (this client_mark_id was seen before)"})


class CrecheSchema(ma.Schema):
    booking_id = ma.fields.Integer(attribute="id")
    child_first_name = ma.fields.Function(lambda b: b.child.first_name)
    signed_in_at = LondonDateTime(allow_none=True)
    signed_out_at = LondonDateTime(allow_none=True)
    collected_by = ma.fields.String(allow_none=True)


class RegisterParentSchema(ma.Schema):
    enrolment_id = ma.fields.Function(lambda r: r.enrolment.id)
    first_name = ma.fields.String(attribute="display_name")
    children = ma.fields.List(ma.fields.String())
    status = ma.fields.Function(lambda r: r.mark.status if r.mark else None)
    is_late = ma.fields.Function(lambda r: bool(r.mark and r.mark.is_late))
    marked_at = ma.fields.Function(lambda r: isoformat(r.mark.marked_at) if r.mark else None)
    is_auto = ma.fields.Function(lambda r: bool(r.mark and r.mark.is_auto))
    creche = ma.fields.List(ma.fields.Nested(CrecheSchema))


class SessionInfoSchema(ma.Schema):
    id = ma.fields.Integer()
    cohort_id = ma.fields.Integer()
    number = ma.fields.Integer()
    programme = ma.fields.String(attribute="programme_key")
    programme_name = ma.fields.String()
    centre = ma.fields.String(attribute="centre_name")
    room = ma.fields.String(attribute="room_name")
    starts_at = LondonDateTime()
    ends_at = LondonDateTime()
    status = ma.fields.String()
    register_closed_at = LondonDateTime(allow_none=True)


class RegisterSchema(ma.Schema):
    session = ma.fields.Nested(SessionInfoSchema)
    parents = ma.fields.List(ma.fields.Nested(RegisterParentSchema))
    counts = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())


class CrecheActionSchema(BaseSchema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(("sign_in", "sign_out")))
    collected_by = ma.fields.String(load_default="", validate=ma.validate.Length(max=services.COLLECTED_BY_MAX))


class CloseResultSchema(ma.Schema):
    register_closed_at = LondonDateTime()
    marked_absent = ma.fields.Integer(metadata={"description": "parents with no mark, now recorded as not here"})


def _mark_out(result: services.MarkResult) -> dict:
    mark = result.mark
    return {"session_id": mark.session_id, "enrolment_id": mark.enrolment_id, "status": mark.status,
            "is_late": mark.is_late, "marked_at": mark.marked_at, "is_auto": mark.is_auto,
            "client_mark_id": mark.client_mark_id, "outcome": result.outcome}


@blp.route("/<int:session_id>/register", methods=["GET"])
@requires("register.view")
@blp.response(200, RegisterSchema)
def get_register(session_id: int):
    """A session's register: each parent on it, their mark and their children's crèche bookings."""
    session = services.register_session(db.session, session_id, current_user)
    rows = services.register_rows(db.session, session)
    return {"session": session, "parents": rows, "counts": services.register_counts(rows)}


@blp.route("/<int:session_id>/attendance/<int:enrolment_id>", methods=["PUT"])
@requires("register.mark")
@blp.arguments(MarkInSchema)
@blp.response(200, MarkSchema)
@blp.alt_response(201, schema=MarkSchema, description="The mark was created")
def put_mark(data, session_id: int, enrolment_id: int):
    """Mark one parent: idempotent by client_mark_id; an older tap than the stored one is ignored."""
    result = services.tap(db.session, session_id, enrolment_id, status=data["status"],
                          client_mark_id=data["client_mark_id"], marked_at=data["marked_at"],
                          is_late=data["is_late"], now=now(), actor=current_user._get_current_object())
    out = _mark_out(result)  # before the commit expires the mark, which would read it back again
    db.session.commit()
    return out, 201 if result.created else 200


@blp.route("/<int:session_id>/register/close", methods=["POST"])
@requires("register.mark")
@blp.response(200, CloseResultSchema)
def close(session_id: int):
    """Confirm the register: parents with no mark are recorded as not here (closing twice changes nothing)."""
    session = services.get_session(db.session, session_id)
    count = services.close_register(db.session, session, now=now(), actor=current_user._get_current_object())
    db.session.commit()
    return {"register_closed_at": session.register_closed_at, "marked_absent": count}


@blp.route("/<int:session_id>/creche/<int:booking_id>", methods=["POST"])
@requires("register.mark")
@blp.arguments(CrecheActionSchema)
@blp.response(200, CrecheSchema)
def creche(data, session_id: int, booking_id: int):
    """Sign a booked child into or out of the crèche (out needs who collected them)."""
    session = services.get_session(db.session, session_id)
    actor = current_user._get_current_object()
    services.check_register_access(db.session, actor, session)
    booking = services.get_booking(db.session, session, booking_id)
    if data["action"] == "sign_in":
        services.sign_in_child(db.session, session, booking, now=now(), actor=actor)
    else:
        services.sign_out_child(db.session, session, booking, collected_by=data["collected_by"], now=now(),
                                actor=actor)
    db.session.commit()
    return booking
