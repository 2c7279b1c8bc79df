"""Changing the plan: moving and cancelling sessions, catch-ups, cancelling a cohort, rooms and places."""
from datetime import date, datetime, timedelta

import pytest

from app import events
from app.audit.models import AuditEvent
from app.centres.models import ClosureDay
from app.cohorts.models import ScheduleChange
from app.cohorts.services import (
    cancel_cohort, cancel_session, change_capacity, change_room, create_cohort, move_session,
)
from app.errors import Conflict, ValidationFailed
from app.timeutil import local_to_utc, to_london
from tests import factories


@pytest.fixture
def changes():
    """The schedule_changed events sent during a test."""
    seen = []

    def listener(change, **kw):
        seen.append(change)

    events.schedule_changed.connect(listener)
    yield seen
    events.schedule_changed.disconnect(listener)


def _cohort(db, now, centre=None, when=datetime(2026, 10, 6, 10, 0), programme="together_time", room=None):
    centre = centre or factories.make_centre(db.session, rooms=("Main hall", "Garden room"))
    return create_cohort(db.session, programme_key=programme, centre=centre, room=room or centre.rooms[1],
                         first_session=when, now=now, actor=None)


def test_move_a_session_bumps_sequence_and_records_the_change(db, now, changes):
    cohort = _cohort(db, now)
    third = cohort.sessions[2]
    old = third.starts_at
    new = local_to_utc(date(2026, 10, 21), datetime.min.time().replace(hour=14))
    move_session(db.session, third, starts_at=new, now=now, actor=None)
    assert third.starts_at == new and third.ends_at == new + timedelta(minutes=90)
    assert third.sequence == 1
    change = changes[-1]
    assert (change.kind, change.session_id, change.old_starts_at, change.new_starts_at) == ("moved", third.id, old, new)
    assert db.session.query(AuditEvent).filter_by(action="move", entity_id=third.id).count() == 1


def test_a_move_is_rechecked_for_clashes_and_closures(db, now):
    centre = factories.make_centre(db.session, rooms=("Main hall", "Garden room"))
    hall = centre.rooms[1]
    mine = _cohort(db, now, centre, room=hall)
    other = _cohort(db, now, centre, when=datetime(2026, 10, 8, 10, 0), room=hall)  # Thursdays
    db.session.add(ClosureDay(centre_id=centre.id, closure_date=date(2026, 10, 9), reason="Works"))
    db.session.flush()
    session = mine.sessions[0]
    with pytest.raises(Conflict) as err:
        move_session(db.session, session, starts_at=local_to_utc(date(2026, 10, 8), datetime.min.time().replace(hour=11)),
                     now=now)
    assert err.value.field == "starts_at" and f"cohort {other.id}" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        move_session(db.session, session, starts_at=local_to_utc(date(2026, 10, 9), datetime.min.time().replace(hour=10)),
                     now=now)
    assert "closed" in err.value.message and "Works" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        move_session(db.session, session, starts_at=local_to_utc(date(2026, 12, 25), datetime.min.time().replace(hour=10)),
                     now=now)
    assert "Christmas Day" in err.value.message
    with pytest.raises(ValidationFailed):
        move_session(db.session, session, starts_at=now - timedelta(days=1), now=now)
    # The same time in another room is fine, and its own old slot does not count as a clash.
    garden = centre.rooms[0]
    move_session(db.session, session, room=garden, now=now)
    assert session.room_id == garden.id and session.sequence == 1
    move_session(db.session, session, starts_at=session.starts_at + timedelta(minutes=30), now=now)
    assert session.sequence == 2


def test_a_session_that_has_started_cannot_be_moved_or_cancelled(db, now):
    cohort = _cohort(db, now)
    first = cohort.sessions[0]
    later = first.starts_at + timedelta(minutes=5)
    with pytest.raises(ValidationFailed):
        move_session(db.session, first, starts_at=first.starts_at + timedelta(days=1), now=later)
    with pytest.raises(ValidationFailed):
        cancel_session(db.session, first, reason="Facilitator ill", now=later)


