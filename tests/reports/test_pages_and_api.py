"""Report pages, CSV downloads and the API: same numbers, suppression for commissioners, no names, bad input."""
import csv
import io

import pytest

from app.reports.exports import ATTENDANCE_COLUMNS, DATA_QUALITY_COLUMNS, OUTCOME_COLUMNS, REACH_COLUMNS
from app.reports.services import funder_extract_columns
from tests.reports.fixture import NOW, build

PERIOD = "start=2026-09-01&end=2026-11-30"
NAMES = ("Zedwick", "Aoife", "Bola", "Ciara", "Gita", "Hana", "Ines")


@pytest.fixture
def data(db, clock):
    clock.set(NOW)
    objects = build(db)
    db.session.commit()
    return objects


def parse_csv(response):
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.data.startswith(b"\xef\xbb\xbf")  # the BOM, so Excel reads UTF-8
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_the_index_links_every_report_and_draws_three_charts(client, login_as, data):
    login_as("admin")
    page = client.get(f"/reports?{PERIOD}").get_data(as_text=True)
    assert page.count('<svg class="app-chart') == 3
    assert "<title" in page and "<desc" in page
    for link in ("/reports/attendance?", "/reports/reach?", "/reports/outcomes?", "/reports/data-quality?",
                 "/reports/funder-extract.csv?"):
        assert link in page
    home = client.get("/").get_data(as_text=True)
    assert 'href="/reports"' in home


def test_the_attendance_page_for_an_admin_shows_cohorts_and_exact_counts(client, login_as, data):
    login_as("admin")
    page = client.get(f"/reports/attendance?{PERIOD}").get_data(as_text=True)
    assert "By group (cohort)" in page and f"/reports/cohorts/{data['T'].id}/register" in page
    assert "55%" in page  # 22 of 40 attended


def test_bad_filters_show_messages_beside_the_fields_and_keep_what_was_typed(client, login_as, data):
    login_as("admin")
    response = client.get("/reports/attendance?start=2026-09-30&end=2026-09-01&programme=yoga&centre=999")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The end date must be the same as or after the start date" in page
    assert "Choose a programme from the list" in page and "Choose a centre from the list" in page
    assert 'value="2026-09-30"' in page and 'id="end-error"' in page
    response = client.get("/reports?start=2026-02-30&centre=99999999999999999999")
    assert response.status_code == 400 and "Choose a centre" in response.get_data(as_text=True)
    response = client.get("/reports?start=not-a-date&centre=abc")
    assert response.status_code == 400 and "Enter a real date" in response.get_data(as_text=True)


def test_an_empty_period_gives_zeros_on_the_page(client, login_as, data):
    login_as("admin")
    response = client.get("/reports/attendance?start=2020-01-01&end=2020-01-31")
    assert response.status_code == 200


def test_csv_exports_have_the_right_columns(client, login_as, data):
    login_as("admin")
    rows = parse_csv(client.get(f"/reports/attendance.csv?{PERIOD}"))
    assert list(rows[0]) == ATTENDANCE_COLUMNS
    total = next(r for r in rows if r["level"] == "total")
    assert (total["expected"], total["attended"], total["apologies"], total["absent"]) == ("40", "22", "6", "8")
    assert total["period_start"] == "2026-09-01" and total["period_end"] == "2026-11-30"
    cohort = next(r for r in rows if r["level"] == "cohort")
    assert cohort["cohort_start_date"] == "2026-09-08"
    assert [r["level"] for r in rows].count("week") == 7
    reach = parse_csv(client.get(f"/reports/reach.csv?{PERIOD}"))
    assert list(reach[0]) == REACH_COLUMNS
    assert {"dimension": "ward", "category": "Stockwell", "enrolled": "5", "started": "4"}.items() <= next(
        r for r in reach if r["category"] == "Stockwell").items()
    dq = parse_csv(client.get(f"/reports/data-quality.csv?{PERIOD}"))
    assert list(dq[0]) == DATA_QUALITY_COLUMNS
    outcomes = parse_csv(client.get(f"/reports/outcomes.csv?{PERIOD}"))
    assert list(outcomes[0]) == OUTCOME_COLUMNS and len(outcomes) == 6
    extract = parse_csv(client.get(f"/reports/funder-extract.csv?{PERIOD}"))
    assert list(extract[0]) == funder_extract_columns() and len(extract) == 8
    register = parse_csv(client.get(f"/reports/cohorts/{data['T'].id}/register.csv"))
    assert list(register[0])[:3] == ["name", "enrolment_status", "week_1_2026-09-08"]
    assert register[0]["name"] == "Aoife Zedwick" and register[0]["attended"] == "4"


def test_the_register_page_prints_parents_by_week(client, login_as, data):
    login_as("admin")
    page = client.get(f"/reports/cohorts/{data['T'].id}/register").get_data(as_text=True)
    assert "Aoife Zedwick" in page and "Week 6" in page and "app-register" in page


