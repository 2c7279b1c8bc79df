"""Ids beyond any column's range are refused or ignored, never a database error (matters on PostgreSQL)."""


def test_huge_ids_in_queries_and_forms(api_as, client, login_as, db, clock):
    api = api_as("admin")
    r = api.get("/api/v1/cohorts?centre_id=99999999999")
    assert r.status_code == 422 and "centre_id" in r.json["error"]["fields"]
    login_as("admin")
    assert client.get("/cohorts?centre_id=99999999999").status_code == 200
    r = client.post("/cohorts/new", data={"programme": "together_time", "room_id": "99999999999",
                                          "start_date": ["6", "10", "2026"], "start_time": "10:00"})
    assert r.status_code == 400
