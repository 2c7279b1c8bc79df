"""A whole demo flow through the real API and pages, with a distinctive family, for audit and log tests.

Each step uses the public interface (DESIGN.md) when its route exists, and says which steps
ran; a step whose route is not in the app is skipped, not faked, so the tests stay honest as
features land.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa

from tests import factories
from tests.conftest import TEST_PASSWORD

# Distinctive enough that a match in a log line cannot be a coincidence.
FIRST_NAME = "Zephyrine"
LAST_NAME = "Quillfeather"
MOBILE = "07412 583906"
MOBILE_E164 = "+447412583906"
NEW_MOBILE_E164 = "+447412583977"
POSTCODE = "SE15 4QL"
#: another postcode of the same ward
NEIGHBOUR_POSTCODE = "SE15 1AA"
CHILD_NAME = "Balthazarine"
NOTE_TEXT = "Zephyrine spoke about a difficult week"
FOLLOWUP_NOTE = "Left a voicemail for Zephyrine Quillfeather"


@dataclass
class FlowResult:
    steps: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)


def has_route(app, rule: str, method: str) -> bool:
    return any(r.rule == rule and method in r.methods for r in app.url_map.iter_rules())


def _api(app, user):
    client = app.test_client()
    token = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": TEST_PASSWORD}).json["token"]
    return client, {"Authorization": f"Bearer {token}"}


def run_flow(app, db, clock) -> FlowResult:
    """Create a parent with a child, enrol, mark absent, follow up, change details, write a note, tick."""
    from app.eligibility.models import Ward, WardPostcode
    from app.rota.models import RotaAssignment

    out = FlowResult()
    centre = factories.make_centre(db.session, creche_capacity=12)
    admin = factories.make_user(db.session, role="admin")
    worker = factories.make_user(db.session, role="worker", qualifications=("better_start",), centres=[centre])
    facilitator = factories.make_user(db.session, role="facilitator", qualifications=("clinical", "cosp"),
                                      centres=[centre])
    cohort = factories.make_cohort(db.session, centre=centre, capacity=12)
    for s in cohort.sessions:
        db.session.add(RotaAssignment(session_id=s.id, user_id=facilitator.id, role="facilitator"))
    if db.session.get(WardPostcode, POSTCODE) is None:
        ward = db.session.scalar(sa.select(Ward).where(Ward.name == "Stockwell")) or Ward(name="Stockwell")
        ward.postcodes.append(WardPostcode(postcode=POSTCODE))
        if db.session.get(WardPostcode, NEIGHBOUR_POSTCODE) is None:
            ward.postcodes.append(WardPostcode(postcode=NEIGHBOUR_POSTCODE))
        db.session.add(ward)
    db.session.commit()
    out.ids.update(cohort_id=cohort.id, session_id=cohort.sessions[0].id, admin_id=admin.id, worker_id=worker.id,
                   facilitator_id=facilitator.id)
    api, admin_h = _api(app, admin)

    # 1. the parent, through the API
    if has_route(app, "/api/v1/parents", "POST"):
        response = api.post("/api/v1/parents", headers=admin_h, json={
            "first_name": FIRST_NAME, "last_name": LAST_NAME, "mobile": MOBILE, "postcode": POSTCODE,
            "sms_consent": True, "language": "en", "worker_id": worker.id, "centre_id": centre.id,
            "children": [{"first_name": CHILD_NAME, "date_of_birth": "2025-06-14"}]})
        assert response.status_code == 201, response.json
        out.ids["parent_id"] = response.json["id"]
        out.steps.append("POST /api/v1/parents")
    else:
        from datetime import date

        parent = factories.make_parent(db.session, first_name=FIRST_NAME, last_name=LAST_NAME, mobile=MOBILE_E164,
                                       postcode=POSTCODE, worker_id=worker.id, centre_id=centre.id,
                                       children=[{"first_name": CHILD_NAME, "date_of_birth": date(2025, 6, 14)}])
        db.session.commit()
        out.ids["parent_id"] = parent.id
        out.skipped.append("POST /api/v1/parents (route absent: parent made by a factory)")
    parent_id = out.ids["parent_id"]

    # 2. enrol, through the API (or the places service)
    if has_route(app, "/api/v1/cohorts/<int:cohort_id>/enrolments", "POST"):
        response = api.post(f"/api/v1/cohorts/{cohort.id}/enrolments", headers=admin_h,
                            json={"parent_id": parent_id, "referral_source": "self_referral"})
        assert response.status_code == 201, response.json
        out.ids["enrolment_id"] = response.json["id"]
        out.steps.append("POST /api/v1/cohorts/{id}/enrolments")
    else:
        from app.enrolment.places import enrol_or_waitlist
        from app.parents.models import Parent

        enrolment = enrol_or_waitlist(db.session, cohort, db.session.get(Parent, parent_id),
                                      referral_source="self_referral", now=clock.now, actor=admin)
        db.session.commit()
        out.ids["enrolment_id"] = enrolment.id
        out.skipped.append("enrolment API (route absent: places service used)")

    # 3. the session happens; the facilitator marks the parent absent from a tablet
    session_id = cohort.sessions[0].id
    clock.set(cohort.sessions[0].starts_at + timedelta(minutes=30))
    if has_route(app, "/api/v1/sessions/<int:session_id>/attendance/<int:enrolment_id>", "PUT"):
        fac_api, fac_h = _api(app, facilitator)
        response = fac_api.put(f"/api/v1/sessions/{session_id}/attendance/{out.ids['enrolment_id']}", headers=fac_h,
                               json={"status": "absent", "client_mark_id": str(uuid.uuid4()),
                                     "marked_at": clock.now.isoformat()})
        assert response.status_code in (200, 201), response.json
        out.steps.append("PUT /api/v1/sessions/{id}/attendance/{enrolment_id}")
    else:
        out.skipped.append("attendance API (route absent)")

    # 4. the worker records the follow-up's outcome with a free-text note
    if has_route(app, "/api/v1/follow-ups", "GET"):
        worker_api, worker_h = _api(app, worker)
        listed = worker_api.get("/api/v1/follow-ups?status=open", headers=worker_h).json.get("follow_ups", [])
        mine = [f for f in listed if f.get("parent_id") == parent_id]
        if mine:
            out.ids["followup_id"] = mine[0]["id"]
            response = worker_api.patch(f"/api/v1/follow-ups/{mine[0]['id']}", headers=worker_h,
                                        json={"outcome": "left_message", "note": FOLLOWUP_NOTE})
            assert response.status_code == 200, response.json
            out.steps.append("PATCH /api/v1/follow-ups/{id}")
        else:
            out.skipped.append("follow-up PATCH (no follow-up was opened for the absence)")
    else:
        out.skipped.append("follow-ups API (route absent)")

    # 5. the worker changes the parent's mobile and a child's name
    if has_route(app, "/api/v1/parents/<int:parent_id>", "PATCH"):
        worker_api, worker_h = _api(app, worker)
        response = worker_api.patch(f"/api/v1/parents/{parent_id}", headers=worker_h,
                                    json={"mobile": NEW_MOBILE_E164})
        assert response.status_code == 200, response.json
        out.steps.append("PATCH /api/v1/parents/{id}")
    else:
        out.skipped.append("parent PATCH (route absent)")

    # 6. the facilitator writes a session note on the register page
    if has_route(app, "/sessions/<int:session_id>/note", "POST"):
        page = app.test_client()
        assert page.post("/login", data={"email": facilitator.email, "password": TEST_PASSWORD}).status_code == 302
        response = page.post(f"/sessions/{session_id}/note", data={"body": NOTE_TEXT})
        assert response.status_code in (302, 303), response.status_code
        out.steps.append("POST /sessions/{id}/note")
    else:
        out.skipped.append("session note page (route absent)")

    # 7. the scheduler's tick: reminders, sending, overdue registers, retention
    from app.scheduler import tick

    with app.app_context():
        out.ids["tick"] = len(tick(clock.now + timedelta(days=1)))
    out.steps.append("scheduler tick")
    return out
