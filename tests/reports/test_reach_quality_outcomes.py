"""Reach, waiting list, data quality, outcome pairs and the funder extract against hand counts."""
from datetime import date, datetime, timezone

import pytest

from app.reports.services import (NO_WARD, data_quality_report, funder_extract, funder_extract_columns,
                                  outcomes_report, pseudonym, reach_report)
from tests import factories
from tests.reports.fixture import END, NOW, START, build


def rows_by_key(rows):
    return {r["key"]: (r["enrolled"], r["started"]) for r in rows}


def test_reach_by_ward_referral_and_ethnicity(db):
    build(db)
    report = reach_report(db.session, start=START, end=END, now=NOW)
    # p1..p5, q1, q2, r1; p3 never came
    assert (report.families, report.started) == (8, 7)
    wards = {r["label"]: (r["enrolled"], r["started"]) for r in report.dimensions["ward"]}
    assert wards == {"Stockwell": (5, 4), "Brixton": (2, 2), NO_WARD: (1, 1)}
    referral = rows_by_key(report.dimensions["referral_source"])
    assert referral["gp"] == (1, 1) and referral["better_start"] == (7, 6) and referral["midwifery"] == (0, 0)
    ethnicity = rows_by_key(report.dimensions["ethnicity"])
    assert ethnicity["white_british"] == (1, 1) and ethnicity["black_african"] == (1, 1)
    assert ethnicity["prefer_not_to_say"] == (1, 0) and ethnicity["not_asked"] == (5, 5)
    assert sum(r["enrolled"] for r in report.dimensions["language"]) == 8
    assert rows_by_key(report.dimensions["first_time_parent"])["not_asked"] == (8, 7)


def test_waiting_list_length_and_median_wait(db):
    build(db)
    report = reach_report(db.session, start=START, end=END, now=NOW)
    # p7 waits for C (sessions to come); p6's group has finished
    assert report.waiting_now == 1
    # waits of 10 (p5), 4 (q2) and 2 (r1) days
    assert report.waits == 3 and report.median_wait_days == 4.0
    september = reach_report(db.session, start=date(2026, 9, 1), end=date(2026, 9, 30), now=NOW)
    assert september.waits == 2 and september.median_wait_days == 7.0


def test_an_empty_period_reaches_nobody(db):
    build(db)
    report = reach_report(db.session, start=date(2024, 1, 1), end=date(2024, 2, 1), now=NOW)
    assert (report.families, report.started, report.waits, report.median_wait_days) == (0, 0, 0, None)
    assert report.dimensions["ward"] == []


