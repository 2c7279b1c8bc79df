"""The report pages in real Chromium: the charts render, and no serious accessibility violations."""
import pytest

from tests import factories
from tests.browser.conftest import sign_in
from tests.reports.fixture import NOW, build

pytestmark = pytest.mark.browser

PERIOD = "start=2026-09-01&end=2026-11-30"


def serious_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


@pytest.fixture
def reports_data(app, db):
    app.config["FIXED_NOW"] = NOW
    objects = build(db)
    db.session.commit()
    return objects


def test_the_reports_page_draws_its_charts_and_passes_axe(live_server, page, db, reports_data):
    admin = factories.make_user(db.session, role="admin")
    db.session.commit()
    sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/reports?{PERIOD}")
    charts = page.locator("svg.app-chart")
    assert charts.count() == 3
    for i in range(3):
        box = charts.nth(i).bounding_box()
        assert box and box["width"] > 150 and box["height"] > 100  # drawn, not collapsed
    assert page.locator("svg.app-chart--weeks rect").count() > 10
    assert "Week 1" in page.locator("svg.app-chart--weeks").inner_html()
    assert page.locator("svg.app-chart title").first.text_content()
    assert serious_violations(page) == []
    for path in ("/reports/attendance", "/reports/reach", "/reports/outcomes", "/reports/data-quality"):
        page.goto(f"{live_server.url}{path}?{PERIOD}")
        assert serious_violations(page) == [], path
    page.goto(f"{live_server.url}/reports/cohorts/{reports_data['T'].id}/register")
    assert page.locator("table.app-register tbody tr").count() == 5
    assert serious_violations(page) == []
    page.goto(f"{live_server.url}/sessions/{reports_data['T'].sessions[0].id}/outcomes")
    assert page.locator("fieldset legend").count() == 5
    assert serious_violations(page) == []


def test_the_filter_form_shows_errors_beside_the_fields(live_server, page, db, reports_data):
    admin = factories.make_user(db.session, role="admin")
    db.session.commit()
    sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/reports")
    page.fill("input[name=start]", "2026-10-01")
    page.fill("input[name=end]", "2026-09-01")
    page.click("button:has-text('Show figures')")
    assert "The end date must be the same as or after the start date" in page.inner_text("#end-error")
    assert page.input_value("input[name=start]") == "2026-10-01"
    assert serious_violations(page) == []


def test_the_commissioner_sees_charts_without_names(live_server, page, db, reports_data):
    commissioner = factories.make_user(db.session, role="commissioner")
    db.session.commit()
    sign_in(page, live_server, commissioner)
    page.goto(f"{live_server.url}/reports?{PERIOD}")
    assert page.locator("svg.app-chart").count() == 3
    text = page.content()
    assert "Zedwick" not in text and "&lt;5" in text
    assert serious_violations(page) == []
