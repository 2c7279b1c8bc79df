"""The rota over HTTP: pages, the JSON API, refusals and the role matrix."""
from datetime import date

import pytest
import sqlalchemy as sa

from app import events
from app.rota.models import RotaAssignment
from tests import factories


def staff(db, quals=("cosp",), role="facilitator", **kw):
    user = factories.make_user(db.session, role=role, qualifications=quals, **kw)
    factories.make_availability(db.session, user)
    return user


@pytest.fixture
def cohort(db):
    return factories.make_cohort(db.session, "circle_of_security")  # Tuesdays from 8 Sep 2026, 10:00


# --- API ---------------------------------------------------------------------------------------

def test_autofill_api_returns_what_was_made_and_what_was_not(db, clock, api_as, cohort):
    staff(db, ("cosp",))
    staff(db, ("better_start",))
    db.session.commit()
    api = api_as("admin")
    r = api.post(f"/api/v1/cohorts/{cohort.id}/rota/autofill")
    assert r.status_code == 200, r.json
    assert len(r.json["made"]) == 16 and r.json["unfilled"] == [] and r.json["violations"] == []
    assert r.json["distinct_facilitators"] == {str(cohort.id): 2}


def test_autofill_api_lists_unfilled_with_reasons(db, clock, api_as, cohort):
    staff(db, ("better_start",))
    db.session.commit()
    r = api_as("admin").post(f"/api/v1/cohorts/{cohort.id}/rota/autofill")
    assert r.status_code == 200
    first = r.json["unfilled"][0]
    assert first["session_id"] == cohort.sessions[0].id and first["qualification"] == "cosp"
    assert first["starts_at"] == "2026-09-08T10:00:00+01:00"
    assert first["reason"].startswith("no COSP-trained facilitator is on the staff list")


def test_term_autofill_api_refuses_bad_dates_naming_the_field(db, clock, api_as):
    api = api_as("admin")
    r = api.post("/api/v1/rota/autofill", json={"start_date": "2026-13-01", "end_date": "2026-12-01"})
    assert r.status_code == 422 and "start_date" in r.json["error"]["fields"]
    r = api.post("/api/v1/rota/autofill", json={"start_date": "2026-12-01", "end_date": "2026-09-01"})
    assert r.status_code == 422 and "end_date" in r.json["error"]["fields"]
    r = api.post("/api/v1/rota/autofill", json={"start_date": "2026-09-01"})
    assert r.status_code == 422 and "end_date" in r.json["error"]["fields"]
    r = api.post("/api/v1/rota/autofill", json={"start_date": "2026-09-01", "end_date": "2026-12-18"})
    assert r.status_code == 200


def test_session_rota_shows_people_requirements_and_whether_met(db, clock, api_as, cohort):
    person = staff(db, ("cosp", "clinical"), full_name="Asha Patel")
    factories.make_rota_assignment(db.session, cohort.sessions[0], person)
    db.session.commit()
    r = api_as("facilitator").get(f"/api/v1/sessions/{cohort.sessions[0].id}/rota")
    assert r.status_code == 200
    assert r.json["assignments"] == [{"user_id": person.id, "name": "Asha Patel", "role": "facilitator",
                                      "qualifications": ["clinical", "cosp"], "forced_reason": None,
                                      "is_auto": False}]
    reqs = {q["key"]: q for q in r.json["requirements"]}
    assert reqs["facilitators"] == {"key": "facilitators", "label": "2 facilitators", "needed": 2, "have": 1,
                                    "met": False}
    assert reqs["qualification:cosp"]["met"] is True
    assert reqs["creche"]["needed"] == 0 and reqs["creche"]["met"] is True
    assert r.json["complete"] is False and r.json["gaps"] == ["Needs 1 more facilitator"]
    assert api_as("admin").get("/api/v1/sessions/999999/rota").status_code == 404


