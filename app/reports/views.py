"""Report pages and CSV downloads. Commissioners (reports.aggregate only) see small numbers suppressed."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user

from app.auth.permissions import can, requires
from app.extensions import db
from app.reports import charts, exports, services
from app.reports.forms import ReportFilterForm
from app.reports.suppression import SECONDARY, SMALL, attendance_tables, outcome_rows, reach_tables
from app.timeutil import now, today_london

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _full() -> bool:
    """Admins see full reports; a commissioner only suppressed aggregates."""
    return can(current_user, "reports.view")


def _filter():
    """The filter form from the query string, and the filter (None when a field is wrong)."""
    form = ReportFilterForm(db.session, formdata=request.args)
    return form, form.to_filter(today_london(now()))


def _args(f) -> dict:
    return f.as_query() if f is not None else {}


def _render(template: str, form, f, **context):
    status = 400 if f is None else 200
    return render_template(template, form=form, f=f, args=_args(f), full=_full(), small=SMALL, secondary=SECONDARY,
                           dimension_titles={k: v[0] for k, v in services.REACH_DIMENSIONS.items()},
                           **context), status


def _report_kwargs(f) -> dict:
    return {"start": f.start, "end": f.end, "programme": f.programme, "centre_id": f.centre_id, "now": now()}


@bp.route("")
@requires("reports.aggregate")
def index():
    """The reports: a filter, headline figures, the charts and links to each report."""
    form, f = _filter()
    context: dict = {}
    if f is not None:
        attendance = attendance_tables(services.attendance_report(db.session, **_report_kwargs(f)),
                                       suppress=not _full())
        reach = reach_tables(services.reach_report(db.session, **_report_kwargs(f)), suppress=not _full())
        context = {"attendance": attendance, "reach": reach,
                   "week_chart": charts.attendance_by_week(attendance["weeks"]),
                   "ward_chart": charts.families_by_ward(reach["dimensions"]["ward"]),
                   "month_chart": charts.trend_by_month(attendance["months"])}
    return _render("reports/index.html", form, f, title="Reports", **context)


@bp.route("/attendance")
@requires("reports.aggregate")
def attendance():
    """Attendance, apologies and did-not-attend by programme, centre and cohort; completion."""
    form, f = _filter()
    context: dict = {}
    if f is not None:
        tables = attendance_tables(services.attendance_report(db.session, **_report_kwargs(f)), suppress=not _full())
        context = {"tables": tables, "week_chart": charts.attendance_by_week(tables["weeks"]),
                   "month_chart": charts.trend_by_month(tables["months"])}
    return _render("reports/attendance.html", form, f, title="Attendance", **context)


@bp.route("/attendance.csv")
@requires("reports.aggregate")
def attendance_csv():
    """The attendance report as CSV."""
    form, f = _filter()
    if f is None:
        return _render("reports/attendance.html", form, f, title="Attendance")
    tables = attendance_tables(services.attendance_report(db.session, **_report_kwargs(f)), suppress=not _full())
    return exports.csv_response(f"attendance-{f.start}-{f.end}.csv", exports.ATTENDANCE_COLUMNS,
                                exports.attendance_rows(f, tables))


@bp.route("/cohorts/<int:cohort_id>/register")
@requires("reports.view")
def register(cohort_id: int):
    """A cohort's register: parents by week with their marks, to print on A4."""
    grid = services.register_grid(db.session, cohort_id)
    return render_template("reports/register.html", grid=grid, title="Register",
                           programme_name=grid.cohort.programme_name)


@bp.route("/cohorts/<int:cohort_id>/register.csv")
@requires("reports.view")
def register_csv(cohort_id: int):
    """A cohort's register as CSV."""
    grid = services.register_grid(db.session, cohort_id)
    return exports.csv_response(f"register-cohort-{cohort_id}.csv", exports.register_columns(grid),
                                exports.register_rows(grid))


