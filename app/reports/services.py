"""Report figures, computed in the database with GROUP BY: never by loading every row into Python.

Definitions used throughout (the help text on the pages says the same):

* A session is **held** when it is scheduled (not cancelled) and started inside the period and
  before now.
* An enrolment **holds a place** at a held session when it was enrolled by the session's end and
  not withdrawn or transferred before it began. Each such (session, enrolment) pair is one
  **expected attendance**; a mark on the session counts as expected whatever the dates say.
  Expected = attended + apologies + did not attend (absent) + unmarked.
* **Places filled**: enrolments holding a place at one or more held sessions in the period.
  **Started**: of those, attended at least one of those sessions.
* **Completed**: attended at least the programme's ``completion.min_share`` of the sessions its
  cohort held (all of them, not only those inside the period); judged only for cohorts whose
  scheduled sessions have all taken place.
* **Families reached** (reach): parents holding a place in the period; started as above.

Every function here runs a fixed number of queries, whatever the amount of data.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from app.attendance.models import AttendanceMark
from app.auth.models import User
from app.centres.models import Centre
from app.cohorts.models import Cohort, CohortSession
from app.eligibility.models import Ward, WardPostcode
from app.enrolment.models import Enrolment
from app.errors import NotFound, ValidationFailed
from app.outcomes.models import OutcomeScore
from app.parents.choices import (AGE_BANDS, DEMOGRAPHIC_FIELDS, ETHNICITIES, LANGUAGES, REFERRAL_SOURCES, YES_NO,
                                 label)
from app.parents.models import Parent
from app.timeutil import local_to_utc
from programmes import programme_name, registry

S, E, M, C = CohortSession, Enrolment, AttendanceMark, Cohort
MARKS = ("attended", "apologies", "absent")
#: the programme files give completion.min_share to 4 decimal places (0.6667 for two thirds)
SHARE_TOLERANCE = 0.0001
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
#: a period of up to this many days is "short" for the attendance report's plans (see there)
SHORT_PERIOD = timedelta(days=366)
#: the largest id a row can have (PostgreSQL INTEGER)
MAX_ID = 2**31 - 1


def _session_of(db):
    """Accept a Session or Flask-SQLAlchemy's db object (the benchmark passes either)."""
    return db.session if hasattr(db, "Model") else db


