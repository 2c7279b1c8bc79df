"""GET /api/v1/reports/attendance: the numbers behind the attendance page (suppressed for commissioners)."""
from __future__ import annotations

import marshmallow as ma
from flask_login import current_user
from flask_smorest import Blueprint

from app.api.core import BaseSchema, QueryId
from app.auth.permissions import can, requires
from app.extensions import db
from app.reports.forms import default_period
from app.reports.services import attendance_report, validate_filter
from app.reports.suppression import SECONDARY, SMALL, attendance_tables
from app.timeutil import now, today_london

blp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports", description="Aggregate reports")

COUNT_DOC = (f"Counts are integers; for a commissioner a count from 1 to 4 is the string \"{SMALL}\" and a count "
             f"hidden so that a small number cannot be worked out is \"{SECONDARY}\"; shares are then null.")


class AttendanceQuerySchema(BaseSchema):
    programme = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40),
                                 metadata={"description": "programme key, e.g. together_time"})
    centre = QueryId(load_default=None, metadata={"description": "centre id"})
    from_ = ma.fields.Date(data_key="from", load_default=None,
                           metadata={"description": "first day (London), ISO date; default 1 April"})
    to = ma.fields.Date(load_default=None, metadata={"description": "last day (London), ISO date; default today"})


class AttendanceReportSchema(ma.Schema):
    period = ma.fields.Dict(metadata={"description": "{from, to} ISO dates"})
    programme = ma.fields.String(allow_none=True)
    centre = ma.fields.Integer(allow_none=True)
    suppressed = ma.fields.Boolean(metadata={"description": COUNT_DOC})
    total = ma.fields.Dict()
    programmes = ma.fields.List(ma.fields.Dict())
    centres = ma.fields.List(ma.fields.Dict())
    cohorts = ma.fields.List(ma.fields.Dict(), metadata={"description": "empty for commissioners"})
    weeks = ma.fields.List(ma.fields.Dict())
    months = ma.fields.List(ma.fields.Dict())


@blp.route("/attendance", methods=["GET"])
@requires("reports.aggregate")
@blp.arguments(AttendanceQuerySchema, location="query", unknown=ma.RAISE)
@blp.response(200, AttendanceReportSchema)
def attendance(args):
    """Attendance, apologies, did-not-attend and completion for a period, by programme, centre, cohort, week and month."""
    default_start, default_end = default_period(today_london(now()))
    f = validate_filter(db.session, start=args["from_"] or default_start, end=args["to"] or default_end,
                        programme=args["programme"], centre_id=args["centre"],
                        names={"start": "from", "end": "to", "centre": "centre", "programme": "programme"})
    suppress = not can(current_user, "reports.view")
    report = attendance_report(db.session, start=f.start, end=f.end, programme=f.programme, centre_id=f.centre_id,
                               now=now())
    tables = attendance_tables(report, suppress=suppress)
    return {"period": {"from": f.start.isoformat(), "to": f.end.isoformat()}, "programme": f.programme,
            "centre": f.centre_id, "suppressed": suppress, **tables}