def test_assign_swap_remove_over_the_api(db, clock, api_as, cohort):
    a, b = staff(db), staff(db)
    db.session.commit()
    api = api_as("admin")
    url = f"/api/v1/sessions/{cohort.sessions[0].id}/rota"
    r = api.post(url, json={"user_id": a.id, "role": "facilitator"})
    assert r.status_code == 201 and [x["user_id"] for x in r.json["assignments"]] == [a.id]
    r = api.put(f"{url}/{a.id}", json={"user_id": b.id})
    assert r.status_code == 200 and [x["user_id"] for x in r.json["assignments"]] == [b.id]
    assert api.delete(f"{url}/{b.id}").status_code == 204
    assert api.delete(f"{url}/{b.id}").status_code == 404


def test_rule_conflicts_are_409_naming_the_rule_and_bad_input_is_422(db, clock, api_as, cohort):
    on_leave = staff(db)
    factories.make_leave(db.session, on_leave, date(2026, 9, 8))
    unqualified = staff(db, ("creche",))
    busy = staff(db)
    other = factories.make_cohort(db.session, "together_time")  # also Tue 8 Sep, 10:00, another centre
    factories.make_rota_assignment(db.session, other.sessions[0], busy)
    db.session.commit()
    api = api_as("admin")
    url = f"/api/v1/sessions/{cohort.sessions[0].id}/rota"
    for person, rule in ((on_leave, "Leave"), (unqualified, "Qualification"), (busy, "Double booking")):
        r = api.post(url, json={"user_id": person.id, "role": "facilitator"})
        assert r.status_code == 409, r.json
        assert r.json["error"]["fields"]["user_id"][0].startswith(rule + ": ")
    r = api.post(url, json={"user_id": 987654, "role": "facilitator"})
    assert r.status_code == 422 and "user_id" in r.json["error"]["fields"]
    r = api.post(url, json={"user_id": "seven", "role": "boss"})
    assert r.status_code == 422 and set(r.json["error"]["fields"]) == {"user_id", "role"}
    assert db.session.scalar(sa.select(sa.func.count(RotaAssignment.id))) == 1


def test_an_admin_can_force_with_a_reason_which_is_kept(db, clock, api_as, cohort):
    on_leave = staff(db)
    factories.make_leave(db.session, on_leave, date(2026, 9, 8))
    db.session.commit()
    url = f"/api/v1/sessions/{cohort.sessions[0].id}/rota"
    r = api_as("admin").post(url, json={"user_id": on_leave.id, "role": "facilitator",
                                        "force_reason": "Moved her leave; HR record to follow"})
    assert r.status_code == 201
    assert r.json["assignments"][0]["forced_reason"] == "Moved her leave; HR record to follow"


def test_a_published_rota_edit_over_the_api_emits_rota_changed(db, clock, api_as, cohort):
    person = staff(db)
    db.session.commit()
    api = api_as("admin")
    assert api.post(f"/api/v1/cohorts/{cohort.id}/rota/publish").status_code == 200
    seen = []
    listener = lambda sender, **kw: seen.append((sender.id, kw["user_ids"], kw["actor"].id))  # noqa: E731
    events.rota_changed.connect(listener)
    try:
        r = api.post(f"/api/v1/sessions/{cohort.sessions[1].id}/rota", json={"user_id": person.id, "role": "facilitator"})
    finally:
        events.rota_changed.disconnect(listener)
    assert r.status_code == 201
    assert seen == [(cohort.sessions[1].id, [person.id], api.user.id)]


@pytest.mark.parametrize("role, view, edit", [
    ("admin", 200, 201), ("worker", 200, 403), ("facilitator", 200, 403), ("commissioner", 403, 403)])
def test_api_role_matrix(db, clock, api_as, cohort, role, view, edit):
    person = staff(db)
    db.session.commit()
    api = api_as(role)
    sid = cohort.sessions[0].id
    assert api.get(f"/api/v1/sessions/{sid}/rota").status_code == view
    assert api.post(f"/api/v1/sessions/{sid}/rota", json={"user_id": person.id, "role": "facilitator"}).status_code == edit
    assert api.post(f"/api/v1/cohorts/{cohort.id}/rota/autofill").status_code == (200 if role == "admin" else 403)