def _utcnow(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(timezone.utc)


# ---------------------------------------------------------------------------------------
# The filter: a period, and optionally a programme and a centre
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportFilter:
    """The period (London dates, both inclusive) and the optional programme and centre."""

    start: date
    end: date
    programme: str | None = None
    centre_id: int | None = None

    @property
    def start_at(self) -> datetime:
        return local_to_utc(self.start, time(0))

    @property
    def end_at(self) -> datetime:
        """The instant the period ends (midnight after its last day)."""
        return local_to_utc(self.end + timedelta(days=1), time(0))

    def cohort_conditions(self) -> list:
        conds = []
        if self.programme:
            conds.append(C.programme_key == self.programme)
        if self.centre_id:
            conds.append(C.centre_id == self.centre_id)
        return conds

    def as_query(self) -> dict[str, str]:
        """The filter as query-string arguments for links."""
        args = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.programme:
            args["programme"] = self.programme
        if self.centre_id:
            args["centre"] = str(self.centre_id)
        return args


def validate_filter(session, *, start: date, end: date, programme: str | None = None, centre_id: int | None = None,
                    names: dict[str, str] | None = None) -> ReportFilter:
    """Check a filter; raise ValidationFailed naming every bad field (names maps ours to the caller's)."""
    names = names or {}
    errors: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        errors.setdefault(names.get(name, name), []).append(message)

    for name, value in (("start", start), ("end", end)):
        if not EARLIEST <= value <= LATEST:
            bad(name, f"Enter a date between {EARLIEST:%Y} and {LATEST:%Y}")
    if not errors and end < start:
        bad("end", "The end date must be the same as or after the start date")
    programme = programme or None
    if programme and programme not in registry():
        bad("programme", "Choose a programme from the list: " + ", ".join(
            p.name for p in sorted(registry().values(), key=lambda p: p.name)))
    centre_id = centre_id or None
    if centre_id is not None and (not 0 < centre_id <= MAX_ID or session.get(Centre, centre_id) is None):
        bad("centre", "Choose a centre from the list")
    if errors:
        raise ValidationFailed("Some filters are not valid: " + ", ".join(sorted(errors)), fields=errors)
    return ReportFilter(start, end, programme, centre_id)


# ---------------------------------------------------------------------------------------
# Portable SQL: month of a time (London), and days between two times
# ---------------------------------------------------------------------------------------

class london_month(FunctionElement):
    """'YYYY-MM' of an aware UTC time, in London time (PostgreSQL); SQLite uses the UTC month."""

    type = sa.String()
    inherit_cache = True


@compiles(london_month)
def _london_month_default(element, compiler, **kw):
    # SQLite has no time zones: sessions run in the day, so the UTC month is the London month.
    return "strftime('%%Y-%%m', %s)" % compiler.process(element.clauses, **kw)


@compiles(london_month, "postgresql")
def _london_month_pg(element, compiler, **kw):
    return "to_char((%s) AT TIME ZONE 'Europe/London', 'YYYY-MM')" % compiler.process(element.clauses, **kw)


class days_between(FunctionElement):
    """Days (fractional) from the second time to the first."""

    type = sa.Float()
    inherit_cache = True


@compiles(days_between)
def _days_between_default(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return "(julianday(%s) - julianday(%s))" % (compiler.process(later, **kw), compiler.process(earlier, **kw))


@compiles(days_between, "postgresql")
def _days_between_pg(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return "(EXTRACT(EPOCH FROM (%s - %s)) / 86400.0)" % (compiler.process(later, **kw),
                                                          compiler.process(earlier, **kw))


# ---------------------------------------------------------------------------------------
# The building block: every expected attendance in the period, with its mark
# ---------------------------------------------------------------------------------------

def _held(f: ReportFilter, now: datetime):
    cutoff = min(f.end_at, now)
    return sa.and_(S.status == "scheduled", S.starts_at >= f.start_at, S.starts_at < cutoff)


def _holds_place():
    """SQL: the enrolment held a place at the session (see the module docstring)."""
    return _place_between(E, S.starts_at, S.ends_at)


def expected_attendances(f: ReportFilter, now: datetime):
    """Subquery: one row per expected attendance (held session x enrolment holding a place)."""
    return (
        sa.select(S.id.label("session_id"), S.number.label("number"), S.starts_at.label("starts_at"),
                  C.id.label("cohort_id"), C.programme_key.label("programme_key"), C.centre_id.label("centre_id"),
                  E.id.label("enrolment_id"), E.parent_id.label("parent_id"),
                  E.referral_source.label("referral_source"), M.status.label("mark"))
        .select_from(S)
        .join(C, C.id == S.cohort_id)
        .join(E, E.cohort_id == C.id)
        .outerjoin(M, sa.and_(M.session_id == S.id, M.enrolment_id == E.id))
        .where(_held(f, now), *f.cohort_conditions(), sa.or_(_holds_place(), M.id.is_not(None)))
        .subquery("expected")
    )


def _count_mark(col, status):
    return sa.func.coalesce(sa.func.sum(sa.case((col == status, 1), else_=0)), 0)


def _mark_columns(p):
    return [sa.func.count().label("expected"),
            _count_mark(p.c.mark, "attended").label("attended"),
            _count_mark(p.c.mark, "apologies").label("apologies"),
            _count_mark(p.c.mark, "absent").label("absent"),
            sa.func.coalesce(sa.func.sum(sa.case((p.c.mark.is_(None), 1), else_=0)), 0).label("unmarked")]


# ---------------------------------------------------------------------------------------
# Attendance
# ---------------------------------------------------------------------------------------

COUNT_FIELDS = ("sessions_held", "places_offered", "places_filled", "expected", "attended", "apologies", "absent",
                "unmarked", "started", "completion_eligible", "completed")


@dataclass
class AttendanceRow:
    """Attendance figures for one cohort, programme, centre, week, month or the whole period."""

    key: str
    label: str
    sessions_held: int = 0
    places_offered: int = 0
    places_filled: int = 0
    expected: int = 0
    attended: int = 0
    apologies: int = 0
    absent: int = 0
    unmarked: int = 0
    started: int = 0
    completion_eligible: int = 0
    completed: int = 0
    extra: dict = field(default_factory=dict)

    def share(self, name: str) -> float | None:
        """attended / apologies / absent / unmarked as a share of expected attendances."""
        return getattr(self, name) / self.expected if self.expected else None

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.completion_eligible if self.completion_eligible else None

    def add(self, other: "AttendanceRow") -> None:
        for name in COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, Any]:
        out = {"key": self.key, "label": self.label}
        out.update({name: getattr(self, name) for name in COUNT_FIELDS})
        out.update({f"{name}_share": _round(self.share(name)) for name in (*MARKS, "unmarked")})
        out["completion_rate"] = _round(self.completion_rate)
        out.update(self.extra)
        return out


def _round(value: float | None, places: int = 4) -> float | None:
    return None if value is None else round(value, places)


@dataclass
class AttendanceReport:
    """The attendance report: whole period, by programme, centre and cohort, by week and by month."""

    filter: ReportFilter
    total: AttendanceRow
    programmes: list[AttendanceRow]
    centres: list[AttendanceRow]
    cohorts: list[AttendanceRow]
    weeks: list[AttendanceRow]
    months: list[AttendanceRow]


# ---------------------------------------------------------------------------------------
# The attendance report's queries
# ---------------------------------------------------------------------------------------
#
# They are built once for each shape of filter, so no time goes on building them again. The
# constants ('scheduled', the programme keys...) are written into the SQL, and so are the start
# of the period and its end (or now, if that is earlier), rendered when the query runs: the
# database plans for the period asked for, from its statistics, even when it reuses a prepared
# statement (a parameter would leave it guessing). "now" is otherwise a parameter.

def _constant(value: str):
    """A constant string written into the SQL rather than sent as a parameter."""
    if not value.replace("_", "").isalnum():
        raise ValueError(f"not a plain constant: {value!r}")
    return sa.literal_column(f"'{value}'", sa.String)


def _period_start():
    return sa.bindparam("period_start", literal_execute=True)


def _period_cutoff():
    """The end of the period, or now if that is earlier."""
    return sa.bindparam("period_cutoff", literal_execute=True)


def _now():
    return sa.bindparam("now")


def _in_period(s):
    """SQL: the session s started in the period (and before now)."""
    return sa.and_(s.starts_at >= _period_start(), s.starts_at < _period_cutoff())


def _held_in_period(s):
    """SQL: the session s was held in the period."""
    return sa.and_(s.status == _constant("scheduled"), _in_period(s))


def _place_between(e, starts_at, ends_at):
    """SQL: the enrolment e (its columns) held a place at a session running from starts_at to ends_at."""
    place_from = sa.func.coalesce(e.enrolled_at, sa.case((e.status == _constant("enrolled"), e.created_at)))
    place_until = sa.func.coalesce(e.withdrawn_at, e.updated_at)
    return sa.and_(e.status != _constant("waitlisted"), place_from <= ends_at,
                   sa.or_(e.status == _constant("enrolled"), place_until > starts_at))


#: OFFSET 0 keeps PostgreSQL from merging a LATERAL subquery into its query (and so from hashing
#: a whole table to join a few rows): it then reads each cohort's rows by the index
_NOT_FLATTENED = sa.literal_column("0")


def _integer(value):
    """SQL: a sum as an integer (PostgreSQL sums integers as numeric)."""
    return sa.cast(value, sa.Integer)


@functools.lru_cache(maxsize=64)
def _attendance_query(dialect: str, by_programme: bool, by_centre: bool, short: bool,
                      thresholds: tuple[tuple[str, float], ...]):
    """The one query of attendance_report for one database and one shape of filter (see there).

    It returns a row per cohort (cohort_id set), per week (number set) and per month (month set).
    The marks are read twice: by held session (the attendance counts) and by enrolment (started
    and completed). For a cohort whose every session is scheduled and has begun, every attended
    mark of its enrolments counts, so no session is looked up: SQLite counts them from the index
    on (enrolment, status, session), PostgreSQL (for a long period) hashes them by enrolment; for
    the other cohorts the marks are joined to their sessions. On PostgreSQL, a short period (few
    cohorts) reads each cohort's enrolments and sessions by their index (see _NOT_FLATTENED); a
    long one hashes the tables, summing the marks by session before joining the sessions."""
    by_index = dialect == "postgresql" and short
    cohort_filter = []
    if by_programme:
        cohort_filter.append(C.programme_key == sa.bindparam("programme"))
    if by_centre:
        cohort_filter.append(C.centre_id == sa.bindparam("centre_id"))
    held = [_held_in_period(S)]
    if cohort_filter:
        held.append(S.cohort_id.in_(sa.select(C.id).where(*cohort_filter)))

    # 1. per held session: its marks (a session with none has a row of zeros)
    marks = [sa.func.count(M.id).filter(M.status == _constant(status)).label(status) for status in MARKS]
    if dialect == "postgresql" and not short:
        # a long period holds most sessions: the marks are summed by session before the join
        tallies = sa.select(M.session_id, *marks).group_by(M.session_id).subquery("tallies")
        per_session = (sa.select(S.id, S.cohort_id, S.number, S.starts_at, S.ends_at,
                                 london_month(S.starts_at).label("month"),
                                 *(sa.func.coalesce(tallies.c[status], 0).label(status) for status in MARKS))
                       .select_from(S).outerjoin(tallies, tallies.c.session_id == S.id).where(*held))
    else:
        per_session = (sa.select(S.id, S.cohort_id, S.number, S.starts_at, S.ends_at,
                                 london_month(S.starts_at).label("month"), *marks)
                       .select_from(S).outerjoin(M, M.session_id == S.id).where(*held)
                       # SQLite: grouped in the order the sessions are read (by time), so without sorting
                       .group_by(*((S.starts_at, S.id) if dialect == "sqlite" else (S.id,))))
    per_session = per_session.cte("per_session").prefix_with("MATERIALIZED")
    ps = per_session.c

    # 2. per cohort with a held session: the earliest end and the latest start of those sessions
    #    (an enrolment holding a place at both holds one at every one of them), their marks, and
    #    all of the cohort's sessions: scheduled, scheduled and begun, and of any status
    s2 = orm.aliased(S, name="s2")
    scheduled = s2.status == _constant("scheduled")
    counts = (sa.func.count().label("total"), sa.func.count().filter(scheduled).label("scheduled"),
              sa.func.count().filter(scheduled, s2.starts_at < _now()).label("past"))
    threshold = sa.case({key: sa.literal_column(repr(share)) for key, share in thresholds},
                        value=C.programme_key, else_=sa.literal_column(repr(2 / 3 - SHARE_TOLERANCE)))
    grouped = (sa.select(ps.cohort_id, sa.func.min(ps.ends_at).label("min_end"),
                         sa.func.max(ps.starts_at).label("max_start"), sa.func.count().label("held"),
                         *(_integer(sa.func.sum(ps[status])).label(status) for status in MARKS))
               .group_by(ps.cohort_id).subquery("grouped"))
    if by_index:
        # each cohort's sessions by its index
        all_sessions = (sa.select(*counts).where(s2.cohort_id == grouped.c.cohort_id)
                        .offset(_NOT_FLATTENED).lateral("all_sessions"))
        on = sa.true()
    else:
        all_sessions = sa.select(s2.cohort_id, *counts)
        if dialect == "sqlite":
            all_sessions = all_sessions.where(s2.cohort_id.in_(sa.select(ps.cohort_id)))
        # (PostgreSQL: a long period holds most cohorts, so all of them are counted)
        all_sessions = all_sessions.group_by(s2.cohort_id).subquery("all_sessions")
        on = all_sessions.c.cohort_id == grouped.c.cohort_id
    bounds = (sa.select(*grouped.c, all_sessions.c.total, all_sessions.c.scheduled, all_sessions.c.past,
                        (threshold * all_sessions.c.past).label("need"))
              .select_from(grouped).join(all_sessions, on).join(C, C.id == grouped.c.cohort_id)
              .cte("bounds").prefix_with("MATERIALIZED"))
    b = bounds.c

    # 3. per enrolment of those cohorts: whether it holds a place at every held session (whole),
    #    its attended marks at the cohort's begun sessions (n, for completion), and whether it
    #    attended a held session (started)
    whole = sa.func.coalesce(_place_between(E, b.max_start, b.min_end), False)
    attended_mark = sa.and_(M.enrolment_id == E.id, M.status == _constant("attended"))
    own_session = sa.and_(S.id == M.session_id, S.cohort_id == E.cohort_id, S.status == _constant("scheduled"))
    every_held = b.held == b.total
    attended_all = None
    if dialect == "postgresql":
        # the attended marks of the cohorts' sessions, hashed by enrolment; for a long period, a
        # cohort whose every session was held in the period (most) counts every attended mark
        cs = (sa.select(S.id, S.starts_at).where(S.cohort_id == b.cohort_id, S.status == _constant("scheduled"))
              .offset(_NOT_FLATTENED).lateral("cs"))
        sessions_from = sa.select(b.cohort_id).select_from(bounds).join(cs, sa.true())
        if not by_index:
            sessions_from = sessions_from.where(sa.not_(every_held))
            attended_all = (sa.select(M.enrolment_id, sa.func.count().label("n"))
                            .where(M.status == _constant("attended")).group_by(M.enrolment_id)
                            .subquery("attended_all"))
        attended = (sessions_from.with_only_columns(
                        M.enrolment_id, sa.func.count().filter(cs.c.starts_at < _now()).label("n"),
                        sa.func.bool_or(_in_period(cs.c)).label("started"), maintain_column_froms=False)
                    .join(M, M.session_id == cs.c.id)
                    .where(M.status == _constant("attended"))
                    .group_by(M.enrolment_id).subquery("attended"))
        n = sa.func.coalesce(attended.c.n, 0)
        started = sa.case((sa.not_(every_held), sa.func.coalesce(attended.c.started, False)))
        if attended_all is not None:
            n = sa.case((every_held, sa.func.coalesce(attended_all.c.n, 0)), else_=n)
    else:
        attended = None
        # a cohort whose every session is scheduled and has begun: every attended mark counts
        every_mark = sa.select(sa.func.count()).select_from(M).where(attended_mark).scalar_subquery()
        counted = (sa.select(sa.func.count()).select_from(M).join(S, own_session)
                   .where(attended_mark, S.starts_at < _now()).scalar_subquery())
        n = sa.case((b.total == b.past, every_mark), else_=counted)
        # a cohort whose every session was held in the period: started is n > 0 (see placed)
        started = sa.case((sa.not_(every_held), sa.exists().where(attended_mark, own_session, _in_period(S))))
    columns = (E.id, E.cohort_id, E.status, E.enrolled_at, E.created_at, E.withdrawn_at, E.updated_at)
    if by_index:
        # each cohort's enrolments by its index
        found = (sa.select(*columns, whole.label("whole")).where(E.cohort_id == b.cohort_id)
                 .offset(_NOT_FLATTENED).lateral("found"))
        enr = (sa.select(*found.c, n.label("n"), started.label("started")).select_from(bounds)
               .join(found, sa.true()).outerjoin(attended, attended.c.enrolment_id == found.c.id))
    else:
        enr = (sa.select(*columns, whole.label("whole"), n.label("n"), started.label("started"))
               .select_from(bounds).join(E, E.cohort_id == b.cohort_id))
        if attended is not None:
            enr = enr.outerjoin(attended, attended.c.enrolment_id == E.id)
        if attended_all is not None:
            enr = enr.outerjoin(attended_all, attended_all.c.enrolment_id == E.id)
    enr = enr.cte("enr").prefix_with("MATERIALIZED")

    # 4. the others (late joiners, withdrawals, the waiting list: few), paired with the held
    #    sessions at which they held a place or were marked
    h = orm.aliased(S, name="h")
    others = sa.select(enr.c.id, enr.c.cohort_id, enr.c.status, enr.c.enrolled_at, enr.c.created_at,
                       enr.c.withdrawn_at, enr.c.updated_at).where(sa.not_(enr.c.whole))
    if by_index:
        others = others.offset(_NOT_FLATTENED)
    others = others.subquery("others")
    pairs = (sa.select(h.id.label("session_id"), others.c.id.label("enrolment_id"), others.c.cohort_id)
             .select_from(others).join(h, h.cohort_id == others.c.cohort_id)
             .outerjoin(M, sa.and_(M.session_id == h.id, M.enrolment_id == others.c.id))
             .where(_held_in_period(h), sa.or_(_place_between(others.c, h.starts_at, h.ends_at), M.id.is_not(None)))
             .cte("pairs").prefix_with("MATERIALIZED"))

    # 5. per cohort: places filled (whole, or paired with a session), started, completed
    bq = bounds.alias("bq")
    is_finished = bq.c.past == bq.c.scheduled
    # a cohort whose every session was held in the period: started is attended at all
    has_started = sa.func.coalesce(enr.c.started, enr.c.n > 0)
    placed = (sa.select(enr.c.cohort_id, sa.func.count().label("filled"),
                        sa.func.count().filter(enr.c.whole).label("whole"),
                        sa.func.count().filter(has_started).label("started"),
                        sa.func.count().filter(is_finished, enr.c.n >= bq.c.need).label("completed"))
              .select_from(enr).join(bq, bq.c.cohort_id == enr.c.cohort_id)
              .where(sa.or_(enr.c.whole, enr.c.id.in_(sa.select(pairs.c.enrolment_id))))
              .group_by(enr.c.cohort_id).cte("placed").prefix_with("MATERIALIZED"))

    # 6. the rows: per cohort, and per week and month (each held session: the cohort's whole
    #    enrolments and its pairs)
    session_pairs = (sa.select(pairs.c.session_id, sa.func.count().label("n"))
                     .group_by(pairs.c.session_id).subquery("session_pairs"))
    expected = (sa.select(ps.number, ps.month,
                          (sa.func.coalesce(placed.c.whole, 0) + sa.func.coalesce(session_pairs.c.n, 0))
                          .label("expected"), *(ps[status] for status in MARKS))
                .select_from(per_session).outerjoin(placed, placed.c.cohort_id == ps.cohort_id)
                .outerjoin(session_pairs, session_pairs.c.session_id == ps.id)
                .cte("expected").prefix_with("MATERIALIZED"))
    x = expected.c
    cohort_pairs = (sa.select(pairs.c.cohort_id, sa.func.count().label("n"))
                    .group_by(pairs.c.cohort_id).subquery("cohort_pairs"))
    nothing = sa.null()
    cohort_rows = (sa.select(b.cohort_id, sa.cast(nothing, sa.Integer).label("number"),
                             sa.cast(nothing, sa.String).label("month"),
                             (sa.func.coalesce(placed.c.whole, 0) * b.held + sa.func.coalesce(cohort_pairs.c.n, 0))
                             .label("expected"),
                             *(b[status] for status in MARKS),
                             C.programme_key, C.centre_id, C.capacity, C.start_date, Centre.name, b.held,
                             sa.func.coalesce(placed.c.filled, 0).label("filled"),
                             sa.func.coalesce(placed.c.started, 0).label("started"),
                             sa.case((b.past == b.scheduled, sa.func.coalesce(placed.c.filled, 0)),
                                     else_=0).label("eligible"),
                             sa.func.coalesce(placed.c.completed, 0).label("completed"))
                   .select_from(bounds).join(C, C.id == b.cohort_id).join(Centre, Centre.id == C.centre_id)
                   .outerjoin(placed, placed.c.cohort_id == b.cohort_id)
                   .outerjoin(cohort_pairs, cohort_pairs.c.cohort_id == b.cohort_id))
    sums = [_integer(sa.func.sum(x[name])) for name in ("expected", *MARKS)]
    pad = [nothing] * 10
    if dialect == "postgresql":
        # weeks and months from one reading of the sessions
        return sa.union_all(cohort_rows, sa.select(nothing, x.number, x.month, *sums, *pad).group_by(
            sa.func.grouping_sets(sa.tuple_(x.number), sa.tuple_(x.month))))
    return sa.union_all(
        cohort_rows,
        sa.select(nothing, x.number, nothing, *sums, *pad).group_by(x.number),
        sa.select(nothing, nothing, x.month, *sums, *pad).group_by(x.month))


def attendance_report(db, *, start: date, end: date, programme: str | None = None, centre_id: int | None = None,
                      now: datetime | None = None) -> AttendanceReport:
    """Attendance for a period: 1 query, whatever the amount of data (the benchmark calls this).

    The expected attendances (module docstring) are counted without listing every pair of a
    session and an enrolment. An enrolment holding a place at every held session of its cohort
    in the period (most of them) adds one to each of those sessions: counted once per cohort.
    Only the others (late joiners, withdrawals, the waiting list) are paired with the sessions.
    The marks are counted from the marks themselves, by session (attended, apologies, did not
    attend) and by enrolment (started, completed): the register only takes marks for the
    session's own cohort, so every mark on a held session is one of its expected attendances,
    and every mark of an enrolment is on a session of its cohort.

    The query returns a row per cohort (sessions held, places offered, places filled, the marks,
    started, and completion over all of the cohort's held sessions, not only those in the
    period, judged for finished cohorts only), and per week and per month (the marks).
    """
    session = _session_of(db)
    now = _utcnow(now)
    f = ReportFilter(start, end, programme, centre_id)
    thresholds = tuple(sorted((key, p.completion_min_share - SHARE_TOLERANCE) for key, p in registry().items()))
    query = _attendance_query(session.get_bind().dialect.name, bool(f.programme), bool(f.centre_id),
                              f.end - f.start <= SHORT_PERIOD, thresholds)
    params = {"period_start": f.start_at, "period_cutoff": min(f.end_at, now), "now": now}
    if f.programme:
        params["programme"] = f.programme
    if f.centre_id:
        params["centre_id"] = f.centre_id
    # Core rows: these are counts, not objects to load
    rows = session.connection().execute(query, params).all()

    names: dict[str, str] = {}
    cohort_rows, weeks, months = [], [], []
    for row in rows:
        if row[0] is not None:
            cohort_rows.append(row)
        elif row[1] is not None:
            weeks.append(row)
        else:
            months.append(row)
    cohorts: list[AttendanceRow] = []
    per_programme: dict[str, list[tuple]] = {}
    per_centre: dict[int, tuple[str, list[tuple]]] = {}
    # (cohort, -, -, expected, attended, apologies, absent, programme, centre, capacity, start date,
    #  centre name, held, filled, started, eligible, completed), in the order of the cohorts' start
    for (cid, _, _, expected, attended, apologies, absent, programme_key, cohort_centre, capacity, start_date,
         centre_name, held, filled, started, eligible, completed) in sorted(cohort_rows, key=lambda r: (r[10], r[0])):
        prog = names.get(programme_key)
        if prog is None:
            prog = names[programme_key] = programme_name(programme_key)
        values = (held, capacity, filled, expected, attended, apologies, absent,
                  expected - attended - apologies - absent, started, eligible, completed)
        cohorts.append(AttendanceRow(f"cohort-{cid}", f"{prog}, {centre_name}, from {start_date:%d %b %Y}", *values,
                                     extra={"cohort_id": cid, "programme": programme_key, "centre_id": cohort_centre,
                                            "start_date": start_date.isoformat()}))
        per_programme.setdefault(programme_key, []).append(values)
        per_centre.setdefault(cohort_centre, (centre_name, []))[1].append(values)

    def summed(rows: list[tuple]) -> list[int]:
        return [sum(column) for column in zip(*rows)] if rows else [0] * len(COUNT_FIELDS)

    def marks(expected, attended, apologies, absent):
        return expected, attended, apologies, absent, expected - attended - apologies - absent

    programme_sums = {key: summed(rows) for key, rows in per_programme.items()}
    total = AttendanceRow("total", "All groups", *summed(list(programme_sums.values())))
    programmes = sorted((AttendanceRow(f"programme-{key}", names[key], *sums, extra={"programme": key})
                         for key, sums in programme_sums.items()), key=lambda r: r.label)
    centres = sorted((AttendanceRow(f"centre-{key}", name, *summed(rows), extra={"centre_id": key})
                      for key, (name, rows) in per_centre.items()), key=lambda r: r.label)
    weeks_out = [AttendanceRow(f"week-{r[1]}", f"Week {r[1]}", 0, 0, 0, *marks(*r[3:7]))
                 for r in sorted(weeks, key=lambda r: r[1])]
    months_out = [AttendanceRow(f"month-{r[2]}", _month_label(r[2]), 0, 0, 0, *marks(*r[3:7]))
                  for r in sorted(months, key=lambda r: r[2])]
    return AttendanceReport(f, total, programmes, centres, cohorts, weeks_out, months_out)


def _month_label(month: str) -> str:
    return datetime.strptime(month, "%Y-%m").strftime("%b %Y")


# ---------------------------------------------------------------------------------------
# The register grid of one cohort (names: reports.view only)
# ---------------------------------------------------------------------------------------

@dataclass
class RegisterGrid:
    cohort: Cohort
    sessions: list[CohortSession]
    #: each {"name", "status", "marks": [status or None per session], "attended": n}
    rows: list[dict]
    #: per session: {"attended", "apologies", "absent"}
    totals: list[dict]


def register_grid(session, cohort_id: int) -> RegisterGrid:
    """Parents by week with their marks, for printing: three queries."""
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("No such cohort", "cohort_id")
    sessions = list(session.scalars(sa.select(S).where(S.cohort_id == cohort_id).order_by(S.starts_at, S.number)))
    has_mark = sa.exists().where(M.enrolment_id == E.id)
    people = session.execute(
        sa.select(E.id, E.status, Parent.first_name, Parent.last_name, Parent.erased_at)
        .join(Parent, Parent.id == E.parent_id)
        .where(E.cohort_id == cohort_id, sa.or_(E.status != "waitlisted", has_mark))
        .order_by(Parent.last_name, Parent.first_name, E.id)).all()
    marks = {(r.enrolment_id, r.session_id): r.status for r in session.execute(
        sa.select(M.enrolment_id, M.session_id, M.status).join(S, S.id == M.session_id)
        .where(S.cohort_id == cohort_id))}
    rows = []
    for person in people:
        cells = [marks.get((person.id, s.id)) for s in sessions]
        name = "(erased)" if person.erased_at else f"{person.first_name} {person.last_name}"
        rows.append({"enrolment_id": person.id, "name": name, "status": person.status, "marks": cells,
                     "attended": sum(1 for c in cells if c == "attended")})
    totals = [{status: sum(1 for r in rows if r["marks"][i] == status) for status in MARKS}
              for i in range(len(sessions))]
    return RegisterGrid(cohort, sessions, rows, totals)


# ---------------------------------------------------------------------------------------
# Reach
# ---------------------------------------------------------------------------------------

NO_WARD = "Not in a listed ward"
#: dimension key -> (title, answer list or None)
REACH_DIMENSIONS = {
    "ward": ("Ward (from the family's postcode)", None),
    "referral_source": ("Referral source", REFERRAL_SOURCES),
    "ethnicity": ("Ethnicity", ETHNICITIES),
    "age_band": ("Age band", AGE_BANDS),
    "first_time_parent": ("First-time parent", YES_NO),
    "language": ("Preferred language", LANGUAGES),
}


@dataclass
class ReachReport:
    filter: ReportFilter
    families: int
    started: int
    referrals: int
    referrals_started: int
    #: dimension -> list of {"key", "label", "enrolled", "started"}
    dimensions: dict[str, list[dict]]
    waiting_now: int
    waits: int
    median_wait_days: float | None


def reach_report(db, *, start: date, end: date, programme: str | None = None, centre_id: int | None = None,
                 now: datetime | None = None) -> ReachReport:
    """Families enrolled and started, by ward, referral source and demographics; the waiting list."""
    session = _session_of(db)
    now = _utcnow(now)
    f = ReportFilter(start, end, programme, centre_id)
    p = expected_attendances(f, now)
    families = (sa.select(p.c.parent_id,
                          sa.func.max(sa.case((p.c.mark == "attended", 1), else_=0)).label("started"))
                .group_by(p.c.parent_id).subquery("families"))
    totals = session.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(families.c.started), 0))
                             .select_from(families)).one()

    ward_name = sa.func.coalesce(Ward.name, "")
    columns = {"ward": ward_name, "ethnicity": Parent.ethnicity, "age_band": Parent.age_band,
               "first_time_parent": Parent.first_time_parent, "language": Parent.language}
    dimensions: dict[str, list[dict]] = {}
    for key, col in columns.items():
        query = (sa.select(col.label("value"), sa.func.count().label("enrolled"),
                           sa.func.coalesce(sa.func.sum(families.c.started), 0).label("started"))
                 .select_from(families).join(Parent, Parent.id == families.c.parent_id))
        if key == "ward":
            query = (query.outerjoin(WardPostcode, WardPostcode.postcode == Parent.postcode)
                     .outerjoin(Ward, Ward.id == WardPostcode.ward_id))
        rows = session.execute(query.group_by(col)).all()
        dimensions[key] = _dimension_rows(key, rows)

    referral = session.execute(
        sa.select(p.c.referral_source.label("value"), sa.func.count(sa.distinct(p.c.enrolment_id)).label("enrolled"),
                  sa.func.count(sa.distinct(sa.case((p.c.mark == "attended", p.c.enrolment_id)))).label("started"))
        .group_by(p.c.referral_source)).all()
    dimensions["referral_source"] = _dimension_rows("referral_source", referral)
    referrals = sum(r["enrolled"] for r in dimensions["referral_source"])
    referrals_started = sum(r["started"] for r in dimensions["referral_source"])
    dimensions = {k: dimensions[k] for k in REACH_DIMENSIONS}

    waiting_now, waits, median = waiting_list_figures(session, f, now)
    return ReachReport(f, int(totals[0]), int(totals[1]), referrals, referrals_started, dimensions,
                       waiting_now, waits, median)


