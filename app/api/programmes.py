"""GET /api/v1/programmes: the programme definitions from programmes/."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from app.auth.permissions import requires
from programmes import registry

blp = Blueprint("programmes_api", __name__, url_prefix="/api/v1/programmes", description="Programme definitions")


class ProgrammeSchema(ma.Schema):
    key = ma.fields.String()
    name = ma.fields.String()
    public_name = ma.fields.String()
    weeks = ma.fields.Integer()
    session_minutes = ma.fields.Integer()
    group_size = ma.fields.Integer()
    creche = ma.fields.Boolean()
    allow_pregnancy = ma.fields.Boolean()
    max_age_months = ma.fields.Integer()
    facilitator_count = ma.fields.Integer()
    session_titles = ma.fields.List(ma.fields.String())
    outcome_measures = ma.fields.Method("measures")

    def measures(self, obj):
        return [{"key": m.key, "name": m.name, "min": m.min, "max": m.max} for m in obj.outcome_measures]


class ProgrammeListSchema(ma.Schema):
    programmes = ma.fields.List(ma.fields.Nested(ProgrammeSchema))


@blp.route("", methods=["GET"])
@requires("cohorts.view")
@blp.response(200, ProgrammeListSchema)
def list_programmes():
    """The programmes the service runs."""
    return {"programmes": sorted(registry().values(), key=lambda p: p.name)}
