"""The cohorts, sessions and centres API: shapes, 422s naming fields, 409s naming the other cohort."""
from datetime import date

import pytest

from app.centres.models import ClosureDay
from tests import factories


@pytest.fixture
def api(api_as, clock):
    return api_as("admin")


def _centre(db, **kw):
    centre = factories.make_centre(db.session, rooms=("Main hall", "Garden room"), **kw)
    db.session.commit()
    return centre


def test_create_a_cohort_with_defaults(api, db):
    centre = _centre(db)
    r = api.post("/api/v1/cohorts", json={"programme": "together_time", "centre_id": centre.id, "room": "garden room",
                                          "first_session": "2026-10-06T10:00"})
    assert r.status_code == 201, r.json
    body = r.json
    assert body["programme"] == "together_time" and body["room"] == "Garden room"
    assert body["capacity"] == 8 and body["duration_minutes"] == 90
    assert body["first_session"] == "2026-10-06T10:00:00+01:00"
    assert body["places"] == {"capacity": 8, "enrolled": 0, "waitlisted": 0, "free": 8}
    sessions = body["sessions"]
    assert [s["number"] for s in sessions] == [1, 2, 3, 4, 5, 6]
    assert sessions[0] | {"id": 0} == {"id": 0, "number": 1, "starts_at": "2026-10-06T10:00:00+01:00",
                                        "ends_at": "2026-10-06T11:30:00+01:00", "status": "scheduled",
                                        "cancel_reason": None, "is_catch_up": False, "room": "Garden room",
                                        "sequence": 0}
    assert sessions[3]["starts_at"] == "2026-10-27T10:00:00+00:00"  # after the clocks go back

    got = api.get(f"/api/v1/cohorts/{body['id']}")
    assert got.status_code == 200 and got.json["sessions"] == sessions
    listed = api.get("/api/v1/cohorts?programme=together_time&term=2026-autumn")
    assert [c["id"] for c in listed.json["cohorts"]] == [body["id"]]
    assert api.get("/api/v1/cohorts?programme=circle_of_security").json["cohorts"] == []
    assert api.get("/api/v1/cohorts?term=2027-spring").json["cohorts"] == []


def test_unknown_programme_and_every_bad_field_get_a_422(api, db):
    r = api.post("/api/v1/cohorts", json={"programme": "yoga", "centre_id": "1", "first_session": "next tuesday",
                                          "capacity": True})
    assert r.status_code == 422
    fields = r.json["error"]["fields"]
    assert "circle_of_security" in fields["programme"][0] and "together_time" in fields["programme"][0]
    assert set(fields) >= {"programme", "centre_id", "room", "first_session", "capacity"}


@pytest.mark.parametrize("payload, field, words", [
    ({"first_session": "2026-12-25T10:00"}, "first_session", "Christmas Day"),
    ({"first_session": "2027-03-28T01:30"}, "first_session", "does not exist"),
    ({"first_session": "2027-10-31T01:30"}, "first_session", "happens twice"),
    ({"room": "Kitchen"}, "room", "Its rooms: Garden room, Main hall"),
    ({"centre_id": 999999}, "centre_id", "no centre"),
    ({"first_session": "2026-11-17T10:00"}, "first_session", "Staff training"),
])
def test_service_refusals_are_422s_on_the_field(api, db, payload, field, words):
    centre = _centre(db)
    db.session.add(ClosureDay(centre_id=centre.id, closure_date=date(2026, 11, 17), reason="Staff training"))
    db.session.commit()
    body = {"programme": "circle_of_security", "centre_id": centre.id, "room": "Main hall",
            "first_session": "2026-10-06T10:00"} | payload
    r = api.post("/api/v1/cohorts", json=body)
    assert r.status_code == 422, r.json
    assert words in r.json["error"]["fields"][field][0]


def test_room_clash_is_a_409_naming_the_other_cohort(api, db):
    centre = _centre(db)
    first = api.post("/api/v1/cohorts", json={"programme": "circle_of_security", "centre_id": centre.id,
                                              "room": "Main hall", "first_session": "2026-10-06T10:00"}).json
    r = api.post("/api/v1/cohorts", json={"programme": "together_time", "centre_id": centre.id, "room": "Main hall",
                                          "first_session": "2026-10-20T11:00"})
    assert r.status_code == 409
    assert r.json["error"]["code"] == "conflict"
    assert f"cohort {first['id']}" in r.json["error"]["fields"]["room"][0]
    assert f"cohort {first['id']}" in r.json["error"]["message"]