def _dimension_rows(key: str, rows) -> list[dict]:
    choices = REACH_DIMENSIONS[key][1]
    found = {r.value: r for r in rows}
    out = []
    if choices is not None:
        # every answer is listed, in the form's order, so a zero is visible too
        order = [v for v, _ in choices] + sorted(v for v in found if v not in dict(choices))
        for value in order:
            r = found.get(value)
            out.append({"key": value, "label": label(choices, value),
                        "enrolled": int(r.enrolled) if r else 0, "started": int(r.started) if r else 0})
    else:
        for value in sorted(found, key=lambda v: (v == "", v)):
            r = found[value]
            out.append({"key": value or "none", "label": value or NO_WARD,
                        "enrolled": int(r.enrolled), "started": int(r.started)})
    return out


def waiting_list_figures(session, f: ReportFilter, now: datetime) -> tuple[int, int, float | None]:
    """(waiting now, places given from the waiting list in the period, median days waited)."""
    upcoming = sa.exists().where(S.cohort_id == C.id, S.status == "scheduled", S.starts_at >= now)
    waiting_now = session.scalar(
        sa.select(sa.func.count()).select_from(E).join(C, C.id == E.cohort_id)
        .where(E.status == "waitlisted", C.status == "active", upcoming, *f.cohort_conditions()))
    waited = (sa.select(days_between(E.enrolled_at, E.waitlisted_at).label("days"))
              .join(C, C.id == E.cohort_id)
              .where(E.waitlisted_at.is_not(None), E.enrolled_at.is_not(None), E.enrolled_at >= f.start_at,
                     E.enrolled_at < f.end_at, *f.cohort_conditions())
              .subquery("waited"))
    ranked = sa.select(waited.c.days,
                       sa.func.row_number().over(order_by=waited.c.days).label("rn"),
                       sa.func.count().over().label("n")).subquery("ranked")
    # the median: the middle value, or the mean of the two middle values
    row = session.execute(
        sa.select(sa.func.max(ranked.c.n), sa.func.avg(ranked.c.days))
        .where(ranked.c.rn.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2]))).one()
    waits = int(row[0] or 0)
    median = None if row[1] is None else round(float(row[1]), 1)
    return int(waiting_now or 0), waits, median


