"""GET /api/v1/follow-ups and PATCH /api/v1/follow-ups/{id}: scoping, outcomes, errors."""
import pytest

from app.followups.services import open_followup
from tests.factories import make_cohort, make_enrolment, make_parent, make_user


@pytest.fixture
def setup(db, now):
    worker = make_user(db.session, role="worker")
    parent = make_parent(db.session, worker_id=worker.id)
    enrolment = make_enrolment(db.session, cohort=make_cohort(db.session), parent=parent)
    mine = open_followup(db.session, kind="missed_session", parent=parent, enrolment=enrolment,
                         session=enrolment.cohort.sessions[0], now=now, summary="Call")
    unassigned = open_followup(db.session, kind="sms_reply", parent=make_parent(db.session), now=now, summary="Reply")
    db.session.commit()
    return worker, mine, unassigned


def test_admin_sees_all_open_including_unassigned(api_as, setup):
    _, mine, unassigned = setup
    r = api_as("admin").get("/api/v1/follow-ups?status=open")
    assert r.status_code == 200
    assert {f["id"] for f in r.json["follow_ups"]} == {mine.id, unassigned.id}
    coordinator = api_as("admin").get("/api/v1/follow-ups?view=coordinator").json["follow_ups"]
    assert [f["id"] for f in coordinator] == [unassigned.id]


def test_worker_sees_their_own(api_as, setup):
    worker, mine, unassigned = setup
    api = api_as(worker)
    r = api.get("/api/v1/follow-ups?status=open")
    assert [f["id"] for f in r.json["follow_ups"]] == [mine.id]
    assert r.json["follow_ups"][0]["due_date"] == "2026-09-02"
    assert api.get(f"/api/v1/follow-ups/{unassigned.id}").status_code == 404
    assert api.patch(f"/api/v1/follow-ups/{unassigned.id}", json={"outcome": "handled"}).status_code == 404


def test_patch_records_outcomes(api_as, setup, clock):
    worker, mine, _ = setup
    api = api_as(worker)
    r = api.patch(f"/api/v1/follow-ups/{mine.id}", json={"outcome": "no_answer", "note": "Rang at 10", "version": 1})
    assert r.status_code == 200 and r.json["status"] == "open" and r.json["version"] == 2
    r = api.patch(f"/api/v1/follow-ups/{mine.id}", json={"outcome": "coming_next_week", "version": 1})
    assert r.status_code == 409
    r = api.patch(f"/api/v1/follow-ups/{mine.id}", json={"outcome": "coming_next_week"})
    assert r.status_code == 200 and r.json["status"] == "done" and r.json["closed_at"]
    assert api.get("/api/v1/follow-ups?status=open").json["follow_ups"] == []
    assert [f["id"] for f in api.get("/api/v1/follow-ups?status=done").json["follow_ups"]] == [mine.id]


@pytest.mark.parametrize("payload, field", [
    ({"outcome": "vanished"}, "outcome"),
    ({}, "outcome"),
    ({"note": "   "}, "outcome"),
    ({"note": "x" * 2001}, "note"),
    ({"note": "called\x00"}, "note"),
    ({"note": "called \udaf4"}, "note"),
    ({"outcome": "left_message", "version": "1"}, "version"),
    ({"outcome": "left_message", "closed": True}, "closed"),
])
def test_patch_bad_input_is_422(api_as, setup, payload, field):
    worker, mine, _ = setup
    r = api_as(worker).patch(f"/api/v1/follow-ups/{mine.id}", json=payload)
    assert r.status_code == 422 and field in r.json["error"]["fields"], r.json


def test_bad_query_and_roles(api_as, setup):
    assert api_as("admin").get("/api/v1/follow-ups?status=maybe").status_code == 422
    assert api_as("facilitator").get("/api/v1/follow-ups").status_code == 403
    assert api_as("commissioner").get("/api/v1/follow-ups").status_code == 403