def test_only_admins_can_force_even_with_rota_manage(db, clock, api_as, cohort, monkeypatch):
    from app.auth import permissions

    # a coordinator role with rota.manage but not rota.force
    monkeypatch.setitem(permissions.ROLE_PERMISSIONS, "worker",
                        permissions.ROLE_PERMISSIONS["worker"] | {"rota.manage"})
    on_leave = staff(db)
    factories.make_leave(db.session, on_leave, date(2026, 9, 8))
    db.session.commit()
    r = api_as("worker").post(f"/api/v1/sessions/{cohort.sessions[0].id}/rota",
                              json={"user_id": on_leave.id, "role": "facilitator", "force_reason": "please"})
    assert r.status_code == 403 and "force_reason" in r.json["error"]["fields"]


# --- pages --------------------------------------------------------------------------------------

def test_term_grid_shows_who_is_on_and_gaps_in_words(db, clock, login_as, client, cohort):
    person = staff(db, full_name="Asha Patel")
    factories.make_rota_assignment(db.session, cohort.sessions[0], person)
    login_as("admin")
    r = client.get("/rota?start_date=7&start_date=9&start_date=2026&end_date=20&end_date=9&end_date=2026")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Week of Mon 07 Sep 2026" in page and "Week of Mon 14 Sep 2026" in page
    assert "Asha Patel" in page
    assert "govuk-tag--red" in page and "Gap" in page and "Needs 1 more facilitator" in page
    assert "Needs 2 more facilitators" in page
    assert "Auto-fill these dates" in page and "Publish rota for these dates" in page


def test_term_grid_summary_reads_as_sentences_and_says_when_a_group_has_no_creche(db, clock, login_as, client,
                                                                                   cohort):
    factories.make_cohort(db.session, "together_time")
    db.session.commit()
    login_as("admin")
    r = client.get("/rota?start_date=7&start_date=9&start_date=2026&end_date=20&end_date=9&end_date=2026")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "with gaps.</strong> 2 cohorts not yet published." in page
    assert "No crèche" in page  # Together Time: no crèche to staff
    assert "Nobody yet" in page  # Circle of Security: a crèche with nobody on it


def test_term_grid_bad_dates_are_shown_next_to_the_field(db, clock, login_as, client):
    login_as("admin")
    r = client.get("/rota?start_date=31&start_date=2&start_date=2026&end_date=1&end_date=3&end_date=2026")
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "From must be a real date" in page and 'value="31"' in page


def test_autofill_and_publish_from_the_pages(db, clock, login_as, client, cohort):
    staff(db), staff(db)
    login_as("admin")
    r = client.post("/rota/autofill", data={"start_date": "2026-09-07", "end_date": "2026-11-30"})
    assert r.status_code == 200 and "16 places filled" in r.get_data(as_text=True)
    r = client.post("/rota/publish", data={"start_date": "2026-09-07", "end_date": "2026-11-30"})
    assert r.status_code == 302
    db.session.refresh(cohort)
    assert cohort.rota_published_at == clock.now
    r = client.post("/rota/autofill", data={"start_date": "junk", "end_date": "2026-11-30"})
    assert r.status_code == 400


def test_session_page_refuses_a_rule_breaking_edit_next_to_the_field(db, clock, login_as, client, cohort):
    on_leave = staff(db, full_name="Ben Okafor")
    factories.make_leave(db.session, on_leave, date(2026, 9, 8))
    login_as("admin")
    url = f"/rota/sessions/{cohort.sessions[0].id}"
    r = client.post(url, data={"user_id": str(on_leave.id), "role": "facilitator", "force_reason": ""})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "Leave: Ben Okafor is on leave on Tue 8 Sep" in page
    assert f'<option value="{on_leave.id}" selected' in page
    r = client.post(url, data={"user_id": str(on_leave.id), "role": "facilitator", "force_reason": "Agreed"})
    assert r.status_code == 302
    assert db.session.scalar(sa.select(RotaAssignment.forced_reason)) == "Agreed"


