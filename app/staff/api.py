"""Staff over JSON: GET /api/v1/staff (coordinators), for tools that plan rotas."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from app.auth.permissions import requires
from app.extensions import db
from app.staff import services

blp = Blueprint("staff_api", __name__, url_prefix="/api/v1/staff", description="Staff and what the rota knows about them")


class StaffWindowSchema(ma.Schema):
    weekday = ma.fields.Integer(metadata={"description": "0 = Monday"})
    start_time = ma.fields.String()
    end_time = ma.fields.String()


class StaffLeaveSchema(ma.Schema):
    start_date = ma.fields.Date()
    end_date = ma.fields.Date()


class StaffSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    role = ma.fields.String()
    is_enabled = ma.fields.Boolean()
    qualifications = ma.fields.List(ma.fields.String())
    centre_ids = ma.fields.List(ma.fields.Integer())
    preferred_centre_ids = ma.fields.List(ma.fields.Integer())
    availability = ma.fields.List(ma.fields.Nested(StaffWindowSchema))
    leave = ma.fields.List(ma.fields.Nested(StaffLeaveSchema))


class StaffListSchema(ma.Schema):
    staff = ma.fields.List(ma.fields.Nested(StaffSchema))


def _dump(p: services.StaffProfile) -> dict:
    return {
        "id": p.user_id, "name": p.name, "role": p.role, "is_enabled": p.is_enabled,
        "qualifications": sorted(p.qualifications), "centre_ids": sorted(p.centres),
        "preferred_centre_ids": sorted(p.preferred_centres),
        "availability": [{"weekday": wd, "start_time": s.isoformat("minutes"), "end_time": e.isoformat("minutes")}
                         for wd in sorted(p.windows) for s, e in p.windows[wd]],
        "leave": [{"start_date": s, "end_date": e} for s, e, _reason in p.leave],
    }


@blp.route("", methods=["GET"])
@requires("staff.manage")
@blp.response(200, StaffListSchema)
def list_all():
    """Everyone who can sign in (not commissioners), with qualifications, centres, availability and leave."""
    people = services.list_staff(db.session)
    profiles = services.load_profiles(db.session, [u.id for u in people])
    return {"staff": [_dump(profiles[u.id]) for u in people]}


@blp.route("/<int:user_id>", methods=["GET"])
@requires("staff.manage")
@blp.response(200, StaffSchema)
def get(user_id):
    """One member of staff."""
    user = services.get_staff(db.session, user_id)
    return _dump(services.load_profiles(db.session, [user.id])[user.id])