def test_api_gives_the_same_numbers_as_the_page(api_as, data):
    api = api_as("admin")
    body = api.get("/api/v1/reports/attendance?from=2026-09-01&to=2026-11-30").json
    assert body["suppressed"] is False
    assert (body["total"]["expected"], body["total"]["attended"], body["total"]["apologies"],
            body["total"]["absent"], body["total"]["completed"]) == (40, 22, 6, 8, 3)
    assert body["total"]["attended_share"] == 0.55
    assert len(body["cohorts"]) == 3 and body["period"] == {"from": "2026-09-01", "to": "2026-11-30"}
    only = api.get(f"/api/v1/reports/attendance?from=2026-09-01&to=2026-11-30&programme=circle_of_security"
                   f"&centre={data['y'].id}").json
    assert only["total"]["expected"] == 14


@pytest.mark.parametrize("query, field", [
    ("from=2026-09-30&to=2026-09-01", "to"),
    ("from=30/09/2026", "from"),
    ("programme=yoga", "programme"),
    ("centre=99999", "centre"),
    ("centre=abc", "centre"),
    ("centre=99999999999999999999", "centre"),
    ("centre=-3", "centre"),
    ("colour=red", "colour"),
])
def test_api_bad_input_is_a_422_naming_the_field(api_as, data, query, field):
    response = api_as("admin").get(f"/api/v1/reports/attendance?{query}")
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_api_empty_period_gives_zeros(api_as, data):
    body = api_as("commissioner").get("/api/v1/reports/attendance?from=2020-01-01&to=2020-01-31").json
    assert body["total"]["expected"] == 0 and body["programmes"] == [] and body["total"]["attended_share"] is None


def test_the_commissioner_gets_suppressed_numbers(api_as, data):
    body = api_as("commissioner").get("/api/v1/reports/attendance?from=2026-09-01&to=2026-11-30").json
    assert body["suppressed"] is True and body["cohorts"] == []
    circle = next(r for r in body["programmes"] if r["programme"] == "circle_of_security")
    # 2 apologies, 3 did not attend, 2 places: all small
    assert circle["apologies"] == "<5" and circle["absent"] == "<5" and circle["places_filled"] == "<5"
    assert circle["apologies_share"] is None
    total = body["total"]
    assert total["places_filled"] == 8 and total["completion_eligible"] == 7 and total["unmarked"] == "<5"
    # no count from 1 to 4 is ever shown as a number, and a share is only given from shown counts
    for table in ("programmes", "centres", "weeks", "months"):
        for row in body[table] + [total]:
            for key, value in row.items():
                if key.endswith(("_share", "_rate")) or key in ("key", "label", "programme", "centre_id"):
                    continue
                assert value is None or value in ("<5", "[c]") or not 1 <= value <= 4, (table, key, value)
            for part in ("attended", "apologies", "absent", "unmarked"):
                if not isinstance(row[part], int) or not isinstance(row["expected"], int):
                    assert row[f"{part}_share"] is None


def test_commissioner_never_sees_a_parent_name(client, login_as, api_as, data):
    login_as("commissioner")
    pages = ["/reports", "/reports/attendance", "/reports/reach", "/reports/outcomes", "/reports/attendance.csv",
             "/reports/reach.csv", "/reports/outcomes.csv"]
    for path in pages:
        response = client.get(f"{path}?{PERIOD}")
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        for name in NAMES:
            assert name not in text, (path, name)
    for path in (f"/reports/cohorts/{data['T'].id}/register", f"/reports/cohorts/{data['T'].id}/register.csv",
                 "/reports/data-quality", "/reports/data-quality.csv", "/reports/funder-extract.csv"):
        assert client.get(f"{path}?{PERIOD}").status_code == 403, path
    body = api_as("commissioner").get("/api/v1/reports/attendance?from=2026-09-01&to=2026-11-30").get_data(as_text=True)
    assert not any(name in body for name in NAMES)


def test_commissioner_csv_and_page_show_under_5(client, login_as, data):
    login_as("commissioner")
    rows = parse_csv(client.get(f"/reports/reach.csv?{PERIOD}"))
    brixton = next(r for r in rows if r["category"] == "Brixton")
    assert brixton["enrolled"] == "<5"
    page = client.get(f"/reports/reach?{PERIOD}").get_data(as_text=True)
    assert "&lt;5" in page and "Numbers from 1 to 4 are shown as" in page


@pytest.mark.parametrize("role", ["facilitator", "worker"])
def test_other_roles_cannot_open_reports(client, login_as, data, role):
    login_as(role)
    assert client.get("/reports").status_code == 403
    assert client.get("/reports/attendance.csv").status_code == 403


def test_an_empty_month_chart_is_wide_enough_for_its_message():
    import re

    from app.reports.charts import trend_by_month

    svg = str(trend_by_month([]))
    width = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))
    assert "No sessions held" in svg
    # 16px text starting at x=48: about 8px a character must fit inside the chart
    assert width >= 48 + 8 * len("No sessions held")
