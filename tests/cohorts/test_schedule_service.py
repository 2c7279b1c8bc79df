"""Creating cohorts: weekly series, bank holidays, closures, clock changes, room clashes."""
from datetime import date, datetime, time, timedelta, timezone

import pytest

from app import events
from app.centres.models import ClosureDay
from app.cohorts.models import ScheduleChange
from app.cohorts.services import create_cohort
from app.errors import Conflict, ValidationFailed
from app.timeutil import to_london
from tests import factories

UTC = timezone.utc


def _create(db, now, centre, when, programme="circle_of_security", room=None, **kw):
    return create_cohort(db.session, programme_key=programme, centre=centre, room=room or centre.rooms[0],
                         first_session=when, now=now, actor=None, **kw)


def _local(cohort):
    return [to_london(s.starts_at).replace(tzinfo=None) for s in cohort.sessions]


def test_weekly_series_with_programme_defaults(db, now):
    centre = factories.make_centre(db.session)
    cohort = _create(db, now, centre, datetime(2026, 9, 15, 10, 0))
    assert [s.number for s in cohort.sessions] == list(range(1, 9))
    assert _local(cohort)[0] == datetime(2026, 9, 15, 10, 0)
    assert _local(cohort)[-1] == datetime(2026, 11, 3, 10, 0)
    assert cohort.capacity == 10 and cohort.duration_minutes == 120
    assert all(s.ends_at - s.starts_at == timedelta(minutes=120) for s in cohort.sessions)
    change = db.session.query(ScheduleChange).one()
    assert change.kind == "created" and change.cohort_id == cohort.id


def test_october_clock_change_keeps_ten_o_clock(db, now):
    centre = factories.make_centre(db.session)
    cohort = _create(db, now, centre, datetime(2026, 10, 6, 10, 0), programme="together_time")
    # Clocks go back on Sunday 25 October 2026: BST (UTC+1) before, GMT after.
    utc_hours = [(s.starts_at.date(), s.starts_at.hour) for s in cohort.sessions]
    assert utc_hours[:3] == [(date(2026, 10, 6), 9), (date(2026, 10, 13), 9), (date(2026, 10, 20), 9)]
    assert utc_hours[3:] == [(date(2026, 10, 27), 10), (date(2026, 11, 3), 10), (date(2026, 11, 10), 10)]
    assert {t.time() for t in _local(cohort)} == {time(10, 0)}


def test_march_clock_change_keeps_ten_o_clock(db, now):
    centre = factories.make_centre(db.session)
    cohort = _create(db, now, centre, datetime(2027, 3, 9, 10, 0), programme="together_time")
    # Clocks go forward on Sunday 28 March 2027: GMT before, BST after.
    hours = [s.starts_at.hour for s in cohort.sessions]
    assert hours == [10, 10, 10, 9, 9, 9]
    assert {t.time() for t in _local(cohort)} == {time(10, 0)}


def test_series_over_the_christmas_closure(db, now):
    centre = factories.make_centre(db.session)
    for offset in range(12):  # Monday 21 December 2026 to Friday 1 January 2027
        day = date(2026, 12, 21) + timedelta(days=offset)
        db.session.add(ClosureDay(centre_id=centre.id, closure_date=day, reason="Christmas closure"))
    db.session.flush()
    cohort = _create(db, now, centre, datetime(2026, 12, 1, 10, 0))
    assert [d.date() for d in _local(cohort)] == [
        date(2026, 12, 1), date(2026, 12, 8), date(2026, 12, 15),
        date(2027, 1, 5), date(2027, 1, 12), date(2027, 1, 19), date(2027, 1, 26), date(2027, 2, 2)]


def test_christmas_bank_holidays_alone_skip_the_week(db, now):
    centre = factories.make_centre(db.session)
    # Fridays: Christmas Day 2026 and New Year's Day 2027 are both Fridays.
    cohort = _create(db, now, centre, datetime(2026, 12, 11, 13, 30), programme="together_time")
    assert [d.date() for d in _local(cohort)] == [
        date(2026, 12, 11), date(2026, 12, 18), date(2027, 1, 8), date(2027, 1, 15), date(2027, 1, 22),
        date(2027, 1, 29)]


def test_series_over_the_may_bank_holidays(db, now):
    centre = factories.make_centre(db.session)
    # Early May (3 May 2027) and Spring (31 May 2027) bank holidays are Mondays.
    cohort = _create(db, now, centre, datetime(2027, 4, 26, 10, 0), programme="together_time")
    assert [d.date() for d in _local(cohort)] == [
        date(2027, 4, 26), date(2027, 5, 10), date(2027, 5, 17), date(2027, 5, 24), date(2027, 6, 7),
        date(2027, 6, 14)]