# ---------------------------------------------------------------------------------------
# Data quality of demographics
# ---------------------------------------------------------------------------------------

DQ_GROUPINGS = {
    "worker": "By the family's worker",
    "enrolled_by": "By who made the enrolment",
    "centre": "By the family's centre",
}


@dataclass
class DataQualityReport:
    filter: ReportFilter
    fields: list[str]
    total: dict
    #: grouping -> list of {"label", "parents", field: {"answered", "prefer_not_to_say", "not_asked"}}
    groupings: dict[str, list[dict]]


def data_quality_report(db, *, start: date, end: date, programme: str | None = None, centre_id: int | None = None,
                        now: datetime | None = None) -> DataQualityReport:
    """For each demographic field, answered / prefer not to say / not asked: 4 queries.

    The families counted are those with an enrolment made in the period (in the programme and
    centre chosen), so the report shows how well new records are being filled in.
    """
    session = _session_of(db)
    f = ReportFilter(start, end, programme, centre_id)
    made = (sa.select(E.parent_id, E.created_by_id).join(C, C.id == E.cohort_id)
            .where(E.created_at >= f.start_at, E.created_at < f.end_at, *f.cohort_conditions()))
    pop = made.with_only_columns(E.parent_id).distinct().subquery("pop")
    pop_by = made.distinct().subquery("pop_by")
    names = list(DEMOGRAPHIC_FIELDS)

    def counts():
        cols = [sa.func.count(sa.distinct(Parent.id)).label("parents")]
        for name in names:
            col = getattr(Parent, name)
            for answer in ("prefer_not_to_say", "not_asked"):
                cols.append(sa.func.count(sa.distinct(sa.case((col == answer, Parent.id)))).label(f"{name}__{answer}"))
        return cols

    def shape(r, text: str) -> dict:
        out = {"label": text, "parents": int(r.parents)}
        for name in names:
            pnts, na = int(getattr(r, f"{name}__prefer_not_to_say")), int(getattr(r, f"{name}__not_asked"))
            out[name] = {"answered": out["parents"] - pnts - na, "prefer_not_to_say": pnts, "not_asked": na}
        return out

    live = Parent.erased_at.is_(None)
    total = session.execute(sa.select(*counts()).select_from(pop).join(Parent, Parent.id == pop.c.parent_id)
                            .where(live)).one()
    groupings: dict[str, list[dict]] = {}
    worker = orm.aliased(User)
    rows = session.execute(
        sa.select(Parent.worker_id.label("gid"), worker.full_name.label("name"), *counts())
        .select_from(pop).join(Parent, Parent.id == pop.c.parent_id).outerjoin(worker, worker.id == Parent.worker_id)
        .where(live).group_by(Parent.worker_id, worker.full_name)).all()
    groupings["worker"] = [shape(r, r.name or "No worker recorded") for r in _by_name(rows)]
    rows = session.execute(
        sa.select(pop_by.c.created_by_id.label("gid"), worker.full_name.label("name"), *counts())
        .select_from(pop_by).join(Parent, Parent.id == pop_by.c.parent_id)
        .outerjoin(worker, worker.id == pop_by.c.created_by_id)
        .where(live).group_by(pop_by.c.created_by_id, worker.full_name)).all()
    groupings["enrolled_by"] = [shape(r, r.name or "Not recorded") for r in _by_name(rows)]
    rows = session.execute(
        sa.select(Parent.centre_id.label("gid"), Centre.name.label("name"), *counts())
        .select_from(pop).join(Parent, Parent.id == pop.c.parent_id).outerjoin(Centre, Centre.id == Parent.centre_id)
        .where(live).group_by(Parent.centre_id, Centre.name)).all()
    groupings["centre"] = [shape(r, r.name or "No centre recorded") for r in _by_name(rows)]
    return DataQualityReport(f, names, shape(total, "All families"), groupings)


