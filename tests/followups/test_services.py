"""Follow-up rules: who gets it, when it is due, idempotence, outcomes that never close a case."""
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.errors import Conflict, ValidationFailed
from app.followups import services
from app.followups.models import FollowUp
from tests.factories import make_cohort, make_enrolment, make_parent, make_user


@pytest.fixture
def family(db):
    worker = make_user(db.session, role="worker")
    parent = make_parent(db.session, worker_id=worker.id)
    cohort = make_cohort(db.session)
    enrolment = make_enrolment(db.session, cohort=cohort, parent=parent)
    return worker, parent, enrolment, cohort.sessions[0]


def test_open_followup_goes_to_the_parents_worker_due_next_working_day(db, family, now):
    worker, parent, enrolment, session = family
    followup = services.open_followup(db.session, kind="missed_session", parent=parent, enrolment=enrolment,
                                      session=session, now=now, summary="Call")
    assert followup.assigned_to_id == worker.id
    assert followup.status == "open" and not followup.is_escalated
    assert followup.due_date == date(2026, 9, 2)  # Tuesday -> Wednesday
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.entity_type == "FollowUp", AuditEvent.parent_id == parent.id)) == 1


def test_friday_evening_is_due_monday_and_bank_holidays_are_skipped(db, family):
    _, parent, _, _ = family
    friday_late = datetime(2026, 8, 28, 22, 30, tzinfo=timezone.utc)  # 23:30 Friday in London
    a = services.open_followup(db.session, kind="sms_reply", parent=parent, now=friday_late, summary="Reply")
    assert a.due_date == date(2026, 9, 1)  # Monday 31 August 2026 is the summer bank holiday
    # 23:30 UTC on Sunday is already Monday 00:30 in London: due Tuesday
    sunday_utc = datetime(2026, 9, 6, 23, 30, tzinfo=timezone.utc)
    b = services.open_followup(db.session, kind="sms_reply", parent=parent, now=sunday_utc, summary="Reply")
    assert b.due_date == date(2026, 9, 8)


def test_without_a_worker_it_goes_to_the_coordinators_list(db, now):
    parent = make_parent(db.session)
    followup = services.open_followup(db.session, kind="sms_reply", parent=parent, now=now, summary="Reply")
    assert followup.assigned_to_id is None
    admin = make_user(db.session, role="admin")
    assert followup in services.list_followups(db.session, admin, view="coordinator")


def test_idempotent_for_enrolment_session_and_kind(db, family, now):
    _, parent, enrolment, session = family
    kwargs = dict(kind="missed_session", parent=parent, enrolment=enrolment, session=session, now=now, summary="x")
    first = services.open_followup(db.session, **kwargs)
    again = services.open_followup(db.session, **kwargs)
    assert first.id == again.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 1
    other_kind = services.open_followup(db.session, **{**kwargs, "kind": "possible_apology"})
    assert other_kind.id != first.id


def test_unknown_kind_is_refused(db, family, now):
    _, parent, _, _ = family
    with pytest.raises(ValidationFailed) as exc:
        services.open_followup(db.session, kind="gossip", parent=parent, now=now, summary="")
    assert exc.value.field == "kind"


def test_no_answer_keeps_it_open_with_a_new_due_date(db, family, now):
    worker, parent, enrolment, session = family
    followup = services.open_followup(db.session, kind="missed_session", parent=parent, enrolment=enrolment,
                                      session=session, now=now, summary="x")
    later = datetime(2026, 9, 4, 14, 0, tzinfo=timezone.utc)  # Friday
    services.record_outcome(db.session, followup, outcome="no_answer", note="Rang twice", now=later, actor=worker)
    assert followup.status == "open" and followup.outcome == "no_answer"
    assert followup.due_date == date(2026, 9, 7)
    assert "Rang twice" in followup.outcome_note


def test_wants_withdraw_closes_the_followup_but_never_the_enrolment(db, family, now):
    worker, parent, enrolment, session = family
    followup = services.open_followup(db.session, kind="missed_session", parent=parent, enrolment=enrolment,
                                      session=session, now=now, summary="x")
    services.record_outcome(db.session, followup, outcome="wants_withdraw", note=None, now=now, actor=worker)
    assert followup.status == "done" and followup.closed_by_id == worker.id
    db.session.refresh(enrolment)
    assert enrolment.status == "enrolled"
    with pytest.raises(Conflict):
        services.record_outcome(db.session, followup, outcome="spoke_to_parent", note=None, now=now, actor=worker)


def test_outcome_validation_and_stale_version(db, family, now):
    worker, parent, enrolment, session = family
    followup = services.open_followup(db.session, kind="missed_session", parent=parent, enrolment=enrolment,
                                      session=session, now=now, summary="x")
    with pytest.raises(ValidationFailed) as exc:
        services.record_outcome(db.session, followup, outcome="vanished", note=None, now=now, actor=worker)
    assert exc.value.field == "outcome"
    with pytest.raises(ValidationFailed):
        services.record_outcome(db.session, followup, outcome=None, note="  ", now=now, actor=worker)
    with pytest.raises(ValidationFailed) as exc:
        services.record_outcome(db.session, followup, outcome=None, note="x" * 2001, now=now, actor=worker)
    assert exc.value.field == "note"
    with pytest.raises(Conflict):
        services.record_outcome(db.session, followup, outcome="left_message", note=None, now=now, actor=worker,
                                expected_version=followup.version + 1)
    services.record_outcome(db.session, followup, outcome=None, note="Texted", now=now, actor=worker)
    assert followup.status == "open" and followup.version == 2


def test_workers_see_their_own_admins_see_all(db, family, now):
    worker, parent, enrolment, session = family
    mine = services.open_followup(db.session, kind="missed_session", parent=parent, enrolment=enrolment,
                                  session=session, now=now, summary="x")
    other_worker = make_user(db.session, role="worker")
    theirs = services.open_followup(db.session, kind="sms_reply", parent=parent, now=now, summary="x",
                                    assigned_to=other_worker)
    unassigned = services.open_followup(db.session, kind="sms_reply", parent=make_parent(db.session), now=now,
                                        summary="x")
    admin = make_user(db.session, role="admin")
    assert services.list_followups(db.session, worker) == [mine]
    assert set(services.list_followups(db.session, admin)) == {mine, theirs, unassigned}
    assert services.list_followups(db.session, admin, view="coordinator") == [unassigned]
    with pytest.raises(Exception):
        services.get_visible(db.session, worker, theirs.id)