def test_first_session_on_a_bank_holiday_offers_the_next_free_date(db, now):
    centre = factories.make_centre(db.session)
    db.session.add(ClosureDay(centre_id=centre.id, closure_date=date(2027, 5, 10), reason="Staff training"))
    db.session.flush()
    with pytest.raises(ValidationFailed) as err:
        _create(db, now, centre, datetime(2027, 5, 3, 10, 0))
    assert err.value.field == "first_session"
    assert "Monday 3 May 2027 is a bank holiday (May Day)" in err.value.message
    assert "next free Monday is 17 May 2027" in err.value.message


def test_first_session_on_a_closure_day_says_why(db, now):
    centre = factories.make_centre(db.session)
    db.session.add(ClosureDay(centre_id=centre.id, closure_date=date(2026, 11, 17), reason="Staff training"))
    db.session.flush()
    with pytest.raises(ValidationFailed) as err:
        _create(db, now, centre, datetime(2026, 11, 17, 10, 0))
    assert "closed on Tuesday 17 November 2026 (Staff training)" in err.value.message
    assert "24 November 2026" in err.value.message


@pytest.mark.parametrize("when, words", [
    (datetime(2027, 3, 28, 1, 30), "does not exist"),
    (datetime(2027, 10, 31, 1, 30), "happens twice"),
    (datetime(2027, 3, 21, 1, 30), "session 2"),  # the second week falls in the skipped hour
])
def test_local_times_the_clocks_skip_or_repeat_are_refused(db, now, when, words):
    centre = factories.make_centre(db.session)
    with pytest.raises(ValidationFailed) as err:
        _create(db, now, centre, when, programme="together_time")
    assert err.value.field == "first_session" and words in err.value.message


def test_unknown_programme_lists_the_valid_ones(db, now):
    centre = factories.make_centre(db.session)
    with pytest.raises(ValidationFailed) as err:
        _create(db, now, centre, datetime(2026, 10, 6, 10, 0), programme="yoga")
    assert err.value.field == "programme"
    assert "circle_of_security" in err.value.message and "together_time" in err.value.message


def test_a_first_session_in_the_past_is_refused(db, now):
    centre = factories.make_centre(db.session)
    with pytest.raises(ValidationFailed) as err:
        _create(db, now, centre, datetime(2026, 8, 25, 10, 0))
    assert err.value.field == "first_session"


def test_room_clash_names_the_other_cohort(db, now):
    centre = factories.make_centre(db.session, rooms=("Main hall", "Garden room"))
    hall = next(r for r in centre.rooms if r.name == "Main hall")
    garden = next(r for r in centre.rooms if r.name == "Garden room")
    first = _create(db, now, centre, datetime(2026, 10, 6, 10, 0), room=hall)
    # Overlaps the fourth week only (13:00 Tuesday is free, 11:30 overlaps 10:00-12:00).
    with pytest.raises(Conflict) as err:
        _create(db, now, centre, datetime(2026, 10, 27, 11, 30), room=hall, programme="together_time")
    assert err.value.field == "room"
    assert f"cohort {first.id}" in err.value.message and "Circle of Security Parenting" in err.value.message
    # Back to back is not a clash; another room is not a clash.
    _create(db, now, centre, datetime(2026, 10, 6, 12, 0), room=hall, programme="together_time")
    _create(db, now, centre, datetime(2026, 10, 6, 10, 0), room=garden, programme="together_time")


def test_room_clash_is_checked_against_every_session_across_a_clock_change(db, now):
    centre = factories.make_centre(db.session)
    # An 09:00-10:30 group from 27 October; then a 10:00 group from 6 October: its
    # fourth session (27 October) is the first one that meets the earlier group.
    _create(db, now, centre, datetime(2026, 10, 27, 9, 0), programme="together_time")
    with pytest.raises(Conflict) as err:
        _create(db, now, centre, datetime(2026, 10, 6, 10, 0))
    assert "session 1 on Tue 27 Oct 2026, 09:00" in err.value.message


def test_creation_sends_the_schedule_changed_event(db, now):
    seen = []

    def listener(change, **kw):
        seen.append((change.kind, kw["now"]))

    events.schedule_changed.connect(listener)
    try:
        _create(db, now, factories.make_centre(db.session), datetime(2026, 10, 6, 10, 0))
    finally:
        events.schedule_changed.disconnect(listener)
    assert seen == [("created", now)]


def test_bad_capacity_and_duration(db, now):
    centre = factories.make_centre(db.session)
    with pytest.raises(ValidationFailed) as err:
        _create(db, now, centre, datetime(2026, 10, 6, 10, 0), capacity=0)
    assert err.value.field == "capacity"
    with pytest.raises(ValidationFailed) as err:
        _create(db, now, centre, datetime(2026, 10, 6, 10, 0), duration_minutes=5)
    assert err.value.field == "duration_minutes"