def test_swap_and_remove_from_the_session_page(db, clock, login_as, client, cohort):
    a, b = staff(db), staff(db)
    factories.make_rota_assignment(db.session, cohort.sessions[0], a)
    login_as("admin")
    sid = cohort.sessions[0].id
    assert client.get(f"/rota/sessions/{sid}/swap/{a.id}").status_code == 200
    assert client.post(f"/rota/sessions/{sid}/swap/{a.id}", data={"user_id": str(b.id)}).status_code == 302
    assert db.session.scalar(sa.select(RotaAssignment.user_id)) == b.id
    assert client.post(f"/rota/sessions/{sid}/remove/{b.id}").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(RotaAssignment.id))) == 0


def test_my_rota_shows_my_published_sessions_only(db, clock, login_as, client, cohort):
    me = staff(db)
    colleague = staff(db, full_name="Someone Else")
    factories.make_rota_assignment(db.session, cohort.sessions[0], me)
    factories.make_rota_assignment(db.session, cohort.sessions[1], colleague)
    draft = factories.make_cohort(db.session, "together_time", start_date=date(2026, 10, 1))
    factories.make_rota_assignment(db.session, draft.sessions[0], me)
    cohort.rota_published_at = clock.now
    login_as(me)
    r = client.get("/rota/mine")
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Tue 08 Sep 2026, 10:00–12:00" in page and "Circle of Security Parenting at" in page
    assert "Tue 15 Sep 2026" not in page  # a colleague's session
    assert "Thu 01 Oct 2026" not in page  # a draft rota
    assert "My rota" in page and "/rota/mine" in page  # in the navigation


@pytest.mark.parametrize("role, grid, mine", [
    ("admin", 200, 200), ("worker", 403, 200), ("facilitator", 403, 200), ("commissioner", 403, 403)])
def test_page_role_matrix(db, clock, login_as, client, cohort, role, grid, mine):
    login_as(role)
    sid = cohort.sessions[0].id
    assert client.get("/rota").status_code == grid
    assert client.get("/rota/mine").status_code == mine
    assert client.get(f"/rota/sessions/{sid}").status_code == grid
    assert client.get(f"/rota/cohorts/{cohort.id}").status_code == grid
    assert client.post(f"/rota/cohorts/{cohort.id}/autofill").status_code == (200 if role == "admin" else 403)


def test_out_of_range_ids_and_dates_are_refused_not_crashed(db, clock, api_as, login_as, client, cohort):
    api = api_as("admin")
    huge = 10**12
    assert api.get(f"/api/v1/sessions/{huge}/rota").status_code == 404
    assert api.post(f"/api/v1/cohorts/{huge}/rota/autofill").status_code == 404
    r = api.post(f"/api/v1/sessions/{cohort.sessions[0].id}/rota", json={"user_id": huge, "role": "facilitator"})
    assert r.status_code == 422 and "user_id" in r.json["error"]["fields"]
    assert api.delete(f"/api/v1/sessions/{cohort.sessions[0].id}/rota/{huge}").status_code == 404
    r = api.post("/api/v1/rota/autofill", json={"start_date": "9999-12-31", "end_date": "9999-12-31"})
    assert r.status_code == 422 and "start_date" in r.json["error"]["fields"]
    login_as("admin")
    assert client.get(f"/rota/sessions/{huge}").status_code == 404
    assert client.get(f"/staff/{huge}").status_code == 404
    r = client.get("/rota?start_date=31&start_date=12&start_date=9999&end_date=31&end_date=12&end_date=9999")
    assert r.status_code == 400 and "Enter a date between the years 2000 and 2100" in r.get_data(as_text=True)
