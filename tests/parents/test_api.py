"""The parents API: E.164 mobiles, 422s naming every field, duplicates (409), scoping, exact names."""
import sqlalchemy as sa

from app.parents.models import Parent
from tests import factories

AMA = {"first_name": "Ama", "last_name": "Mensah", "mobile": "07400 123456", "postcode": "SE24 0AA",
       "language": "en", "sms_consent": True, "children": [{"first_name": "Kofi", "date_of_birth": "2026-05-01"}]}


def test_create_stores_e164_and_returns_the_family(api_as, clock):
    api = api_as("worker")
    response = api.post("/api/v1/parents", json=AMA)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["mobile"] == "+447400123456" and body["postcode"] == "SE24 0AA"
    assert body["children"][0]["first_name"] == "Kofi" and body["children"][0]["date_of_birth"] == "2026-05-01"
    assert body["sms_consent_at"] == "2026-09-01T10:00:00+01:00" and body["sms_consent_by_id"] == api.user.id
    assert body["worker_id"] == api.user.id and body["ethnicity"] == "not_asked"
    assert "Ethnicity" in body["not_asked"] and body["enrolments"] == []
    got = api.get(f"/api/v1/parents/{body['id']}")
    assert got.status_code == 200 and got.json["id"] == body["id"]


def test_a_landline_is_a_422_naming_mobile(api_as, clock):
    response = api_as("worker").post("/api/v1/parents", json={
        "first_name": "A", "last_name": "B", "mobile": "020 7946 0000", "postcode": "SE24 0AA", "sms_consent": True,
        "children": []})
    assert response.status_code == 422
    assert response.json["error"]["fields"]["mobile"] == [
        "020 7946 0000 is a landline: enter a mobile number so we can send reminders"]


def test_every_bad_field_is_named(api_as, clock):
    response = api_as("worker").post("/api/v1/parents", json={
        "first_name": "A", "last_name": "", "mobile": "06 12 34 56 78", "postcode": "NOPE", "email": "x@",
        "children": [{"first_name": "Soon", "due_date": "2027-12-01"}, {"first_name": "Later", "date_of_birth": "2030-01-01"}]})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"last_name", "mobile", "postcode", "email",
                                                     "children.0.due_date", "children.1.date_of_birth"}


def test_schema_errors_name_the_field(api_as, clock):
    response = api_as("worker").post("/api/v1/parents", json={
        "first_name": "A", "last_name": "B", "sms_consent": "yes", "ethnicity": "unknown", "colour": "red",
        "children": [{"first_name": "K", "date_of_birth": "31/12/2025"}]})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"sms_consent", "ethnicity", "colour", "children.0.date_of_birth"}


def test_duplicate_is_a_409_with_the_match_unless_allowed(api_as, clock):
    api = api_as("worker")
    first = api.post("/api/v1/parents", json=AMA).json
    again = api.post("/api/v1/parents", json=AMA)
    assert again.status_code == 409
    error = again.json["error"]
    assert error["code"] == "duplicate" and str(first["id"]) in error["message"]
    assert error["matches"] == [{"id": first["id"], "reason": "the same mobile number"}] and "mobile" in error["fields"]
    allowed = api.post("/api/v1/parents", json=AMA | {"allow_duplicate": True})
    assert allowed.status_code == 201 and allowed.json["id"] != first["id"]


def test_patch_changes_fields_and_children(api_as, clock):
    api = api_as("worker")
    parent = api.post("/api/v1/parents", json=AMA).json
    kofi = parent["children"][0]["id"]
    response = api.patch(f"/api/v1/parents/{parent['id']}", json={
        "first_name": "Zoë", "last_name": "O'Connor", "ethnicity": "prefer_not_to_say", "sms_consent": False,
        "children": [{"id": kofi}, {"first_name": "أمينة", "due_date": "2027-02-01"}]})
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["first_name"], body["last_name"], body["ethnicity"]) == ("Zoë", "O'Connor", "prefer_not_to_say")
    assert [c["first_name"] for c in body["children"]] == ["Kofi", "أمينة"] and not body["sms_consent"]
    bad = api.patch(f"/api/v1/parents/{parent['id']}", json={"mobile": "0161 496 0000"})
    assert bad.status_code == 422 and "mobile" in bad.json["error"]["fields"]


def test_workers_only_reach_their_families(api_as, db, clock):
    north, south = factories.make_centre(db.session), factories.make_centre(db.session)
    worker = factories.make_user(db.session, role="worker", centres=[north])
    theirs = factories.make_parent(db.session, centre_id=north.id)
    other = factories.make_parent(db.session, centre_id=south.id)
    api = api_as(worker)
    listed = api.get("/api/v1/parents").json["parents"]
    assert [p["id"] for p in listed] == [theirs.id]
    assert api.get(f"/api/v1/parents/{other.id}").status_code == 404
    assert api.patch(f"/api/v1/parents/{other.id}", json={"first_name": "X"}).status_code == 404
    assert api_as("facilitator").get("/api/v1/parents").status_code == 403
    assert api_as("commissioner").post("/api/v1/parents", json=AMA).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(Parent.id))) == 2
