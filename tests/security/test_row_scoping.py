"""Row-level scoping: facilitators see only their sessions' registers, workers only their families."""
from __future__ import annotations

import pytest

from app.rota.models import RotaAssignment
from tests import factories


def _route(app, rule: str, method: str = "GET") -> None:
    if not any(r.rule == rule and method in r.methods for r in app.url_map.iter_rules()):
        pytest.skip(f"{method} {rule} is not in the app yet")


def _two_centres(db):
    """Two centres, each with a cohort, a family enrolled, a worker and a facilitator on the rota."""
    out = []
    for _ in range(2):
        centre = factories.make_centre(db.session)
        worker = factories.make_user(db.session, role="worker", centres=[centre])
        facilitator = factories.make_user(db.session, role="facilitator", qualifications=("cosp",))
        cohort = factories.make_cohort(db.session, centre=centre)
        parent = factories.make_parent(db.session, centre_id=centre.id, worker_id=worker.id)
        enrolment = factories.make_enrolment(db.session, cohort=cohort, parent=parent)
        for s in cohort.sessions:
            db.session.add(RotaAssignment(session_id=s.id, user_id=facilitator.id, role="facilitator"))
        out.append({"centre": centre, "worker": worker, "facilitator": facilitator, "cohort": cohort,
                    "parent": parent, "enrolment": enrolment, "session": cohort.sessions[0]})
    db.session.commit()
    return out


def test_facilitators_open_only_their_sessions_registers(app, db, api_as, clock):
    _route(app, "/api/v1/sessions/<int:session_id>/register")
    mine, theirs = _two_centres(db)
    api = api_as(mine["facilitator"])
    assert api.get(f"/api/v1/sessions/{mine['session'].id}/register").status_code == 200
    assert api.get(f"/api/v1/sessions/{theirs['session'].id}/register").status_code in (403, 404)
    mark = api.put(f"/api/v1/sessions/{theirs['session'].id}/attendance/{theirs['enrolment'].id}",
                   json={"status": "attended", "client_mark_id": "x-1", "marked_at": clock.now.isoformat()})
    assert mark.status_code in (403, 404)


def test_facilitators_register_pages_are_scoped_too(app, client, db, login_as):
    _route(app, "/sessions/<int:session_id>/register")
    mine, theirs = _two_centres(db)
    login_as(mine["facilitator"])
    assert client.get(f"/sessions/{mine['session'].id}/register").status_code == 200
    assert client.get(f"/sessions/{theirs['session'].id}/register").status_code in (403, 404)


def test_workers_see_only_their_centres_families(app, db, api_as):
    _route(app, "/api/v1/parents/<int:parent_id>")
    mine, theirs = _two_centres(db)
    api = api_as(mine["worker"])
    assert api.get(f"/api/v1/parents/{mine['parent'].id}").status_code == 200
    assert api.get(f"/api/v1/parents/{theirs['parent'].id}").status_code == 404
    assert api.patch(f"/api/v1/parents/{theirs['parent'].id}", json={"first_name": "Changed"}).status_code == 404
    listed = api.get("/api/v1/parents").json
    ids = {p["id"] for p in (listed.get("parents") if isinstance(listed, dict) else listed)}
    assert mine["parent"].id in ids and theirs["parent"].id not in ids


def test_workers_cannot_reach_other_families_through_enrolments(app, db, api_as):
    _route(app, "/api/v1/enrolments/<int:enrolment_id>")
    mine, theirs = _two_centres(db)
    api = api_as(mine["worker"])
    assert api.get(f"/api/v1/enrolments/{mine['enrolment'].id}").status_code == 200
    assert api.get(f"/api/v1/enrolments/{theirs['enrolment'].id}").status_code == 404
    assert api.patch(f"/api/v1/enrolments/{theirs['enrolment'].id}",
                     json={"status": "withdrawn", "reason": "x"}).status_code == 404


def test_commissioners_get_aggregates_and_never_names(app, client, db, login_as):
    _route(app, "/reports")
    mine, _theirs = _two_centres(db)
    login_as("commissioner")
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/reports") and "GET" in rule.methods and not rule.arguments:
            response = client.get(rule.rule)
            if response.status_code == 200:
                assert mine["parent"].first_name not in response.get_data(as_text=True), rule.rule
    assert client.get(f"/reports/cohorts/{mine['cohort'].id}/register").status_code == 403
