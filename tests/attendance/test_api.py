"""The register API: shape, query count, idempotent PUT, refusals as 422/403, cookie auth needs CSRF."""
import pytest
import sqlalchemy as sa

from app.attendance.models import AttendanceMark
from app.followups.models import FollowUp
from tests.factories import make_cohort, make_creche_booking, make_enrolment, make_parent


def body(status="attended", cid="m-1", marked_at="2026-09-08T10:05", **kw):
    return {"status": status, "client_mark_id": cid, "marked_at": marked_at, **kw}


@pytest.fixture
def api(api_as, group, clock, during):
    clock.set(during)
    return api_as(group.facilitator)


def test_put_creates_then_replays(api, group, db):
    url = f"/api/v1/sessions/{group.session.id}/attendance/{group.enrolment.id}"
    first = api.put(url, json=body(is_late=True))
    assert first.status_code == 201, first.json
    assert first.json["status"] == "attended" and first.json["is_late"] is True
    assert first.json["marked_at"] == "2026-09-08T10:05:00+01:00" and first.json["outcome"] == "applied"
    again = api.put(url, json=body(is_late=True))
    assert again.status_code == 200 and again.json["outcome"] == "replay"
    older = api.put(url, json=body("absent", "m-0", "2026-09-08T10:01"))
    assert older.status_code == 200 and older.json["outcome"] == "stale" and older.json["status"] == "attended"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AttendanceMark)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 0


@pytest.mark.parametrize("payload, field", [
    ({"status": "present", "client_mark_id": "x", "marked_at": "2026-09-08T10:05"}, "status"),
    ({"status": "attended", "client_mark_id": "", "marked_at": "2026-09-08T10:05"}, "client_mark_id"),
    ({"status": "attended", "client_mark_id": "x", "marked_at": "yesterday"}, "marked_at"),
    ({"status": "attended", "client_mark_id": "x", "marked_at": "2026-03-29T01:30"}, "marked_at"),
    ({"status": "attended", "client_mark_id": "x", "marked_at": "2026-09-08T10:05", "is_late": "yes"}, "is_late"),
    ({"status": "attended", "client_mark_id": "x"}, "marked_at"),
    ({"status": "attended", "client_mark_id": "x", "marked_at": "2026-09-08T10:05", "extra": 1}, "extra"),
    ({"status": "attended", "client_mark_id": 7, "marked_at": "2026-09-08T10:05"}, "client_mark_id"),
    ({"status": "attended", "client_mark_id": "a\udaf4b", "marked_at": "2026-09-08T10:05"}, "client_mark_id"),
    ({"status": "attended", "client_mark_id": "a b", "marked_at": "2026-09-08T10:05"}, "client_mark_id"),
    ({"status": "absent", "client_mark_id": "x", "marked_at": "0096-01-17T12:15:51-06:25"}, "marked_at"),
])
def test_bad_input_is_a_422_naming_the_field(api, group, payload, field):
    response = api.put(f"/api/v1/sessions/{group.session.id}/attendance/{group.enrolment.id}", json=payload)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]


