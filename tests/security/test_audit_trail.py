"""Every change to a parent, child, enrolment, mark, follow-up and note is in the audit trail."""
from __future__ import annotations

import sqlalchemy as sa

from app.audit.models import AuditEvent
from tests import factories
from tests.security import flow


def _events(db, **where):
    query = sa.select(AuditEvent)
    for key, value in where.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def test_the_demo_flow_leaves_a_complete_trail(app, db, clock):
    result = flow.run_flow(app, db, clock)
    parent_id = result.ids["parent_id"]
    admin, worker, facilitator = result.ids["admin_id"], result.ids["worker_id"], result.ids["facilitator_id"]
    db.session.expire_all()
    trail = _events(db, parent_id=parent_id)
    by_entity = {}
    for event in trail:
        by_entity.setdefault((event.entity_type, event.action), []).append(event)

    if "POST /api/v1/parents" in result.steps:
        created = by_entity[("Parent", "create")][0]
        assert created.actor_id == admin and created.entity_id == parent_id
        child_created = by_entity[("Child", "create")][0]
        assert child_created.actor_id == admin
    enrolled = by_entity[("Enrolment", "create")][0]
    assert enrolled.entity_id == result.ids["enrolment_id"] and enrolled.changes["status"] == "enrolled"
    if "PUT /api/v1/sessions/{id}/attendance/{enrolment_id}" in result.steps:
        mark = by_entity[("AttendanceMark", "mark")][0]
        assert mark.actor_id == facilitator and mark.changes["status"] == [None, "absent"]
    if "PATCH /api/v1/follow-ups/{id}" in result.steps:
        created = [e for (kind, _), events in by_entity.items() if kind == "FollowUp" for e in events]
        outcome = [e for e in created if e.actor_id == worker]
        assert outcome, [(e.action, e.changes) for e in created]
        changes = outcome[-1].changes
        assert changes["outcome"] == [None, "left_message"]
        # free text records only that it changed, never what it says
        assert changes["outcome_note"] == ["(changed)", "(changed)"]
        assert flow.FOLLOWUP_NOTE not in str(changes)
    if "PATCH /api/v1/parents/{id}" in result.steps:
        update = [e for e in by_entity[("Parent", "update")] if "mobile" in e.changes][0]
        assert update.actor_id == worker
        assert update.changes["mobile"] == [flow.MOBILE_E164, flow.NEW_MOBILE_E164]
    if "POST /sessions/{id}/note" in result.steps:
        notes = _events(db, entity_type="SessionNote")
        assert notes and notes[0].actor_id == facilitator
        assert flow.NOTE_TEXT not in str(notes[0].changes)
    assert all(e.at is not None for e in trail)


def test_admin_reads_a_persons_trail(app, client, db, clock, login_as):
    result = flow.run_flow(app, db, clock)
    admin = login_as("admin")
    page = client.get(f"/audit/parents/{result.ids['parent_id']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Record of changes" in text and "Enrolment" in text and "enrolled" in text
    if "PATCH /api/v1/parents/{id}" in result.steps:
        assert flow.NEW_MOBILE_E164 in text  # old and new values are shown to the admin
    assert client.get("/audit/parents/999999").status_code == 404
    assert admin.role == "admin"


def test_only_admins_read_audit_trails(client, db, login_as):
    parent = factories.make_parent(db.session)
    db.session.commit()
    login_as("worker")
    assert client.get(f"/audit/parents/{parent.id}").status_code == 403


def test_enrolment_withdrawal_and_crèche_changes_are_audited(app, db, now):
    from app.enrolment import services as enrolment_services
    from app.enrolment.creche import book_children

    admin = factories.make_user(db.session, role="admin")
    cohort = factories.make_cohort(db.session, capacity=5)
    parent = factories.make_parent(db.session)
    enrolment = factories.make_enrolment(db.session, cohort=cohort, parent=parent)
    book_children(db.session, enrolment, list(parent.children), now=now, actor=admin)
    enrolment_services.withdraw(db.session, enrolment, reason="Moved away from the area", now=now, actor=admin)
    db.session.commit()
    actions = [(e.entity_type, e.action) for e in _events(db, parent_id=parent.id)]
    assert ("CrecheBooking", "creche_booked") in actions
    assert ("Enrolment", "withdraw") in actions
    withdrawal = [e for e in _events(db, parent_id=parent.id) if e.action == "withdraw"][0]
    assert "Moved away" not in str(withdrawal.changes)  # a reason is free text
