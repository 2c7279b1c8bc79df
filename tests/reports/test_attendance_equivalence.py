"""The attendance report against the definitions, on generated data with every kind of enrolment.

The report counts expected attendances without listing them; here they are listed, one row per
(held session, enrolment) pair from `expected_attendances` (the formula the other reports use),
and every figure is counted from that list in Python. Late joiners, withdrawals (with and
without a date), transfers, the waiting list (marked or not), enrolments with no enrolment
date, cancelled sessions with stray marks and periods cut through groups are all generated.
"""
import random
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.cohorts.models import CohortSession
from app.reports.services import (COUNT_FIELDS, SHARE_TOLERANCE, ReportFilter, attendance_report,
                                  expected_attendances)
from programmes import registry
from tests import factories

LONDON = ZoneInfo("Europe/London")
BASE = date(2026, 1, 6)


def _generate(db, rng: random.Random) -> None:
    s = db.session
    centres = [factories.make_centre(s, name=f"Centre {i}") for i in range(2)]
    for c in range(7):
        cohort = factories.make_cohort(s, rng.choice(sorted(registry())), centre=rng.choice(centres),
                                       start_date=BASE + timedelta(weeks=rng.randrange(0, 40)),
                                       capacity=rng.randrange(6, 12))
        sessions = list(cohort.sessions)
        for cancelled in rng.sample(sessions, rng.randrange(0, 3)):
            cancelled.status, cancelled.cancel_reason = "cancelled", "closure"
        first, last = sessions[0].starts_at, sessions[-1].ends_at

        def during(rng=rng, first=first, last=last):
            return first + (last - first) * rng.random()

        for e in range(rng.randrange(3, 10)):
            kind = rng.choice(["early", "early", "late", "withdrawn", "withdrawn_no_date", "transferred",
                               "waitlisted", "no_enrolled_at", "never_placed"])
            extra = {}
            if kind == "early":
                extra = {"enrolled_at": first - timedelta(days=10)}
            elif kind == "late":
                extra = {"enrolled_at": during()}
            elif kind == "withdrawn":
                extra = {"status": "withdrawn", "enrolled_at": first - timedelta(days=3), "withdrawn_at": during(),
                         "withdrawal_reason": "moved away"}
            elif kind == "withdrawn_no_date":
                extra = {"status": "withdrawn", "enrolled_at": first - timedelta(days=3), "withdrawn_at": None,
                         "withdrawal_reason": "moved away", "updated_at": during()}
            elif kind == "transferred":
                extra = {"status": "transferred", "enrolled_at": first - timedelta(days=3), "updated_at": during()}
            elif kind == "waitlisted":
                extra = {"status": "waitlisted", "enrolled_at": None}
            elif kind == "no_enrolled_at":
                extra = {"enrolled_at": None, "created_at": rng.choice([first - timedelta(days=5), during()])}
            elif kind == "never_placed":
                extra = {"status": "withdrawn", "enrolled_at": None, "withdrawal_reason": "changed mind"}
            enrolment = factories.make_enrolment(s, cohort, **extra)
            # marks, as the register takes them (only for this cohort's sessions), cancelled weeks included
            for session in sessions:
                if rng.random() < (0.15 if kind == "waitlisted" else 0.7):
                    factories.make_mark(s, session, enrolment, rng.choice(["attended", "attended", "apologies",
                                                                           "absent"]))
    s.flush()


def _reference(db, f: ReportFilter, now: datetime) -> dict:
    """Every figure, counted from the listed expected attendances."""
    s = db.session
    p = expected_attendances(f, now)
    pairs = s.execute(sa.select(p.c.session_id, p.c.number, p.c.starts_at, p.c.cohort_id, p.c.programme_key,
                                p.c.enrolment_id, p.c.mark)).all()
    marks_index = ("attended", "apologies", "absent")

    def tally(rows) -> tuple:
        counts = [len(rows), *(sum(1 for r in rows if r.mark == m) for m in marks_index),
                  sum(1 for r in rows if r.mark is None)]
        return tuple(counts)

    by_cohort, by_week, by_month = defaultdict(list), defaultdict(list), defaultdict(list)
    for r in pairs:
        by_cohort[r.cohort_id].append(r)
        by_week[r.number].append(r)
        starts = r.starts_at if r.starts_at.tzinfo else r.starts_at.replace(tzinfo=timezone.utc)
        by_month[starts.astimezone(LONDON).strftime("%Y-%m")].append(r)
    all_sessions = s.scalars(sa.select(CohortSession)).all()
    attended_at = defaultdict(set)  # enrolment -> sessions it attended
    for session_id, enrolment_id in s.execute(sa.text(
            "SELECT session_id, enrolment_id FROM attendance_marks WHERE status = 'attended'")):
        attended_at[enrolment_id].add(session_id)
    cohorts = {}
    for cohort_id, rows in by_cohort.items():
        scheduled = [x for x in all_sessions if x.cohort_id == cohort_id and x.status == "scheduled"]
        held = [x for x in scheduled if x.starts_at < now]
        finished = len(held) == len(scheduled)
        placed = {r.enrolment_id for r in rows}
        started = {r.enrolment_id for r in rows if r.mark == "attended"}
        share = registry()[rows[0].programme_key].completion_min_share - SHARE_TOLERANCE
        held_ids = {x.id for x in held}
        completed = 0
        if finished:
            completed = sum(1 for e in placed if len(attended_at[e] & held_ids) >= share * len(held))
        cohorts[cohort_id] = (len(placed), *tally(rows), len(started), len(placed) if finished else 0, completed)
    return {"cohorts": cohorts, "weeks": {n: tally(rows) for n, rows in by_week.items()},
            "months": {m: tally(rows) for m, rows in by_month.items()}}


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_report_counts_what_the_definitions_list(db, seed):
    rng = random.Random(seed)
    _generate(db, rng)
    periods = [(BASE, BASE + timedelta(days=400)), (BASE + timedelta(weeks=10), BASE + timedelta(weeks=22)),
               (BASE + timedelta(weeks=rng.randrange(0, 30)), BASE + timedelta(weeks=rng.randrange(30, 60)))]
    nows = [datetime(2026, 6, 15, 12, tzinfo=timezone.utc), datetime(2027, 6, 1, 12, tzinfo=timezone.utc)]
    checked = 0
    for start, end in periods:
        for now in nows:
            report = attendance_report(db.session, start=start, end=end, now=now)
            want = _reference(db, ReportFilter(start, end), now)
            got = {r.extra["cohort_id"]: (r.places_filled, r.expected, r.attended, r.apologies, r.absent, r.unmarked,
                                          r.started, r.completion_eligible, r.completed)
                   for r in report.cohorts}
            # cohorts with a held session but nobody expected have zeros in the report
            assert {k: v for k, v in got.items() if v[1]} == want["cohorts"]
            assert {int(r.key[5:]): (r.expected, r.attended, r.apologies, r.absent, r.unmarked)
                    for r in report.weeks if r.expected} == want["weeks"]
            assert {r.key[6:]: (r.expected, r.attended, r.apologies, r.absent, r.unmarked)
                    for r in report.months if r.expected} == want["months"]
            for name in COUNT_FIELDS:
                assert getattr(report.total, name) == sum(getattr(r, name) for r in report.cohorts)
            checked += len(want["cohorts"])
    assert checked > 10  # the generated data reaches into the periods
