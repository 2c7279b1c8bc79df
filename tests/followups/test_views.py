"""Follow-up pages: each worker's list by due date with recent attendance, recording outcomes."""
from datetime import datetime, timezone

import pytest

from app.attendance.models import AttendanceMark
from app.followups.services import open_followup
from tests.factories import make_cohort, make_enrolment, make_parent, make_user


@pytest.fixture
def setup(db, now):
    worker = make_user(db.session, role="worker")
    cohort = make_cohort(db.session)
    parents = [make_parent(db.session, worker_id=worker.id, first_name=n) for n in ("Bola", "Ama")]
    enrolments = [make_enrolment(db.session, cohort=cohort, parent=p) for p in parents]
    s1 = cohort.sessions[0]
    db.session.add(AttendanceMark(session_id=s1.id, enrolment_id=enrolments[1].id, status="absent", marked_at=now))
    later = datetime(2026, 9, 3, 9, 0, tzinfo=timezone.utc)
    first = open_followup(db.session, kind="missed_session", parent=parents[0], enrolment=enrolments[0],
                          session=s1, now=later, summary="Call")
    second = open_followup(db.session, kind="missed_session", parent=parents[1], enrolment=enrolments[1],
                           session=s1, now=now, summary="Call")
    db.session.commit()
    return worker, first, second


def test_list_is_ordered_by_due_date_with_recent_attendance(client, login_as, setup, clock):
    worker, first, second = setup
    clock.set(datetime(2026, 9, 9, 9, 0, tzinfo=timezone.utc))
    login_as(worker)
    html = client.get("/follow-ups").get_data(as_text=True)
    assert html.index("Ama") < html.index("Bola")  # due 2 Sep before 4 Sep
    assert "Session 1: not here" in html and "Overdue" in html
    assert 'href="/follow-ups"' in html or "Follow-ups" in html


def test_recording_an_outcome(client, login_as, setup, db, clock):
    worker, first, _ = setup
    login_as(worker)
    page = client.get(f"/follow-ups/{first.id}")
    assert page.status_code == 200 and "Coming next week" in page.get_data(as_text=True)
    r = client.post(f"/follow-ups/{first.id}", data={"outcome": "", "note": "", "version": "1"})
    assert r.status_code == 422 and "Choose what happened" in r.get_data(as_text=True)
    r = client.post(f"/follow-ups/{first.id}", data={"outcome": "bogus", "note": "kept text", "version": "1"})
    assert r.status_code == 422 and "kept text" in r.get_data(as_text=True)
    r = client.post(f"/follow-ups/{first.id}", data={"outcome": "no_answer", "note": "Rang", "version": "1"})
    assert r.status_code == 303
    db.session.refresh(first)
    assert first.status == "open" and first.outcome == "no_answer"
    r = client.post(f"/follow-ups/{first.id}", data={"outcome": "spoke_to_parent", "version": "1"})
    assert r.status_code == 409  # stale form
    r = client.post(f"/follow-ups/{first.id}", data={"outcome": "spoke_to_parent", "version": "2"})
    assert r.status_code == 303
    db.session.refresh(first)
    assert first.status == "done"


def test_other_workers_cannot_see_it_coordinator_can(client, login_as, setup):
    _, first, _ = setup
    login_as("worker")
    assert client.get(f"/follow-ups/{first.id}").status_code == 404
    assert "Bola" not in client.get("/follow-ups").get_data(as_text=True)


def test_coordinator_list_and_facilitators_refused(client, login_as, setup):
    login_as("admin")
    assert client.get("/follow-ups?view=all").status_code == 200
    assert "Bola" in client.get("/follow-ups?view=all").get_data(as_text=True)
    assert client.get("/follow-ups?view=nonsense").status_code == 200
    client.post("/logout")
    login_as("facilitator")
    assert client.get("/follow-ups").status_code == 403
