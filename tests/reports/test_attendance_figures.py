"""Attendance figures against the hand-counted fixture (tests/reports/fixture.py)."""
from datetime import date

import pytest
import sqlalchemy as sa

from app.errors import ValidationFailed
from app.reports.services import attendance_report, register_grid, validate_filter
from tests import factories
from tests.reports.fixture import END, NOW, START, build

COUNTS = ("sessions_held", "places_offered", "places_filled", "expected", "attended", "apologies", "absent",
          "unmarked", "started", "completion_eligible", "completed")


def counts(row):
    return {name: getattr(row, name) for name in COUNTS}


def test_totals_keep_apologies_and_did_not_attend_apart(db):
    build(db)
    report = attendance_report(db.session, start=START, end=END, now=NOW)
    assert counts(report.total) == {
        "sessions_held": 15, "places_offered": 26, "places_filled": 8, "expected": 40, "attended": 22,
        "apologies": 6, "absent": 8, "unmarked": 4, "started": 7, "completion_eligible": 7, "completed": 3}
    assert report.total.share("attended") == pytest.approx(22 / 40)
    assert report.total.share("apologies") == pytest.approx(6 / 40)
    assert report.total.share("absent") == pytest.approx(8 / 40)
    assert report.total.completion_rate == pytest.approx(3 / 7)


def test_cohort_rows_count_withdrawals_late_joiners_and_cancelled_sessions(db):
    o = build(db)
    report = attendance_report(db.session, start=START, end=END, now=NOW)
    by_id = {r.extra["cohort_id"]: r for r in report.cohorts}
    assert set(by_id) == {o["T"].id, o["B"].id, o["C"].id}  # D is before the period
    assert counts(by_id[o["T"].id]) == {
        "sessions_held": 6, "places_offered": 8, "places_filled": 5, "expected": 24, "attended": 12,
        "apologies": 3, "absent": 5, "unmarked": 4, "started": 4, "completion_eligible": 5, "completed": 2}
    # week 8 was cancelled: not held, and the stray mark on it is not counted
    assert counts(by_id[o["B"].id]) == {
        "sessions_held": 7, "places_offered": 10, "places_filled": 2, "expected": 14, "attended": 9,
        "apologies": 2, "absent": 3, "unmarked": 0, "started": 2, "completion_eligible": 2, "completed": 1}
    # C has not finished: completion is not judged yet
    assert counts(by_id[o["C"].id]) == {
        "sessions_held": 2, "places_offered": 8, "places_filled": 1, "expected": 2, "attended": 1,
        "apologies": 1, "absent": 0, "unmarked": 0, "started": 1, "completion_eligible": 0, "completed": 0}


def test_programme_and_centre_rows(db):
    build(db)
    report = attendance_report(db.session, start=START, end=END, now=NOW)
    programmes = {r.extra["programme"]: counts(r) for r in report.programmes}
    assert programmes["together_time"] == {
        "sessions_held": 8, "places_offered": 16, "places_filled": 6, "expected": 26, "attended": 13,
        "apologies": 4, "absent": 5, "unmarked": 4, "started": 5, "completion_eligible": 5, "completed": 2}
    assert programmes["circle_of_security"]["expected"] == 14
    centres = {r.label: counts(r) for r in report.centres}
    assert centres["Centre X"] == programmes["together_time"]
    assert centres["Centre Y"] == programmes["circle_of_security"]


def test_weeks_and_months(db):
    build(db)
    report = attendance_report(db.session, start=START, end=END, now=NOW)
    weeks = {r.label: (r.expected, r.attended, r.apologies, r.absent, r.unmarked) for r in report.weeks}
    assert weeks["Week 1"] == (7, 6, 1, 0, 0)
    assert weeks["Week 7"] == (2, 1, 1, 0, 0)
    assert "Week 8" not in weeks
    months = [(r.label, r.expected, r.attended, r.apologies, r.absent, r.unmarked) for r in report.months]
    assert months == [("Sep 2026", 24, 16, 2, 4, 2), ("Oct 2026", 14, 5, 3, 4, 2), ("Nov 2026", 2, 1, 1, 0, 0)]


