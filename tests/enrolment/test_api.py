"""The enrolments API: enrol (201 enrolled/waitlisted), eligibility 422 and override, withdraw and transfer."""
from datetime import date

from app.eligibility.models import Ward, WardPostcode
from tests import factories


def setup_family(db, **parent):
    cohort = factories.make_cohort(db.session)
    parent = factories.make_parent(db.session, children=[{"first_name": "Kofi", "date_of_birth": date(2024, 6, 1)},
                                                         {"first_name": "Esi", "date_of_birth": date(2026, 1, 5)}],
                                   **parent)
    db.session.commit()
    return cohort, parent


def test_enrol_into_a_fresh_cohort_with_a_creche_place(api_as, db, clock):
    cohort, parent = setup_family(db)
    api = api_as("worker")
    parent.worker_id = api.user.id
    db.session.commit()
    response = api.post(f"/api/v1/cohorts/{cohort.id}/enrolments", json={
        "parent_id": parent.id, "referral_source": "midwifery", "creche_child_ids": [parent.children[1].id]})
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "enrolled" and body["cohort_id"] == cohort.id
    assert body["eligibility"]["eligible"] and body["eligibility"]["reasons"] == []
    assert len(body["creche_bookings"]) == 8 and {b["status"] for b in body["creche_bookings"]} == {"booked"}
    assert body["enrolled_at"] == "2026-09-01T10:00:00+01:00"
    again = api.post(f"/api/v1/cohorts/{cohort.id}/enrolments", json={"parent_id": parent.id,
                                                                       "referral_source": "gp"})
    assert again.status_code == 422 and "parent_id" in again.json["error"]["fields"]
    assert api.get(f"/api/v1/enrolments/{body['id']}").json["status"] == "enrolled"


def test_referral_source_is_an_enum_in_the_openapi_document(api_as, db, clock):
    spec = api_as("worker").get("/api/v1/openapi.json").json
    props = spec["components"]["schemas"]["EnrolmentIn"]["properties"]
    assert "midwifery" in props["referral_source"]["enum"]


def test_bad_enrolment_input_is_422_naming_fields(api_as, db, clock):
    cohort, parent = setup_family(db)
    api = api_as("admin")
    response = api.post(f"/api/v1/cohorts/{cohort.id}/enrolments", json={"parent_id": "1", "referral_source": "x"})
    assert response.status_code == 422 and set(response.json["error"]["fields"]) == {"parent_id", "referral_source"}
    response = api.post(f"/api/v1/cohorts/{cohort.id}/enrolments", json={"parent_id": 999, "referral_source": "gp"})
    assert response.status_code == 422 and "parent_id" in response.json["error"]["fields"]
    assert api.post("/api/v1/cohorts/999/enrolments", json={"parent_id": parent.id,
                                                            "referral_source": "gp"}).status_code == 404
    cancelled = factories.make_cohort(db.session, status="cancelled", cancel_reason="x")
    db.session.commit()
    response = api.post(f"/api/v1/cohorts/{cancelled.id}/enrolments", json={"parent_id": parent.id,
                                                                             "referral_source": "gp"})
    assert response.status_code == 422 and "cohort_id" in response.json["error"]["fields"]


def test_eligibility_failure_and_coordinator_override(api_as, db, clock):
    ward = Ward(name="Stockwell", postcodes=[WardPostcode(postcode="SW9 7QD")])
    db.session.add(ward)
    worker = api_as("worker")
    cohort, parent = setup_family(db, postcode="SE1 7PB", worker_id=worker.user.id)
    url = f"/api/v1/cohorts/{cohort.id}/enrolments"
    refused = worker.post(url, json={"parent_id": parent.id, "referral_source": "gp"})
    assert refused.status_code == 422
    assert refused.json["error"]["fields"]["eligibility"] == ["SE1 7PB is not in an eligible ward"]
    not_allowed = worker.post(url, json={"parent_id": parent.id, "referral_source": "gp",
                                         "eligibility_override_reason": "please"})
    assert not_allowed.status_code == 422 and "eligibility_override_reason" in not_allowed.json["error"]["fields"]
    admin = api_as("admin")
    done = admin.post(url, json={"parent_id": parent.id, "referral_source": "gp",
                                 "eligibility_override_reason": "Family moving into the area next month"})
    assert done.status_code == 201
    assert done.json["eligibility_override_reason"] == "Family moving into the area next month"
    assert done.json["eligibility_override_by_id"] == admin.user.id
    assert done.json["eligibility"]["reasons"] == ["SE1 7PB is not in an eligible ward"]


def test_withdraw_and_transfer_through_patch(api_as, db, clock):
    cohort, parent = setup_family(db)
    later = factories.make_cohort(db.session, centre=cohort.centre, start_date=date(2026, 11, 3))
    db.session.commit()
    api = api_as("admin")
    enrolment = api.post(f"/api/v1/cohorts/{cohort.id}/enrolments",
                         json={"parent_id": parent.id, "referral_source": "gp"}).json
    url = f"/api/v1/enrolments/{enrolment['id']}"
    for body, field in [({}, "status"), ({"status": "withdrawn"}, "reason"), ({"status": "gone", "reason": "x"}, "status"),
                        ({"status": "withdrawn", "reason": "x", "transfer_to_cohort_id": later.id}, "status"),
                        ({"transfer_to_cohort_id": 9999}, "transfer_to_cohort_id"),
                        ({"transfer_to_cohort_id": cohort.id}, "transfer_to_cohort_id")]:
        response = api.patch(url, json=body)
        assert response.status_code == 422 and field in response.json["error"]["fields"], (body, response.json)
    assert api.patch(url, json={"transfer_to_cohort_id": later.id, "version": 99}).status_code == 409
    moved = api.patch(url, json={"transfer_to_cohort_id": later.id})
    assert moved.status_code == 200, moved.json
    assert moved.json["status"] == "transferred" and moved.json["transferred_to"]["cohort_id"] == later.id
    new_url = f"/api/v1/enrolments/{moved.json['transferred_to_id']}"
    gone = api.patch(new_url, json={"status": "withdrawn", "reason": "Went back to work"})
    assert gone.status_code == 200 and gone.json["status"] == "withdrawn"
    assert gone.json["withdrawal_reason"] == "Went back to work"
    assert api.patch(new_url, json={"status": "withdrawn", "reason": "again"}).status_code == 422


def test_workers_cannot_enrol_families_they_cannot_see(api_as, db, clock):
    cohort, parent = setup_family(db, centre_id=None)
    worker = api_as("worker")
    response = worker.post(f"/api/v1/cohorts/{cohort.id}/enrolments", json={"parent_id": parent.id,
                                                                             "referral_source": "gp"})
    assert response.status_code == 422 and "parent_id" in response.json["error"]["fields"]
    assert api_as("facilitator").post(f"/api/v1/cohorts/{cohort.id}/enrolments",
                                      json={"parent_id": parent.id, "referral_source": "gp"}).status_code == 403
