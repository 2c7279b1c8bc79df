"""The rota pages in real Chromium: auto-fill and publish a term, and the accessibility check."""
from datetime import date

import pytest

from tests import factories
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def serious_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_coordinator_autofills_and_publishes_a_term_then_staff_see_their_rota(live_server, page, db, clock):
    admin = factories.make_user(db.session, role="admin")
    cohort = factories.make_cohort(db.session, "circle_of_security")
    people = []
    for quals in (("cosp",), ("better_start",)):
        person = factories.make_user(db.session, role="facilitator", qualifications=quals)
        factories.make_availability(db.session, person)
        people.append(person)
    factories.make_leave(db.session, people[0], date(2026, 9, 15))  # the second Tuesday: a gap
    db.session.commit()

    sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/rota?start_date=7&start_date=9&start_date=2026"
              "&end_date=31&end_date=10&end_date=2026")
    assert "Gap" in page.inner_text("main")
    assert serious_violations(page) == []
    page.click("text=Auto-fill these dates")
    main = page.inner_text("main")
    assert "Could not be filled" in main and "No COSP-trained facilitator is free on Tue 15 Sep" in main
    assert serious_violations(page) == []
    page.click("text=Back to the rota")
    page.click("text=Publish rota for these dates")
    assert "Rota published for 1 cohort" in page.inner_text("main")
    db.session.refresh(cohort)
    assert cohort.rota_published_at is not None

    page.click(f"a[href='/rota/sessions/{cohort.sessions[1].id}']")
    assert "Not met" in page.inner_text("main")
    assert serious_violations(page) == []

    for path in (f"/staff/{people[0].id}", "/staff/new", f"/staff/{people[0].id}/edit", "/staff",
                 f"/rota/sessions/{cohort.sessions[0].id}/swap/{people[1].id}", f"/rota/cohorts/{cohort.id}"):
        page.goto(f"{live_server.url}{path}")
        assert serious_violations(page) == [], path
    page.click("text=Sign out")
    sign_in(page, live_server, people[1])
    page.click("text=My rota")
    assert "Tue 08 Sep 2026, 10:00–12:00" in page.inner_text("main")
    assert serious_violations(page) == []
