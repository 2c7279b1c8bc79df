"""Marking rules: once per parent and session, idempotent, last tap wins, refusals, follow-ups."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import events
from app.attendance import services
from app.attendance.models import AttendanceMark, MarkReceipt
from app.audit.models import AuditEvent
from app.errors import PermissionDenied, ValidationFailed
from app.followups.models import FollowUp
from tests.attendance.conftest import at
from tests.factories import make_cohort, make_enrolment, make_parent, make_user


def mark(db, group, status, cid, when, session=None, enrolment=None, actor=None, now=None, **kw):
    return services.mark_attendance(db.session, session or group.session, enrolment or group.enrolment,
                                    status=status, client_mark_id=cid, marked_at=when, now=now or at(when, 1),
                                    actor=actor or group.facilitator, **kw)


def count(db, model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_first_tap_creates_the_mark_and_replay_changes_nothing(db, group, during):
    seen = []

    def receiver(m, **kw):
        seen.append((m.status, kw["previous_status"]))

    events.attendance_marked.connect(receiver, weak=False)
    try:
        first = mark(db, group, "attended", "a-1", during, is_late=True)
        assert first.created and first.changed and first.mark.status == "attended" and first.mark.is_late
        again = mark(db, group, "attended", "a-1", during)
        assert again.outcome == "replay" and not again.changed
        assert again.mark.id == first.mark.id
        # a replay with a different body is still the same tap: nothing changes
        odd = mark(db, group, "absent", "a-1", during)
        assert odd.outcome == "replay" and odd.mark.status == "attended"
    finally:
        events.attendance_marked.disconnect(receiver)  # only ours: the app's own receivers stay
    assert seen == [("attended", None)]
    assert count(db, AttendanceMark) == 1 and count(db, MarkReceipt) == 1
    assert count(db, FollowUp) == 0


def test_later_tap_wins_older_one_is_kept_in_the_audit_trail(db, group, during):
    mark(db, group, "attended", "b-2", at(during, 5))
    stale = mark(db, group, "absent", "b-1", during, now=at(during, 10))
    assert stale.outcome == "stale" and not stale.changed
    stored = db.session.scalars(sa.select(AttendanceMark)).one()
    assert stored.status == "attended" and stored.client_mark_id == "b-2"
    trail = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "mark_stale")).one()
    assert trail.changes["client_mark_id"] == "b-1" and trail.parent_id == group.parent.id
    assert count(db, FollowUp) == 0  # the losing "not here" opens nothing
    # the stale tap replayed: no second audit row
    mark(db, group, "absent", "b-1", during, now=at(during, 20))
    assert count(db, AuditEvent, AuditEvent.action == "mark_stale") == 1
    newer = mark(db, group, "apologies", "b-3", at(during, 6))
    assert newer.changed and newer.previous_status == "attended" and newer.mark.status == "apologies"


def test_a_tablet_clock_ahead_cannot_make_a_tap_unbeatable(db, group, during):
    mark(db, group, "absent", "c-1", during + timedelta(days=2), now=during)
    fixed = mark(db, group, "attended", "c-2", at(during, 1), now=at(during, 2))
    assert fixed.mark.status == "attended"


@pytest.mark.parametrize("status", ["", "present", "ATTENDED", None])
def test_unknown_status_is_refused(db, group, during, status):
    with pytest.raises(ValidationFailed) as exc:
        mark(db, group, status, "d-1", during)
    assert "status" in exc.value.fields


def test_refusals_name_the_field(db, group, during):
    with pytest.raises(ValidationFailed) as exc:
        mark(db, group, "attended", "", during)
    assert "client_mark_id" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        mark(db, group, "attended", "x" * 65, during)
    assert "client_mark_id" in exc.value.fields
    other = make_enrolment(db.session, cohort=make_cohort(db.session))
    with pytest.raises(ValidationFailed) as exc:
        mark(db, group, "attended", "e-1", during, enrolment=other, actor=group.admin)
    assert exc.value.field == "enrolment_id"
    waiting = make_enrolment(db.session, cohort=group.cohort, status="waitlisted")
    with pytest.raises(ValidationFailed) as exc:
        mark(db, group, "attended", "e-2", during, enrolment=waiting)
    assert exc.value.field == "enrolment_id"
    group.sessions[1].status = "cancelled"
    with pytest.raises(ValidationFailed) as exc:
        mark(db, group, "attended", "e-3", during, session=group.sessions[1])
    assert exc.value.field == "session_id"
    assert count(db, AttendanceMark) == 0


def test_facilitator_not_on_the_rota_is_refused_admin_may_mark_anything(db, group, during):
    stranger = make_user(db.session, role="facilitator")
    with pytest.raises(PermissionDenied):
        mark(db, group, "attended", "f-1", during, actor=stranger)
    assert mark(db, group, "attended", "f-2", during, actor=group.admin).created


def test_absent_opens_a_followup_for_the_worker_apologies_do_not(db, group, during):
    mark(db, group, "apologies", "g-1", during)
    assert count(db, FollowUp) == 0
    mark(db, group, "absent", "g-2", at(during, 1))
    followup = db.session.scalars(sa.select(FollowUp)).one()
    assert followup.kind == "missed_session" and followup.assigned_to_id == group.worker.id
    assert followup.session_id == group.session.id and not followup.is_escalated
    # changed to here: the follow-up stays (a person decides it is not needed), none is added
    mark(db, group, "attended", "g-3", at(during, 2))
    mark(db, group, "absent", "g-4", at(during, 3))
    assert count(db, FollowUp) == 1 and followup.status == "open"


def test_two_misses_in_a_row_escalate_to_the_coordinator(db, group, during):
    s1, s2, s3 = group.sessions[:3]
    mark(db, group, "absent", "h-1", during, session=s1)
    mark(db, group, "attended", "h-2", during + timedelta(weeks=1), session=s2, now=during + timedelta(weeks=1))
    mark(db, group, "absent", "h-3", during + timedelta(weeks=2), session=s3, now=during + timedelta(weeks=2))
    assert not any(f.is_escalated for f in db.session.scalars(sa.select(FollowUp)))
    # session 2 was really a miss (corrected later): sessions 2 and 3 are two in a row
    mark(db, group, "absent", "h-4", during + timedelta(weeks=1, minutes=5), session=s2,
         now=during + timedelta(weeks=2, minutes=5))
    escalated = {f.session_id: f.is_escalated for f in db.session.scalars(sa.select(FollowUp))}
    assert escalated == {s1.id: False, s2.id: True, s3.id: True}


def test_a_cancelled_week_between_two_misses_still_counts_as_in_a_row(db, group, during):
    s1, s2, s3 = group.sessions[:3]
    s2.status = "cancelled"
    mark(db, group, "absent", "i-1", during, session=s1)
    mark(db, group, "absent", "i-2", during + timedelta(weeks=2), session=s3, now=during + timedelta(weeks=2))
    f3 = db.session.scalars(sa.select(FollowUp).where(FollowUp.session_id == s3.id)).one()
    assert f3.is_escalated and f3.assigned_to_id == group.worker.id


def test_closing_the_register_marks_the_rest_not_here_once(db, group, during):
    second = make_enrolment(db.session, cohort=group.cohort, parent=make_parent(db.session))
    make_enrolment(db.session, cohort=group.cohort, status="waitlisted")
    mark(db, group, "attended", "j-1", during)
    closing = group.session.ends_at
    assert services.close_register(db.session, group.session, now=closing, actor=group.facilitator) == 1
    auto = db.session.scalars(sa.select(AttendanceMark).where(AttendanceMark.enrolment_id == second.id)).one()
    assert auto.status == "absent" and auto.is_auto
    assert count(db, FollowUp, FollowUp.enrolment_id == second.id) == 1
    assert group.session.register_closed_at == closing
    assert services.close_register(db.session, group.session, now=closing, actor=group.facilitator) == 0
    # a tap that reaches the server later, though made before closing, beats the automatic mark
    late = mark(db, group, "attended", "j-2", during, enrolment=second, now=closing + timedelta(hours=3))
    assert late.changed and late.mark.status == "attended" and not late.mark.is_auto


def test_closing_before_the_session_starts_is_refused(db, group, during):
    with pytest.raises(ValidationFailed):
        services.close_register(db.session, group.session, now=group.session.starts_at - timedelta(minutes=1),
                                actor=group.facilitator)


def test_overdue_registers_are_flagged_once(db, group):
    from app.attendance.jobs import flag_overdue_registers

    s1 = group.session
    just_before = s1.ends_at + timedelta(hours=2) - timedelta(minutes=1)
    assert flag_overdue_registers(db.session, just_before).startswith("0")
    later = s1.ends_at + timedelta(hours=2)
    assert flag_overdue_registers(db.session, later).startswith("1")
    assert flag_overdue_registers(db.session, later + timedelta(minutes=1)).startswith("0")
    db.session.refresh(s1)
    assert s1.register_overdue_flagged_at == later
    flag = db.session.scalars(sa.select(FollowUp).where(FollowUp.kind == "register_overdue")).one()
    assert flag.parent_id is None and flag.is_escalated and flag.assigned_to_id is None
    services.close_register(db.session, s1, now=later + timedelta(minutes=5), actor=group.facilitator)
    assert flag.status == "done"


def test_creche_sign_in_and_out(db, group, during):
    from tests.factories import make_creche_booking

    booking = make_creche_booking(db.session, group.session, group.enrolment)
    with pytest.raises(ValidationFailed) as exc:
        services.sign_out_child(db.session, group.session, booking, collected_by="Ama", now=during,
                                actor=group.facilitator)
    assert exc.value.field == "collected_by"
    services.sign_in_child(db.session, group.session, booking, now=during, actor=group.facilitator)
    with pytest.raises(ValidationFailed) as exc:
        services.sign_out_child(db.session, group.session, booking, collected_by=" ", now=during,
                                actor=group.facilitator)
    assert exc.value.field == "collected_by"
    services.sign_out_child(db.session, group.session, booking, collected_by="Grandma Efua",
                            now=at(during, 100), actor=group.facilitator)
    assert booking.signed_in_at == during and booking.collected_by == "Grandma Efua"
    with pytest.raises(PermissionDenied):
        services.sign_in_child(db.session, group.session, booking, now=during,
                               actor=make_user(db.session, role="facilitator"))


def test_session_note_audit_keeps_only_that_it_changed(db, group, during):
    services.save_note(db.session, group.session, body="Quiet group; Ama's baby unsettled", now=during,
                       actor=group.facilitator)
    services.save_note(db.session, group.session, body="Quiet group", now=at(during, 5), actor=group.facilitator)
    assert services.session_note(db.session, group.session.id).body == "Quiet group"
    trail = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "SessionNote")).all()
    assert len(trail) == 2
    assert "Quiet" not in str([t.changes for t in trail])
    with pytest.raises(ValidationFailed) as exc:
        services.save_note(db.session, group.session, body="x" * 2001, now=during, actor=group.facilitator)
    assert exc.value.field == "body"


def test_register_rows_include_children_and_disambiguate_first_names(db, group, during):
    make_enrolment(db.session, cohort=group.cohort,
                   parent=make_parent(db.session, first_name="Ama", last_name="Kwarteng",
                                      children=[{"first_name": "Esi", "date_of_birth": group.cohort.start_date}]))
    rows = services.register_rows(db.session, group.session)
    assert sorted(r.display_name for r in rows) == ["Ama K.", "Ama T."]
    assert ["Esi"] in [r.children for r in rows]


def test_a_receipt_is_stored_once_and_a_second_one_for_the_same_tap_is_refused(db, group, during):
    """The refusal is what makes a replay racing the first tap change nothing (on both databases)."""
    def receipt():
        return MarkReceipt(client_mark_id="same-tap", session_id=group.session.id, enrolment_id=group.enrolment.id,
                           status="attended", is_late=False, marked_at=during, received_at=during,
                           received_by_id=group.facilitator.id, outcome="applied")

    assert services._add_receipt(db.session, receipt()) is True
    assert services._add_receipt(db.session, receipt()) is False
    assert count(db, MarkReceipt, MarkReceipt.client_mark_id == "same-tap") == 1


def test_tap_by_ids_follows_the_same_rules_as_marking(db, group, during):
    def tap(status, cid, when, session_id=None, enrolment_id=None, actor=None):
        return services.tap(db.session, session_id or group.session.id, enrolment_id or group.enrolment.id,
                            status=status, client_mark_id=cid, marked_at=when, now=at(when, 1),
                            actor=actor or group.facilitator)

    first = tap("attended", "t-1", during)
    assert first.created and first.outcome == "applied"
    assert tap("absent", "t-1", during).outcome == "replay"  # the receipt is read in the same query
    later = tap("apologies", "t-2", at(during, 2))
    assert later.outcome == "applied" and later.previous_status == "attended"
    assert tap("attended", "t-3", at(during, 1)).outcome == "stale"
    with pytest.raises(ValidationFailed) as used:
        tap("attended", "t-2", during, session_id=group.sessions[1].id)
    assert "already used" in str(used.value)
    with pytest.raises(PermissionDenied):
        tap("attended", "t-4", during, actor=make_user(db.session, role="facilitator"))
    with pytest.raises(ValidationFailed):  # an enrolment that does not exist
        tap("attended", "t-5", during, enrolment_id=group.enrolment.id + 999)
    from app.errors import NotFound

    with pytest.raises(NotFound):
        tap("attended", "t-6", during, session_id=group.session.id + 999)
    stored = db.session.scalars(sa.select(AttendanceMark)).all()
    assert [(m.status, m.client_mark_id) for m in stored] == [("apologies", "t-2")]


def test_register_rows_list_each_child_and_booking_once_in_order(db, group):
    from datetime import date

    from tests.factories import make_creche_booking

    twins = make_parent(db.session, first_name="Bea", children=[{"first_name": "Zak", "date_of_birth": date(2025, 9, 1)},
                                                                {"first_name": "Abe", "date_of_birth": date(2025, 9, 1)}])
    enrolment = make_enrolment(db.session, cohort=group.cohort, parent=twins)
    first = make_creche_booking(db.session, group.session, enrolment, child=twins.children[0])
    second = make_creche_booking(db.session, group.session, enrolment, child=twins.children[1])
    make_creche_booking(db.session, group.sessions[1], enrolment, child=twins.children[0])  # another session's
    db.session.commit()
    rows = {r.display_name: r for r in services.register_rows(db.session, group.session)}
    assert rows["Bea"].children == ["Zak", "Abe"]  # in the order they were added
    assert [(b.id, b.child.first_name) for b in rows["Bea"].creche] == [(first.id, "Zak"), (second.id, "Abe")]
    assert rows["Ama"].creche == [] and len(rows) == 2