def test_not_enrolled_cancelled_and_unknown(api, group, db):
    outsider = make_enrolment(db.session, cohort=make_cohort(db.session))
    group.sessions[1].status = "cancelled"
    db.session.commit()
    r = api.put(f"/api/v1/sessions/{group.session.id}/attendance/{outsider.id}", json=body())
    assert r.status_code == 422 and "enrolment_id" in r.json["error"]["fields"]
    r = api.put(f"/api/v1/sessions/{group.session.id}/attendance/999999", json=body())
    assert r.status_code == 422 and "enrolment_id" in r.json["error"]["fields"]
    r = api.put(f"/api/v1/sessions/{group.sessions[1].id}/attendance/{group.enrolment.id}", json=body(cid="c"))
    assert r.status_code == 422 and "session_id" in r.json["error"]["fields"]
    assert api.put(f"/api/v1/sessions/999999/attendance/{group.enrolment.id}", json=body()).status_code == 404
    assert api.put(f"/api/v1/sessions/x/attendance/{group.enrolment.id}", json=body()).status_code == 404
    r = api.client.put(f"/api/v1/sessions/{group.session.id}/attendance/{group.enrolment.id}", data="{not json",
                       headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"})
    assert r.status_code in (400, 422) and r.json["error"]


def test_roles_and_rota(api_as, group, clock, during):
    clock.set(during)
    url = f"/api/v1/sessions/{group.session.id}/attendance/{group.enrolment.id}"
    assert api_as("facilitator").put(url, json=body()).status_code == 403  # not on this rota
    assert api_as("facilitator").get(f"/api/v1/sessions/{group.session.id}/register").status_code == 403
    assert api_as("worker").put(url, json=body()).status_code == 403
    assert api_as("commissioner").get(f"/api/v1/sessions/{group.session.id}/register").status_code == 403
    assert api_as("admin").put(url, json=body()).status_code == 201


def test_unauthenticated_is_401(client, group):
    r = client.put(f"/api/v1/sessions/{group.session.id}/attendance/{group.enrolment.id}", json=body())
    assert r.status_code == 401


def test_register_shape_and_a_bounded_number_of_queries(api, group, db, during):
    for n in range(15):
        parent = make_parent(db.session, first_name=f"P{n:02d}",
                             children=[{"first_name": f"C{n}a", "date_of_birth": group.cohort.start_date},
                                       {"first_name": f"C{n}b", "date_of_birth": group.cohort.start_date}])
        e = make_enrolment(db.session, cohort=group.cohort, parent=parent)
        make_creche_booking(db.session, group.session, e, child=parent.children[0])
        db.session.add(AttendanceMark(session_id=group.session.id, enrolment_id=e.id, status="attended",
                                      marked_at=during, client_mark_id=f"s{n}"))
    make_enrolment(db.session, cohort=group.cohort, status="waitlisted")
    db.session.commit()
    statements = []
    engine = db.engine

    def count(*args, **kwargs):
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        response = api.get(f"/api/v1/sessions/{group.session.id}/register")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    register_queries = [s for s in statements if "api_tokens" not in s and "FROM users" not in s]
    assert len(register_queries) <= 6, register_queries
    data = response.json
    assert data["session"]["id"] == group.session.id and data["session"]["starts_at"] == "2026-09-08T10:00:00+01:00"
    assert data["counts"] == {"attended": 15, "apologies": 0, "absent": 0, "unmarked": 1}
    assert len(data["parents"]) == 16  # the waiting list is not on the register
    p00 = next(p for p in data["parents"] if p["first_name"] == "P00")
    assert p00["children"] == ["C0a", "C0b"] and p00["status"] == "attended"
    assert p00["creche"][0]["child_first_name"] == "C0a" and p00["creche"][0]["signed_in_at"] is None
    ama = next(p for p in data["parents"] if p["first_name"] == "Ama")
    assert ama["status"] is None and ama["enrolment_id"] == group.enrolment.id


def test_close_and_creche_over_the_api(api, group, db, clock):
    booking = make_creche_booking(db.session, group.session, group.enrolment)
    db.session.commit()
    r = api.post(f"/api/v1/sessions/{group.session.id}/creche/{booking.id}", json={"action": "sign_out"})
    assert r.status_code == 422 and "collected_by" in r.json["error"]["fields"]
    for hostile in ("Mum\x00", "Dad\udaf4"):
        r = api.post(f"/api/v1/sessions/{group.session.id}/creche/{booking.id}",
                     json={"action": "sign_out", "collected_by": hostile})
        assert r.status_code == 422 and "collected_by" in r.json["error"]["fields"]
    assert api.post(f"/api/v1/sessions/{group.session.id}/creche/{booking.id}",
                    json={"action": "sign_in"}).status_code == 200
    r = api.post(f"/api/v1/sessions/{group.session.id}/creche/{booking.id}",
                 json={"action": "sign_out", "collected_by": "Dad"})
    assert r.status_code == 200 and r.json["collected_by"] == "Dad"
    clock.set(group.session.ends_at)
    r = api.post(f"/api/v1/sessions/{group.session.id}/register/close")
    assert r.status_code == 200 and r.json["marked_absent"] == 1
    followup = db.session.scalars(sa.select(FollowUp)).one()
    assert followup.assigned_to_id == group.worker.id


def test_cookie_session_writes_need_the_csrf_header(app, client, group, clock, during):
    """The tablet's script uses the session cookie: it must fetch a token and send it as X-CSRFToken."""
    import re

    from tests.conftest import TEST_PASSWORD

    clock.set(during)
    app.config["WTF_CSRF_ENABLED"] = True
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").data)
    r = client.post("/login", data={"email": group.facilitator.email, "password": TEST_PASSWORD,
                                     "csrf_token": token.group(1).decode()})
    assert r.status_code == 302
    url = f"/api/v1/sessions/{group.session.id}/attendance/{group.enrolment.id}"
    assert client.put(url, json=body()).status_code == 400
    fresh = client.get("/csrf-token")
    assert fresh.status_code == 200 and fresh.headers["Cache-Control"] == "no-store"
    r = client.put(url, json=body(), headers={"X-CSRFToken": fresh.json["csrf_token"]})
    assert r.status_code == 201, r.json


def test_contract_flow_admin_marks_absent_on_a_session_with_no_rota(api_as, db):
    """As ../shared/contract/smoke.py does: a parent with no worker, no rota, a future session."""
    cohort = make_cohort(db.session)
    enrolment = make_enrolment(db.session, cohort=cohort)
    db.session.commit()
    api = api_as("admin")
    s1 = cohort.sessions[0].id
    m = {"status": "absent", "client_mark_id": "0b5e8f0e-0000-4000-8000-000000000001",
         "marked_at": "2026-09-08T10:10:00+01:00"}
    a = api.put(f"/api/v1/sessions/{s1}/attendance/{enrolment.id}", json=m)
    b = api.put(f"/api/v1/sessions/{s1}/attendance/{enrolment.id}", json=m)
    assert (a.status_code, b.status_code) == (201, 200)
    register = api.get(f"/api/v1/sessions/{s1}/register")
    assert register.status_code == 200 and "absent" in str(register.json)
    follow_ups = api.get("/api/v1/follow-ups?status=open").json["follow_ups"]
    assert len(follow_ups) == 1 and follow_ups[0]["assigned_to_id"] is None
