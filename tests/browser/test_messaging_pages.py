"""Messages pages in real Chromium: the wording editor's cost check, and the accessibility check of each page."""
import pytest

from app import events
from tests import factories
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def _serious(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def test_wording_editor_counts_and_warns_then_saves(live_server, page, db):
    admin = factories.make_user(db.session, role="admin")
    db.session.commit()
    sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/messages")
    assert _serious(page) == []
    page.click("a[href='/messages/wording/reminder/en']")
    assert "GSM-7: 1 SMS" in page.inner_text("#segments")
    assert _serious(page) == []
    page.fill("textarea[name=body]", "Hi {first_name} \u2013 {group} at {centre}, {day} at {time}. Can\u2019t come? Reply.")
    page.click("text=Check length and cost")
    assert "UCS-2" in page.inner_text("#segments") and "en dash" in page.inner_text("#ucs2-warning")
    page.fill("textarea[name=body]", "Hi {first_name}, {group} is on {when}")
    page.click("text=Save wording")
    assert "Unknown placeholder {when}" in page.inner_text(".govuk-error-summary")
    assert page.input_value("textarea[name=body]") == "Hi {first_name}, {group} is on {when}"
    assert _serious(page) == []
    page.fill("textarea[name=body]", "Hi {first_name}, {group} at {centre} is on {day} at {time}.")
    page.click("text=Save wording")
    assert "Saved" in page.inner_text(".govuk-notification-banner")


def test_parent_history_page_is_accessible(live_server, page, db):
    from datetime import datetime, timezone

    now = datetime(2026, 9, 1, 9, tzinfo=timezone.utc)
    admin = factories.make_user(db.session, role="admin")
    enrolment = factories.make_enrolment(db.session, enrolled_at=now)
    events.enrolment_created.send(enrolment, now=now, actor=None)
    db.session.commit()
    sign_in(page, live_server, admin)
    page.goto(f"{live_server.url}/messages/parents/{enrolment.parent_id}")
    assert "Enrolment confirmation" in page.inner_text("main")
    assert _serious(page) == []