def test_data_quality_by_worker_and_centre(db):
    x = factories.make_centre(db.session, name="Centre X")
    cohort = factories.make_cohort(db.session, "together_time", centre=x)
    amy = factories.make_user(db.session, role="worker", full_name="Amy Worker")
    ben = factories.make_user(db.session, role="worker", full_name="Ben Worker")
    made = datetime(2026, 9, 2, 9, tzinfo=timezone.utc)
    specs = [  # (worker, ethnicity, gender)
        (amy, "white_british", "woman"), (amy, "prefer_not_to_say", "not_asked"), (amy, "not_asked", "not_asked"),
        (ben, "asian_indian", "woman"), (None, "not_asked", "prefer_not_to_say"),
    ]
    for worker, ethnicity, gender in specs:
        parent = factories.make_parent(db.session, ethnicity=ethnicity, gender=gender,
                                       worker_id=worker.id if worker else None, centre_id=x.id)
        factories.make_enrolment(db.session, cohort, parent, created_at=made, created_by_id=ben.id)
    # made before the period: not counted
    factories.make_enrolment(db.session, cohort, factories.make_parent(db.session, worker_id=amy.id),
                             created_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    report = data_quality_report(db.session, start=START, end=END)
    assert report.total["parents"] == 5
    assert report.total["ethnicity"] == {"answered": 2, "prefer_not_to_say": 1, "not_asked": 2}
    assert report.total["gender"] == {"answered": 2, "prefer_not_to_say": 1, "not_asked": 2}
    workers = {r["label"]: r for r in report.groupings["worker"]}
    assert workers["Amy Worker"]["parents"] == 3
    assert workers["Amy Worker"]["ethnicity"] == {"answered": 1, "prefer_not_to_say": 1, "not_asked": 1}
    assert workers["Ben Worker"]["ethnicity"] == {"answered": 1, "prefer_not_to_say": 0, "not_asked": 0}
    assert workers["No worker recorded"]["gender"] == {"answered": 0, "prefer_not_to_say": 1, "not_asked": 0}
    assert [(r["label"], r["parents"]) for r in report.groupings["enrolled_by"]] == [("Ben Worker", 5)]
    assert [(r["label"], r["parents"]) for r in report.groupings["centre"]] == [("Centre X", 5)]


def _scores(db, o):
    sc = factories.make_score
    sc(db.session, o["p1"], "mors_warmth", "first", 20)
    sc(db.session, o["p1"], "mors_warmth", "last", 28)
    sc(db.session, o["p1"], "prfq", "first", 60)
    sc(db.session, o["p1"], "prfq", "last", 70)
    sc(db.session, o["p2"], "mors_warmth", "first", 15)
    sc(db.session, o["p2"], "mors_warmth", "last", 18)
    sc(db.session, o["p3"], "mors_warmth", "first", 25)   # no last: no pair
    sc(db.session, o["p5"], "mors_warmth", "last", 30)    # no first: no pair
    sc(db.session, o["q1"], "prfq", "first", 50)
    sc(db.session, o["q1"], "prfq", "last", 45)
    sc(db.session, o["q1"], "loaf", "first", 2)
    sc(db.session, o["q1"], "loaf", "last", 4)
    sc(db.session, o["s1"], "prfq", "first", 30)          # before the period
    sc(db.session, o["s1"], "prfq", "last", 90)


def test_paired_outcomes_per_measure(db):
    o = build(db)
    _scores(db, o)
    report = outcomes_report(db.session, start=START, end=END, now=NOW)
    rows = {(r["programme"], r["measure"]): r for r in report.rows}
    warmth = rows[("together_time", "mors_warmth")]
    # Together Time parents holding a place: p1..p5 and r1 = 6
    assert (warmth["parents"], warmth["pairs"], warmth["no_pair"]) == (6, 2, 4)
    assert (warmth["mean_first"], warmth["mean_last"], warmth["mean_change"]) == (17.5, 23.0, 5.5)
    prfq = rows[("together_time", "prfq")]
    assert (prfq["pairs"], prfq["no_pair"], prfq["mean_change"]) == (1, 5, 10.0)
    none = rows[("together_time", "mors_invasiveness")]
    assert (none["pairs"], none["no_pair"], none["mean_change"]) == (0, 6, None)
    assert rows[("circle_of_security", "prfq")]["mean_change"] == -5.0
    assert (rows[("circle_of_security", "loaf")]["pairs"], rows[("circle_of_security", "loaf")]["no_pair"]) == (1, 1)
    assert rows[("circle_of_security", "asq_se2")]["pairs"] == 0
    only = outcomes_report(db.session, start=START, end=END, programme="circle_of_security", now=NOW)
    assert {r["programme"] for r in only.rows} == {"circle_of_security"}


def test_funder_extract_is_anonymous_and_per_enrolment(db):
    o = build(db)
    _scores(db, o)
    rows = list(funder_extract(db.session, start=START, end=END, now=NOW, secret="k"))
    assert len(rows) == 8
    header = funder_extract_columns()
    assert set(rows[0]) == set(header)
    for forbidden in ("name", "first_name", "last_name", "mobile", "postcode", "email", "address"):
        assert not any(forbidden in column for column in header)
    by_id = {r["pseudonymous_id"]: r for r in rows}
    p1 = by_id[pseudonym("k", o["p1"].id)]
    assert (p1["sessions_expected"], p1["attended"], p1["apologies"], p1["absent"], p1["completed"]) == (6, 4, 1, 1, "yes")
    assert (p1["mors_warmth_first"], p1["mors_warmth_last"], p1["family_ward"]) == (20, 28, "Stockwell")
    assert p1["ethnicity"] == "white_british" and p1["referral_source"] == "gp"
    assert by_id[pseudonym("k", o["p4"].id)]["enrolment_status"] == "withdrawn"
    assert by_id[pseudonym("k", o["r1"].id)]["completed"] == "not_finished"
    assert pseudonym("k", 1) != pseudonym("other key", 1) and pseudonym("k", 1) == pseudonym("k", 1)
    text = repr(rows)
    assert "Zedwick" not in text and "SW9" not in text and "+44" not in text
