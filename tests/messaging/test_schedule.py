"""The outbox computed from the schedule: reminders across a clock change, moves, cancellations, quiet hours."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from app import events
from app.messaging import services
from app.messaging.jobs import queue_due_messages
from app.messaging.models import OutboxMessage
from app.timeutil import local_to_utc, to_london
from tests.factories import make_cohort, make_enrolment, make_parent, make_user

UTC = timezone.utc


def rows(db, **filters):
    stmt = sa.select(OutboxMessage).order_by(OutboxMessage.send_after, OutboxMessage.id)
    for name, value in filters.items():
        stmt = stmt.where(getattr(OutboxMessage, name) == value)
    return db.session.scalars(stmt).all()


def enrol(db, cohort, now, **parent):
    enrolment = make_enrolment(db.session, cohort=cohort, parent=make_parent(db.session, **parent), enrolled_at=now)
    events.enrolment_created.send(enrolment, now=now, actor=None)
    return enrolment


def test_eight_week_cohort_reminders_keep_london_time_across_the_clock_change(db, now):
    # Circle of Security, Tuesdays 10:00 from 8 September 2026; clocks go back on Sunday 25 October
    cohort = make_cohort(db.session, "circle_of_security", start_date=date(2026, 9, 8), start_time=time(10, 0))
    enrolment = enrol(db, cohort, now)

    reminders = rows(db, kind="reminder")
    assert len(reminders) == 16  # 8 sessions x (two days before at 10:00, the morning of at 08:30)
    local = [to_london(r.send_after) for r in reminders]
    assert {(t.strftime("%a %H:%M")) for t in local} == {"Sun 10:00", "Tue 08:30"}
    # the same wall-clock time, so a different UTC time once the clocks went back
    before = [r for r in reminders if r.send_after < datetime(2026, 10, 25, tzinfo=UTC)]
    after = [r for r in reminders if r.send_after > datetime(2026, 10, 25, 2, tzinfo=UTC)]
    assert {r.send_after.strftime("%H:%M") for r in before} == {"09:00", "07:30"}  # BST
    assert {r.send_after.strftime("%H:%M") for r in after} == {"10:00", "08:30"}  # GMT
    assert all(r.enrolment_id == enrolment.id and r.status == "queued" for r in reminders)
    assert "Tuesday 27 October at 10:00" in reminders[-1].body

    confirmation = rows(db, kind="confirmation")
    assert len(confirmation) == 1 and confirmation[0].send_after == now
    assert "/calendar/" in confirmation[0].body and "Tuesday 8 September at 10:00" in confirmation[0].body


def test_reconcile_is_idempotent_and_needs_no_event(db, now):
    cohort = make_cohort(db.session, start_date=date(2026, 9, 8))
    make_enrolment(db.session, cohort=cohort, enrolled_at=now)  # no event fired
    db.session.commit()

    first = queue_due_messages(db.session, now)
    assert first["queued"] >= 3  # confirmation + reminders within the horizon
    count = len(rows(db))
    second = queue_due_messages(db.session, now)
    assert second.get("queued", 0) == 0 and len(rows(db)) == count
    assert len(rows(db, kind="confirmation")) == 1
    # within the horizon only: the first week's reminders, the rest when their week comes
    assert {r.session_id for r in rows(db, kind="reminder")} == {cohort.sessions[0].id}
    queue_due_messages(db.session, now + timedelta(days=7))
    assert {r.session_id for r in rows(db, kind="reminder")} == {s.id for s in cohort.sessions[:2]}


def test_a_duplicate_reminder_is_impossible(db, now):
    cohort = make_cohort(db.session)
    enrolment = enrol(db, cohort, now)
    row = rows(db, kind="reminder")[0]
    try:
        with db.session.begin_nested():
            db.session.add(OutboxMessage(kind="reminder", dedupe_key=row.dedupe_key, to_number=row.to_number,
                                         body="x", send_after=now, parent_id=row.parent_id))
        raise AssertionError("the database accepted a second row with the same dedupe key")
    except sa.exc.IntegrityError:
        pass
    services.queue_for_enrolment(db.session, enrolment, now=now)  # again: nothing new
    assert len(rows(db, kind="reminder")) == 16


def test_parent_without_consent_or_mobile_never_gets_a_row(db, now):
    cohort = make_cohort(db.session)
    enrol(db, cohort, now, sms_consent=False)
    enrol(db, cohort, now, mobile=None)
    enrol(db, cohort, now, sms_opted_out_at=now)
    db.session.commit()
    queue_due_messages(db.session, now)
    assert rows(db) == []


def test_quiet_hours(db, now):
    assert services.after_quiet_hours(datetime(2026, 9, 1, 19, 30, tzinfo=UTC)) == datetime(2026, 9, 2, 7, 0, tzinfo=UTC)
    assert services.after_quiet_hours(datetime(2026, 12, 1, 6, 0, tzinfo=UTC)) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert services.after_quiet_hours(datetime(2026, 12, 1, 19, 59, tzinfo=UTC)) == datetime(2026, 12, 1, 19, 59, tzinfo=UTC)
    evening = datetime(2026, 9, 1, 20, 30, tzinfo=UTC)  # 21:30 in London
    cohort = make_cohort(db.session)
    enrol(db, cohort, evening)
    confirmation = rows(db, kind="confirmation")[0]
    assert to_london(confirmation.send_after).strftime("%d %H:%M") == "02 08:00"


def test_a_moved_session_takes_its_reminders_and_sends_a_notice(db, now):
    from app.cohorts.models import ScheduleChange

    cohort = make_cohort(db.session)
    enrolment = enrol(db, cohort, now)
    session = cohort.sessions[2]  # Tuesday 22 September 10:00
    old = session.starts_at
    session.starts_at = local_to_utc(date(2026, 9, 24), time(13, 30))  # Thursday afternoon
    session.ends_at = session.starts_at + timedelta(hours=2)
    session.sequence += 1
    change = ScheduleChange(cohort_id=cohort.id, session_id=session.id, kind="moved", old_starts_at=old,
                            new_starts_at=session.starts_at)
    db.session.add(change)
    db.session.flush()
    events.schedule_changed.send(change, now=now, actor=None)

    moved = [r for r in rows(db, kind="reminder", session_id=session.id)]
    assert [r.status for r in moved] == ["queued", "queued"]
    assert [to_london(r.send_after).strftime("%a %d %H:%M") for r in moved] == ["Tue 22 10:00", "Thu 24 08:30"]
    assert all(r.dedupe_key.endswith(":v1") and "Thursday 24 September at 13:30" in r.body for r in moved)
    assert len(rows(db, kind="reminder")) == 16  # moved, not duplicated
    notice = rows(db, kind="session_moved")
    assert len(notice) == 1 and "Tuesday 22 September" in notice[0].body and "Thursday 24 September at 13:30" in notice[0].body
    assert change.notified_at == now
    # the tick finds nothing more to do
    db.session.commit()
    queue_due_messages(db.session, now)
    assert len(rows(db, kind="session_moved")) == 1 and len(rows(db, kind="reminder", status="queued")) == 16
    assert enrolment.status == "enrolled"


def test_a_cancelled_session_cancels_its_reminders_even_without_the_event(db, now):
    from app.cohorts.models import ScheduleChange

    cohort = make_cohort(db.session)
    enrol(db, cohort, now)
    session = cohort.sessions[0]
    session.status = "cancelled"
    session.sequence += 1
    db.session.add(ScheduleChange(cohort_id=cohort.id, session_id=session.id, kind="cancelled",
                                  old_starts_at=session.starts_at))
    db.session.commit()
    queue_due_messages(db.session, now)  # no event fired: the tick notices the change row

    assert {r.status for r in rows(db, kind="reminder", session_id=session.id)} == {"cancelled"}
    notice = rows(db, kind="session_cancelled")
    assert len(notice) == 1 and "Tuesday 8 September at 10:00" in notice[0].body
    assert len(rows(db, kind="reminder", status="queued")) == 14


def test_catch_up_session_and_cohort_cancelled(db, now):
    from app.cohorts.models import CohortSession, ScheduleChange

    cohort = make_cohort(db.session, "together_time")
    enrol(db, cohort, now)
    starts = local_to_utc(date(2026, 10, 20), time(10, 0))
    extra = CohortSession(cohort_id=cohort.id, number=7, room_id=cohort.room_id, starts_at=starts,
                          ends_at=starts + timedelta(minutes=90), is_catch_up=True)
    db.session.add(extra)
    db.session.flush()
    change = ScheduleChange(cohort_id=cohort.id, session_id=extra.id, kind="catch_up_added", new_starts_at=starts)
    db.session.add(change)
    db.session.flush()
    events.schedule_changed.send(change, now=now, actor=None)
    assert len(rows(db, kind="session_added")) == 1
    assert len(rows(db, kind="reminder", session_id=extra.id)) == 2

    cohort.status = "cancelled"
    for s in cohort.sessions:
        s.status = "cancelled"
    whole = ScheduleChange(cohort_id=cohort.id, kind="cohort_cancelled")
    db.session.add(whole)
    db.session.flush()
    events.schedule_changed.send(whole, now=now, actor=None)
    assert rows(db, status="queued") == rows(db, kind="cohort_cancelled")
    assert "will not go ahead" in rows(db, kind="cohort_cancelled")[0].body


def test_withdrawal_and_opt_out_cancel_and_opt_in_brings_reminders_back(db, now):
    cohort = make_cohort(db.session)
    withdrawn = enrol(db, cohort, now)
    staying = enrol(db, cohort, now)
    withdrawn.status = "withdrawn"
    withdrawn.withdrawal_reason = "moved away"
    events.enrolment_withdrawn.send(withdrawn, now=now, actor=None, reason="moved away")
    assert {r.status for r in rows(db, enrolment_id=withdrawn.id)} == {"cancelled"}

    parent = staying.parent
    assert services.opt_out(db.session, parent, now=now)
    assert {r.status for r in rows(db, parent_id=parent.id)} == {"cancelled"}
    assert services.opt_in(db.session, parent, now=now + timedelta(days=1))
    reminders = rows(db, parent_id=parent.id, kind="reminder")
    assert {r.status for r in reminders} == {"queued"} and len(reminders) == 16


def test_waiting_list_then_promotion(db, now):
    cohort = make_cohort(db.session)
    enrolment = make_enrolment(db.session, cohort=cohort, status="waitlisted", waitlisted_at=now)
    events.enrolment_created.send(enrolment, now=now, actor=None)
    assert [r.kind for r in rows(db)] == ["waitlisted"]
    assert "waiting list" in rows(db)[0].body

    enrolment.status = "enrolled"
    enrolment.enrolled_at = now
    events.enrolment_promoted.send(enrolment, now=now + timedelta(days=1), actor=None)
    kinds = [r.kind for r in rows(db, status="queued")]
    assert kinds.count("waitlist_promoted") == 1 and kinds.count("reminder") == 16
    assert "confirmation" not in kinds
    db.session.commit()
    queue_due_messages(db.session, now + timedelta(days=1))  # no confirmation on top of the offer
    assert not rows(db, kind="confirmation")


def test_missed_you_after_an_absence_and_withdrawn_when_corrected(db, now):
    from app.attendance.models import AttendanceMark

    cohort = make_cohort(db.session)
    enrolment = enrol(db, cohort, now)
    session = cohort.sessions[0]
    after = session.ends_at + timedelta(minutes=5)
    mark = AttendanceMark(session_id=session.id, enrolment_id=enrolment.id, status="absent", marked_at=after)
    db.session.add(mark)
    db.session.flush()
    events.attendance_marked.send(mark, now=after, actor=None, previous_status=None)
    missed = rows(db, kind="missed_you")
    assert len(missed) == 1 and missed[0].send_after == session.ends_at + services.MISSED_YOU_DELAY
    assert "we missed you" in missed[0].body.lower()

    mark.status = "apologies"
    events.attendance_marked.send(mark, now=after, actor=None, previous_status="absent")
    assert rows(db, kind="missed_you")[0].status == "cancelled"


def test_rota_change_notice_to_staff_with_a_mobile(db, now):
    cohort = make_cohort(db.session)
    with_mobile = make_user(db.session, role="facilitator", mobile="+447700900123", full_name="Grace Obi")
    without = make_user(db.session, role="facilitator")
    session = cohort.sessions[1]
    events.rota_changed.send(session, now=now, actor=None, user_ids=[with_mobile.id, without.id])
    events.rota_changed.send(session, now=now + timedelta(minutes=1), actor=None, user_ids=[with_mobile.id])
    notices = rows(db, kind="rota_changed")
    assert len(notices) == 1 and notices[0].user_id == with_mobile.id
    assert notices[0].body.startswith("Groupwork: your rota has changed") and "Grace" not in notices[0].body


def test_rows_the_reconcile_did_not_make_are_left_alone(db, now):
    cohort = make_cohort(db.session)
    enrolment = make_enrolment(db.session, cohort=cohort, enrolled_at=now - timedelta(days=30))
    session = cohort.sessions[0]
    foreign = OutboxMessage(kind="reminder", dedupe_key=f"reminder:s{session.id}:e{enrolment.id}:2d",
                            parent_id=enrolment.parent_id, session_id=session.id, enrolment_id=enrolment.id,
                            to_number=enrolment.parent.mobile, body="Reminder", send_after=now)
    db.session.add(foreign)
    db.session.commit()
    queue_due_messages(db.session, now)
    db.session.refresh(foreign)
    assert foreign.status == "queued" and foreign.send_after == now
    # and an enrolment from a month ago gets no belated welcome text
    assert rows(db, kind="confirmation") == []