def test_move_and_cancel_a_session_with_a_catch_up(api, db):
    centre = _centre(db)
    cohort = api.post("/api/v1/cohorts", json={"programme": "together_time", "centre_id": centre.id,
                                               "room": "Main hall", "first_session": "2026-10-06T10:00"}).json
    second, third = cohort["sessions"][1]["id"], cohort["sessions"][2]["id"]
    moved = api.patch(f"/api/v1/sessions/{second}", json={"starts_at": "2026-10-14T13:00", "sequence": 0})
    assert moved.status_code == 200, moved.json
    assert moved.json["starts_at"] == "2026-10-14T13:00:00+01:00" and moved.json["sequence"] == 1
    stale = api.patch(f"/api/v1/sessions/{second}", json={"starts_at": "2026-10-15T13:00", "sequence": 0})
    assert stale.status_code == 409 and "sequence" in stale.json["error"]["fields"]

    cancelled = api.patch(f"/api/v1/sessions/{third}", json={"status": "cancelled", "reason": "Heating broken",
                                                            "add_catch_up": True})
    assert cancelled.status_code == 200, cancelled.json
    assert cancelled.json["status"] == "cancelled" and cancelled.json["cancel_reason"] == "Heating broken"
    assert cancelled.json["catch_up"]["number"] == 7
    assert cancelled.json["catch_up"]["starts_at"] == "2026-11-17T10:00:00+00:00"
    again = api.get(f"/api/v1/cohorts/{cohort['id']}").json
    assert [s["status"] for s in again["sessions"]].count("scheduled") == 6


@pytest.mark.parametrize("payload, field", [
    ({"status": "cancelled"}, "reason"),
    ({"status": "scheduled", "reason": "x"}, "status"),
    ({}, "_schema"),
    ({"starts_at": "2026-10-14T13:00", "status": "cancelled", "reason": "x"}, "status"),
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"starts_at": "2027-03-28T01:30"}, "starts_at"),
    ({"status": "cancelled", "reason": "x", "add_catch_up": "yes"}, "add_catch_up"),
    ({"colour": "red", "starts_at": "2026-10-14T13:00"}, "colour"),
])
def test_bad_session_patches_are_422s(api, db, payload, field):
    cohort = factories.make_cohort(db.session)
    db.session.commit()
    r = api.patch(f"/api/v1/sessions/{cohort.sessions[0].id}", json=payload)
    assert r.status_code == 422, r.json
    assert field in r.json["error"]["fields"]


def test_missing_session_is_404(api, db):
    assert api.patch("/api/v1/sessions/99999", json={"status": "cancelled", "reason": "x"}).status_code == 404
    assert api.get("/api/v1/cohorts/99999").status_code == 404


def test_patch_a_cohort_capacity_and_cancel(api, db):
    cohort = factories.make_cohort(db.session, capacity=1)
    factories.make_enrolment(db.session, cohort=cohort)
    factories.make_enrolment(db.session, cohort=cohort, status="waitlisted")
    db.session.commit()
    r = api.patch(f"/api/v1/cohorts/{cohort.id}", json={"capacity": 0})
    assert r.status_code == 422
    r = api.patch(f"/api/v1/cohorts/{cohort.id}", json={"capacity": 2})
    assert r.status_code == 200 and r.json["places"] == {"capacity": 2, "enrolled": 2, "waitlisted": 0, "free": 0}
    r = api.patch(f"/api/v1/cohorts/{cohort.id}", json={"status": "cancelled", "reason": "Centre flooded"})
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    assert {s["status"] for s in r.json["sessions"]} == {"cancelled"}


def test_permissions(api_as, client, db, clock):
    cohort = factories.make_cohort(db.session)
    db.session.commit()
    worker = api_as("worker")
    assert worker.get(f"/api/v1/cohorts/{cohort.id}").status_code == 200
    assert worker.get("/api/v1/centres").status_code == 200
    assert worker.post("/api/v1/cohorts", json={}).status_code == 403
    assert worker.patch(f"/api/v1/sessions/{cohort.sessions[0].id}", json={}).status_code == 403
    assert worker.post("/api/v1/centres", json={}).status_code == 403
    assert api_as("commissioner").get("/api/v1/cohorts").status_code == 403
    assert client.get("/api/v1/cohorts").status_code == 401
    assert api_as("facilitator").get("/api/v1/centres").status_code == 200


def test_centres_api(api, db):
    r = api.post("/api/v1/centres", json={"name": "Oak Children's Centre", "address": "1 Oak Road", "postcode": "se5 8rs",
                                          "ward": "Camberwell Green", "creche_capacity": 9,
                                          "rooms": ["Main hall", "Garden room"]})
    assert r.status_code == 201, r.json
    assert r.json["postcode"] == "SE5 8RS" and r.json["rooms"] == ["Garden room", "Main hall"]
    assert r.json["closure_days"] == []
    again = api.post("/api/v1/centres", json={"name": "oak children's centre", "rooms": ["Hall"]})
    assert again.status_code == 409 and "name" in again.json["error"]["fields"]
    bad = api.post("/api/v1/centres", json={"name": "", "rooms": [], "creche_capacity": "9", "postcode": "NOPE"})
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) >= {"name", "rooms", "creche_capacity"}
    bad_postcode = api.post("/api/v1/centres", json={"name": "Elm", "rooms": ["Hall"], "postcode": "NOPE"})
    assert bad_postcode.status_code == 422 and "postcode" in bad_postcode.json["error"]["fields"]
    dup_rooms = api.post("/api/v1/centres", json={"name": "Elm", "rooms": ["Hall", "hall "]})
    assert dup_rooms.status_code == 422 and "rooms" in dup_rooms.json["error"]["fields"]
    listed = api.get("/api/v1/centres").json["centres"]
    assert [c["name"] for c in listed] == ["Oak Children's Centre"]
    assert api.get(f"/api/v1/centres/{r.json['id']}").json["ward"] == "Camberwell Green"
