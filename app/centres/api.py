"""GET|POST /api/v1/centres and GET /api/v1/centres/{id}."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from app.api.core import BaseSchema, StrictInteger
from app.auth.permissions import requires
from app.centres.services import create_centre, get_centre, list_centres
from app.extensions import db
from app.timeutil import now

blp = Blueprint("centres_api", __name__, url_prefix="/api/v1/centres", description="Children's centres")


class CentreInSchema(BaseSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=120))
    address = ma.fields.String(load_default="", validate=ma.validate.Length(max=300))
    postcode = ma.fields.String(load_default="", validate=ma.validate.Length(max=12))
    ward = ma.fields.String(load_default="", validate=ma.validate.Length(max=80))
    creche_capacity = StrictInteger(load_default=0, validate=ma.validate.Range(min=0, max=100))
    rooms = ma.fields.List(ma.fields.String(validate=ma.validate.Length(min=1, max=80)), required=True,
                           validate=ma.validate.Length(min=1, max=50),
                           metadata={"description": "room names, e.g. [\"Main hall\", \"Garden room\"]"})


class CentreClosureSchema(ma.Schema):
    date = ma.fields.Date(attribute="closure_date")
    reason = ma.fields.String()


class CentreSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    address = ma.fields.String()
    postcode = ma.fields.String()
    ward = ma.fields.String()
    creche_capacity = ma.fields.Integer()
    rooms = ma.fields.Method("room_names")
    closure_days = ma.fields.List(ma.fields.Nested(CentreClosureSchema), attribute="closures")

    def room_names(self, obj):
        return [r.name for r in obj.rooms]


class CentreListSchema(ma.Schema):
    centres = ma.fields.List(ma.fields.Nested(CentreSchema))


@blp.route("", methods=["GET"])
@requires("centres.view")
@blp.response(200, CentreListSchema)
def list_all():
    """Every centre, by name."""
    return {"centres": list_centres(db.session)}


@blp.route("", methods=["POST"])
@requires("centres.manage")
@blp.arguments(CentreInSchema)
@blp.response(201, CentreSchema)
@blp.alt_response(409, description="A centre with this name exists")
def create(data):
    """Add a centre with its rooms."""
    centre = create_centre(db.session, **data, now=now(), actor=_actor())
    db.session.commit()
    return centre


@blp.route("/<int:centre_id>", methods=["GET"])
@requires("centres.view")
@blp.response(200, CentreSchema)
def get(centre_id):
    """One centre with its rooms and closure days."""
    return get_centre(db.session, centre_id)


def _actor():
    from flask_login import current_user

    return current_user._get_current_object() if current_user.is_authenticated else None