@bp.route("/reach")
@requires("reports.aggregate")
def reach():
    """Families enrolled and started, by ward, referral source and demographics; the waiting list."""
    form, f = _filter()
    context: dict = {}
    if f is not None:
        tables = reach_tables(services.reach_report(db.session, **_report_kwargs(f)), suppress=not _full())
        context = {"tables": tables, "ward_chart": charts.families_by_ward(tables["dimensions"]["ward"])}
    return _render("reports/reach.html", form, f, title="Reach", **context)


@bp.route("/reach.csv")
@requires("reports.aggregate")
def reach_csv():
    """The reach report as CSV."""
    form, f = _filter()
    if f is None:
        return _render("reports/reach.html", form, f, title="Reach")
    tables = reach_tables(services.reach_report(db.session, **_report_kwargs(f)), suppress=not _full())
    return exports.csv_response(f"reach-{f.start}-{f.end}.csv", exports.REACH_COLUMNS,
                                exports.reach_rows(f, tables, services.REACH_DIMENSIONS))


@bp.route("/data-quality")
@requires("reports.view")
def data_quality():
    """How complete the demographic answers are, by worker and by centre."""
    form, f = _filter()
    context: dict = {}
    if f is not None:
        context = {"report": services.data_quality_report(db.session, **_report_kwargs(f)),
                   "groupings": services.DQ_GROUPINGS}
    return _render("reports/data_quality.html", form, f, title="Data quality", **context)


@bp.route("/data-quality.csv")
@requires("reports.view")
def data_quality_csv():
    """The data-quality report as CSV."""
    form, f = _filter()
    if f is None:
        return _render("reports/data_quality.html", form, f, title="Data quality")
    report = services.data_quality_report(db.session, **_report_kwargs(f))
    return exports.csv_response(f"data-quality-{f.start}-{f.end}.csv", exports.DATA_QUALITY_COLUMNS,
                                exports.data_quality_rows(report, services.DQ_GROUPINGS))


@bp.route("/outcomes")
@requires("reports.aggregate")
def outcomes():
    """Paired change on each outcome measure from the first to the last session."""
    form, f = _filter()
    context: dict = {}
    if f is not None:
        context = {"rows": outcome_rows(services.outcomes_report(db.session, **_report_kwargs(f)),
                                        suppress=not _full())}
    return _render("reports/outcomes.html", form, f, title="Outcomes", **context)


@bp.route("/outcomes.csv")
@requires("reports.aggregate")
def outcomes_csv():
    """The outcomes report as CSV."""
    form, f = _filter()
    if f is None:
        return _render("reports/outcomes.html", form, f, title="Outcomes")
    rows = outcome_rows(services.outcomes_report(db.session, **_report_kwargs(f)), suppress=not _full())
    return exports.csv_response(f"outcomes-{f.start}-{f.end}.csv", exports.OUTCOME_COLUMNS,
                                exports.outcome_rows(f, rows))


@bp.route("/funder-extract.csv")
@requires("reports.view")
def funder_extract_csv():
    """The anonymised per-enrolment extract for the funder's data return (no names, mobiles or postcodes)."""
    form, f = _filter()
    if f is None:
        return _render("reports/index.html", form, f, title="Reports")
    rows = services.funder_extract(db.session, **_report_kwargs(f), secret=current_app.config["SECRET_KEY"])
    return exports.csv_response(f"funder-extract-{f.start}-{f.end}.csv",
                                services.funder_extract_columns(f.programme), rows)


def report_links(f) -> list[dict]:
    """The reports this user may open, with the current filter."""
    args = _args(f)
    links = [("Attendance", "reports.attendance", "Attendance, apologies and did-not-attend; completion", True),
             ("Reach", "reports.reach", "Families enrolled and started, by ward, referral and demographics", True),
             ("Outcomes", "reports.outcomes", "Change on each outcome measure, first to last session", True),
             ("Data quality", "reports.data_quality", "How complete the demographic answers are", False)]
    return [{"text": t, "href": url_for(e, **args), "hint": h} for t, e, h, aggregate in links
            if aggregate or _full()]


@bp.app_context_processor
def _links():
    return {"report_links": report_links}
