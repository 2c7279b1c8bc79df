"""The calendar link page in real Chromium: making a link by touch or keyboard, and the accessibility check."""
import pytest

from tests import factories
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def _serious_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_make_a_parents_link_and_the_page_passes_axe(live_server, page, db):
    admin = factories.make_user(db.session, role="admin")
    parent = factories.make_parent(db.session, first_name="Amara", last_name="Okafor")
    factories.make_enrolment(db.session, parent=parent)
    db.session.commit()
    sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/parents/{parent.id}/calendar")
    assert _serious_violations(page) == []
    page.click("text=Make a calendar link")
    page.wait_for_selector("#calendar-url")
    url = page.input_value("#calendar-url")
    assert url.startswith("https://groupwork.test/calendar/") and url.endswith(".ics")
    assert page.get_attribute("text=Open in a calendar app on this device", "href").startswith("webcal://")
    assert "The calendar link is ready." in page.inner_text("main")
    assert _serious_violations(page) == []


def test_my_calendar_link_page_passes_axe(live_server, page, db):
    me = factories.make_user(db.session, role="facilitator")
    db.session.commit()
    sign_in(page, live_server, me)
    page.goto(f"{live_server.url}/calendar/mine")
    page.click("text=Make a calendar link")
    page.wait_for_selector("#calendar-url")
    assert _serious_violations(page) == []