def _by_name(rows):
    return sorted(rows, key=lambda r: (r.name is None, r.name or ""))


# ---------------------------------------------------------------------------------------
# Outcomes: paired change from the first to the last session
# ---------------------------------------------------------------------------------------

def _scores_pivot():
    O = OutcomeScore
    return (sa.select(O.enrolment_id, O.measure,
                      sa.func.max(sa.case((O.timepoint == "first", O.value))).label("first"),
                      sa.func.max(sa.case((O.timepoint == "last", O.value))).label("last"))
            .group_by(O.enrolment_id, O.measure).subquery("scores"))


@dataclass
class OutcomesReport:
    filter: ReportFilter
    #: each {"programme", "programme_name", "measure", "name", "min", "max", "parents", "pairs",
    #:       "no_pair", "mean_first", "mean_last", "mean_change"}
    rows: list[dict]


def outcomes_report(db, *, start: date, end: date, programme: str | None = None, centre_id: int | None = None,
                    now: datetime | None = None) -> OutcomesReport:
    """Per measure in the programme files: pairs, mean first, mean last, mean change, and parents with no pair.

    Parents counted: enrolments holding a place in the period (two queries).
    """
    session = _session_of(db)
    now = _utcnow(now)
    f = ReportFilter(start, end, programme, centre_id)
    p = expected_attendances(f, now)
    placed = sa.select(p.c.programme_key, p.c.enrolment_id).distinct().subquery("placed")
    reached = dict(session.execute(sa.select(placed.c.programme_key, sa.func.count())
                                   .group_by(placed.c.programme_key)).all())
    sc = _scores_pivot()
    paired = {(r.programme_key, r.measure): r for r in session.execute(
        sa.select(placed.c.programme_key, sc.c.measure, sa.func.count().label("pairs"),
                  sa.func.avg(sc.c.first).label("mean_first"), sa.func.avg(sc.c.last).label("mean_last"),
                  sa.func.avg(sc.c.last - sc.c.first).label("mean_change"))
        .join(sc, sc.c.enrolment_id == placed.c.enrolment_id)
        .where(sc.c.first.is_not(None), sc.c.last.is_not(None))
        .group_by(placed.c.programme_key, sc.c.measure))}
    keys = [programme] if programme else sorted(registry(), key=lambda k: registry()[k].name)
    rows = []
    for key in keys:
        prog = registry()[key]
        parents = int(reached.get(key, 0))
        for m in prog.outcome_measures:
            r = paired.get((key, m.key))
            pairs = int(r.pairs) if r else 0
            rows.append({"programme": key, "programme_name": prog.name, "measure": m.key, "name": m.name,
                         "min": m.min, "max": m.max, "parents": parents, "pairs": pairs, "no_pair": parents - pairs,
                         "mean_first": _round(float(r.mean_first), 2) if r else None,
                         "mean_last": _round(float(r.mean_last), 2) if r else None,
                         "mean_change": _round(float(r.mean_change), 2) if r else None})
    return OutcomesReport(f, rows)