def test_cancel_with_a_catch_up_after_the_last_session(db, now, changes):
    centre = factories.make_centre(db.session, rooms=("Main hall", "Garden room"))
    # Six Tuesdays from 6 October 2026: the last is 10 November; 17 November is closed.
    db.session.add(ClosureDay(centre_id=centre.id, closure_date=date(2026, 11, 17), reason="Training"))
    db.session.flush()
    cohort = _cohort(db, now, centre)
    second = cohort.sessions[1]
    cancelled, catch_up = cancel_session(db.session, second, reason="Facilitator ill", add_catch_up=True, now=now)
    assert cancelled.status == "cancelled" and cancelled.cancel_reason == "Facilitator ill" and cancelled.sequence == 1
    assert catch_up.is_catch_up and catch_up.number == 7 and catch_up.status == "scheduled"
    assert to_london(catch_up.starts_at).replace(tzinfo=None) == datetime(2026, 11, 24, 10, 0)
    assert catch_up.ends_at - catch_up.starts_at == timedelta(minutes=90)
    assert [c.kind for c in changes][-2:] == ["cancelled", "catch_up_added"]
    assert changes[-2].reason == "Facilitator ill"
    with pytest.raises(ValidationFailed):
        cancel_session(db.session, second, reason="again", now=now)


def test_cancel_needs_a_reason(db, now):
    cohort = _cohort(db, now)
    with pytest.raises(ValidationFailed) as err:
        cancel_session(db.session, cohort.sessions[0], reason="  ", now=now)
    assert err.value.field == "reason"
    assert cohort.sessions[0].status == "scheduled"


def test_a_catch_up_that_would_clash_changes_nothing(db, now):
    centre = factories.make_centre(db.session, rooms=("Main hall", "Garden room"))
    cohort = _cohort(db, now, centre)
    blocker = _cohort(db, now, centre, when=datetime(2026, 11, 17, 9, 30))
    with pytest.raises(Conflict) as err:
        cancel_session(db.session, cohort.sessions[0], reason="Ill", add_catch_up=True, now=now)
    assert err.value.field == "add_catch_up" and f"cohort {blocker.id}" in err.value.message


def test_cancel_a_whole_cohort(db, now, changes):
    cohort = _cohort(db, now)
    after_two = cohort.sessions[1].ends_at
    cancel_cohort(db.session, cohort, reason="Not enough referrals", now=after_two)
    assert cohort.status == "cancelled" and cohort.cancel_reason == "Not enough referrals"
    assert [s.status for s in cohort.sessions] == ["scheduled"] * 2 + ["cancelled"] * 4
    assert changes[-1].kind == "cohort_cancelled" and changes[-1].session_id is None
    with pytest.raises(Conflict):
        cancel_cohort(db.session, cohort, reason="again", now=after_two)
    # its room is free again
    _cohort(db, now, cohort.centre, when=datetime(2026, 10, 27, 10, 0), room=cohort.room)


def test_change_room_moves_future_sessions_and_checks_clashes(db, now, changes):
    centre = factories.make_centre(db.session, rooms=("Main hall", "Garden room"))
    garden, hall = centre.rooms
    cohort = _cohort(db, now, centre, room=hall)
    _cohort(db, now, centre, when=datetime(2026, 11, 10, 11, 0), room=garden)
    with pytest.raises(Conflict) as err:
        change_room(db.session, cohort, garden, now=now)
    assert err.value.field == "room" and cohort.room_id == hall.id
    other = factories.make_centre(db.session)
    with pytest.raises(ValidationFailed):
        change_room(db.session, cohort, other.rooms[0], now=now)


def test_change_room_when_free(db, now, changes):
    centre = factories.make_centre(db.session, rooms=("Main hall", "Garden room"))
    garden, hall = centre.rooms
    cohort = _cohort(db, now, centre, room=hall)
    after_one = cohort.sessions[0].ends_at
    change_room(db.session, cohort, garden, now=after_one)
    assert cohort.room_id == garden.id
    assert [s.room_id for s in cohort.sessions] == [hall.id] + [garden.id] * 5
    assert changes[-1].kind == "room_changed"


def test_capacity_cannot_go_below_enrolled_and_more_places_promote(db, now):
    cohort = factories.make_cohort(db.session, capacity=2)
    factories.make_enrolment(db.session, cohort=cohort)
    factories.make_enrolment(db.session, cohort=cohort)
    waiting = factories.make_enrolment(db.session, cohort=cohort, status="waitlisted", waitlisted_at=now)
    with pytest.raises(ValidationFailed) as err:
        change_capacity(db.session, cohort, 1, now=now)
    assert err.value.field == "capacity" and "2 families" in err.value.message
    promoted = change_capacity(db.session, cohort, 3, now=now)
    assert promoted == [waiting] and waiting.status == "enrolled"
    assert cohort.capacity == 3