def test_filters_by_programme_and_centre(db):
    o = build(db)
    circle = attendance_report(db.session, start=START, end=END, programme="circle_of_security", now=NOW)
    assert circle.total.expected == 14 and [r.extra["cohort_id"] for r in circle.cohorts] == [o["B"].id]
    at_x = attendance_report(db.session, start=START, end=END, centre_id=o["x"].id, now=NOW)
    assert at_x.total.expected == 26 and at_x.total.sessions_held == 8


def test_a_period_cut_counts_only_its_sessions_but_completion_uses_the_whole_group(db):
    o = build(db)
    september = attendance_report(db.session, start=date(2026, 9, 1), end=date(2026, 9, 30), now=NOW)
    assert september.total.expected == 24 and september.total.sessions_held == 8
    t = next(r for r in september.cohorts if r.extra["cohort_id"] == o["T"].id)
    assert (t.completion_eligible, t.completed) == (5, 2)


def test_sessions_not_yet_happened_are_not_held(db):
    build(db)
    before = attendance_report(db.session, start=START, end=END, now=NOW.replace(month=9, day=10))
    # only week 1 of T (8 Sep) and B (9 Sep) have happened by 10 Sep
    assert before.total.sessions_held == 2 and before.total.expected == 6 and before.total.completion_eligible == 0


def test_an_empty_period_gives_zeros(db):
    build(db)
    report = attendance_report(db.session, start=date(2025, 1, 1), end=date(2025, 1, 31), now=NOW)
    assert counts(report.total) == dict.fromkeys(COUNTS, 0)
    assert report.total.share("attended") is None and report.total.completion_rate is None
    assert report.cohorts == report.weeks == report.months == []


def test_completion_follows_the_programme_file_share(db, monkeypatch):
    o = build(db)
    import dataclasses

    from programmes import registry

    changed = dict(registry())
    changed["together_time"] = dataclasses.replace(changed["together_time"], completion_min_share=0.5)
    monkeypatch.setattr("app.reports.services.registry", lambda: changed)
    report = attendance_report(db.session, start=START, end=END, now=NOW)
    t = next(r for r in report.cohorts if r.extra["cohort_id"] == o["T"].id)
    assert t.completed == 3  # p2's 3 of 6 now counts


def test_the_number_of_queries_does_not_grow_with_the_data(db):
    build(db)
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        attendance_report(db.session, start=START, end=END, now=NOW)
        small = len(statements)
        for i in range(4):
            cohort = factories.make_cohort(db.session, "together_time", start_date=date(2026, 10, 6 + i))
            for _ in range(3):
                e = factories.make_enrolment(db.session, cohort, enrolled_at=NOW.replace(month=8))
                factories.make_mark(db.session, cohort.sessions[0], e)
        statements.clear()
        attendance_report(db.session, start=START, end=END, now=NOW)
        assert len(statements) == small == 1
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_the_benchmark_can_pass_the_flask_db_object(db):
    build(db)
    assert attendance_report(db, start=START, end=END, now=NOW).total.expected == 40


def test_bad_filters_name_each_field(db):
    with pytest.raises(ValidationFailed) as err:
        validate_filter(db.session, start=date(2026, 9, 2), end=date(2026, 9, 1), programme="yoga", centre_id=999)
    assert set(err.value.fields) == {"end", "programme", "centre"}
    with pytest.raises(ValidationFailed) as err:
        validate_filter(db.session, start=date(1900, 1, 1), end=date(2026, 9, 1), names={"start": "from"})
    assert set(err.value.fields) == {"from"}


def test_register_grid_shows_parents_by_week(db):
    o = build(db)
    grid = register_grid(db.session, o["T"].id)
    names = [r["name"] for r in grid.rows]
    assert names == ["Aoife Zedwick", "Bola Zedwick", "Ciara Zedwick", "Dee Zedwick", "Efe Zedwick"]
    assert grid.rows[0]["marks"] == ["attended"] * 4 + ["apologies", "absent"]
    assert grid.rows[4]["marks"] == [None, None] + ["attended"] * 4 and grid.rows[4]["attended"] == 4
    assert grid.totals[0] == {"attended": 3, "apologies": 1, "absent": 0}