# ---------------------------------------------------------------------------------------
# The funder's anonymised per-enrolment extract
# ---------------------------------------------------------------------------------------

EXTRACT_DEMOGRAPHICS = ("ethnicity", "relationship_status", "gender", "age_band", "first_time_parent", "language",
                        "interpreter_needed")


def pseudonym(secret: str, enrolment_id: int) -> str:
    """A stable pseudonymous id for an enrolment: the same in every return, meaningless without the key."""
    digest = hmac.new(secret.encode(), f"enrolment:{enrolment_id}".encode(), hashlib.sha256).hexdigest()
    return "E" + digest[:16]


def funder_extract_columns(programme: str | None = None) -> list[str]:
    """The extract's header row (the outcome columns follow the programme files)."""
    measures = _extract_measures(programme)
    return (["pseudonymous_id", "programme", "cohort_start_date", "centre_ward", "family_ward", *EXTRACT_DEMOGRAPHICS,
             "referral_source", "enrolment_status", "sessions_expected", "attended", "apologies", "absent",
             "unmarked", "completed"]
            + [f"{m}_{t}" for m in measures for t in ("first", "last")])


def _extract_measures(programme: str | None) -> list[str]:
    keys = [programme] if programme else sorted(registry())
    out: list[str] = []
    for key in keys:
        for m in registry()[key].outcome_measures:
            if m.key not in out:
                out.append(m.key)
    return out


