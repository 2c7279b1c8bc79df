"""Ids in query strings beyond the database's integer range are a 422 naming the field, never a 500."""
import pytest


@pytest.mark.parametrize("path,field", [
    ("/api/v1/messages?parent_id=2147483648", "parent_id"),
    ("/api/v1/cohorts?centre_id=99999999999", "centre_id"),
    ("/api/v1/reports/attendance?from=2026-01-01&to=2026-02-01&centre=2147483648", "centre"),
])
def test_out_of_range_query_ids_are_refused(api_as, path, field):
    response = api_as("admin").get(path)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
