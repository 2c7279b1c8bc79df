"""Input no column can store is refused up front, naming the field, instead of failing in the database."""
from __future__ import annotations

from tests import factories


def test_nul_characters_are_refused_everywhere(app, client, db, api_as):
    api = api_as("admin")
    response = api.post("/api/v1/centres", json={"name": "Nul\x00Centre", "address": "x", "postcode": "SW9 7QD",
                                                 "ward": "Stockwell", "creche_capacity": 3, "rooms": ["Hall"]})
    assert response.status_code == 422 and "name" in response.json["error"]["fields"]
    assert api.get("/api/v1/parents?q=a%00b").status_code == 422
    # public routes too: a NUL in a sign-in name must not reach the database
    token = app.test_client().post("/api/v1/auth/tokens", json={"email": "a\x00@example.org", "password": "x" * 12})
    assert token.status_code == 422 and "email" in token.json["error"]["fields"]
    assert client.post("/login", data={"email": "a\x00@example.org", "password": "whatever"}).status_code == 400


def test_json_integers_beyond_32_bits_are_refused(api_as, db):
    api = api_as("admin")
    cohort = factories.make_cohort(db.session)
    db.session.commit()
    response = api.post(f"/api/v1/cohorts/{cohort.id}/enrolments",
                        json={"parent_id": 2**31, "referral_source": "self_referral"})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"parent_id": ["Numbers must be between -2147483648 and 2147483647."]}
    assert api.get("/api/v1/parents/99999999999999999999").status_code == 404


def test_ordinary_input_passes(api_as):
    api = api_as("admin")
    assert api.get("/api/v1/programmes").status_code == 200