def funder_extract(db, *, start: date, end: date, programme: str | None = None, centre_id: int | None = None,
                   now: datetime | None = None, secret: str) -> Iterable[dict]:
    """One row per enrolment holding a place in the period: no names, mobiles or postcodes (one query)."""
    session = _session_of(db)
    now = _utcnow(now)
    f = ReportFilter(start, end, programme, centre_id)
    p = expected_attendances(f, now)
    per = (sa.select(p.c.enrolment_id, *_mark_columns(p)).group_by(p.c.enrolment_id).subquery("per"))
    cohort_held = (sa.select(S.cohort_id,
                             sa.func.sum(sa.case((S.starts_at < now, 1), else_=0)).label("held"),
                             sa.func.count().label("scheduled"))
                   .where(S.status == "scheduled").group_by(S.cohort_id).subquery("cohort_held"))
    attended = (sa.select(M.enrolment_id, sa.func.count().label("n")).join(S, S.id == M.session_id)
                .where(M.status == "attended", S.status == "scheduled", S.starts_at < now)
                .group_by(M.enrolment_id).subquery("attended_all"))
    measures = _extract_measures(programme)
    O = OutcomeScore
    score_cols = []
    for m in measures:
        for t in ("first", "last"):
            score_cols.append(sa.select(O.value).where(O.enrolment_id == E.id, O.measure == m, O.timepoint == t)
                              .scalar_subquery().label(f"{m}_{t}"))
    centre = orm.aliased(Centre)
    query = (
        sa.select(E.id, C.programme_key, C.start_date, centre.ward.label("centre_ward"),
                  sa.func.coalesce(Ward.name, "").label("family_ward"),
                  *[getattr(Parent, d) for d in EXTRACT_DEMOGRAPHICS], E.referral_source, E.status,
                  per.c.expected, per.c.attended, per.c.apologies, per.c.absent, per.c.unmarked,
                  cohort_held.c.held, cohort_held.c.scheduled, sa.func.coalesce(attended.c.n, 0).label("attended_all"),
                  *score_cols)
        .select_from(per)
        .join(E, E.id == per.c.enrolment_id)
        .join(C, C.id == E.cohort_id)
        .join(centre, centre.id == C.centre_id)
        .join(Parent, Parent.id == E.parent_id)
        .outerjoin(WardPostcode, WardPostcode.postcode == Parent.postcode)
        .outerjoin(Ward, Ward.id == WardPostcode.ward_id)
        .outerjoin(cohort_held, cohort_held.c.cohort_id == C.id)
        .outerjoin(attended, attended.c.enrolment_id == E.id)
        .order_by(C.start_date, E.id)
    )
    for r in session.execute(query):
        share = registry()[r.programme_key].completion_min_share if r.programme_key in registry() else 2 / 3
        if r.held is None or r.held != r.scheduled:
            completed = "not_finished"
        else:
            completed = "yes" if r.attended_all >= (share - SHARE_TOLERANCE) * r.held else "no"
        row = {"pseudonymous_id": pseudonym(secret, r.id), "programme": r.programme_key,
               "cohort_start_date": r.start_date.isoformat(), "centre_ward": r.centre_ward or "",
               "family_ward": r.family_ward or ""}
        for d in EXTRACT_DEMOGRAPHICS:
            value = getattr(r, d)
            row[d] = ("yes" if value else "no") if isinstance(value, bool) else value
        row.update({"referral_source": r.referral_source, "enrolment_status": r.status,
                    "sessions_expected": r.expected, "attended": r.attended, "apologies": r.apologies,
                    "absent": r.absent, "unmarked": r.unmarked, "completed": completed})
        for m in measures:
            for t in ("first", "last"):
                v = getattr(r, f"{m}_{t}")
                row[f"{m}_{t}"] = "" if v is None else _number(v)
        yield row


def _number(value: float) -> int | float:
    value = float(value)
    return int(value) if value.is_integer() else value
