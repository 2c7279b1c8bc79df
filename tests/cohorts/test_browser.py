"""Creating a cohort in real Chromium: errors keep what was typed; the pages pass axe."""
from datetime import date

import pytest

from tests import factories
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def _serious(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_create_a_cohort_in_the_browser(live_server, page, db, clock):
    centre = factories.make_centre(db.session, name="Oak Centre", rooms=("Main hall",))
    admin = factories.make_user(db.session, role="admin")
    db.session.commit()
    sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/cohorts/new")
    assert _serious(page) == []
    page.select_option("select[name=programme]", "circle_of_security")
    page.select_option("select[name=room_id]", str(centre.rooms[0].id))
    page.fill("#start_date-day", "25")
    page.fill("#start_date-month", "12")
    page.fill("#start_date-year", "2026")
    page.fill("input[name=start_time]", "10:00")
    page.fill("input[name=capacity]", "9")
    page.click("button:has-text('Create cohort')")
    assert "Christmas Day" in page.inner_text(".govuk-error-summary")
    assert page.input_value("#start_date-day") == "25"
    assert page.input_value("input[name=capacity]") == "9"
    assert page.input_value("select[name=room_id]") == str(centre.rooms[0].id)
    assert _serious(page) == []
    page.fill("#start_date-day", "6")
    page.fill("#start_date-month", "10")
    page.click("button:has-text('Create cohort')")
    page.wait_for_url("**/cohorts/*")
    assert "Cohort created with 8 sessions" in page.inner_text("main")
    assert "0 of 9 taken" in page.inner_text("main")
    assert _serious(page) == []
    page.goto(f"{live_server.url}/cohorts")
    assert _serious(page) == []
    page.goto(f"{live_server.url}/centres/{centre.id}")
    assert _serious(page) == []


def test_cancel_a_session_with_catch_up_in_the_browser(live_server, page, db, clock):
    cohort = factories.make_cohort(db.session, programme_key="together_time", start_date=date(2026, 10, 6))
    admin = factories.make_user(db.session, role="admin")
    db.session.commit()
    sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/cohorts/{cohort.id}")
    page.click("a:has-text('Cancel session 2')")
    assert _serious(page) == []
    page.check("input[name=add_catch_up]")
    page.fill("textarea[name=reason]", "Facilitator ill")
    page.click("button:has-text('Cancel session')")
    page.wait_for_url(f"**/cohorts/{cohort.id}")
    main = page.inner_text("main")
    assert "Catch-up session added on Tue 17 Nov 2026, 10:00" in main
    assert "Facilitator ill" in main
