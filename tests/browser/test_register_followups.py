"""Follow-up pages in real Chromium: a worker records an outcome; no serious accessibility violations."""
from datetime import datetime, timezone

import pytest

from app.followups.services import open_followup
from tests import factories
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def serious_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_worker_follow_up_list_and_outcome(live_server, page, db):
    worker = factories.make_user(db.session, role="worker")
    parent = factories.make_parent(db.session, worker_id=worker.id, first_name="Ama", last_name="Mensah")
    cohort = factories.make_cohort(db.session)
    enrolment = factories.make_enrolment(db.session, cohort=cohort, parent=parent)
    followup = open_followup(db.session, kind="missed_session", parent=parent, enrolment=enrolment,
                             session=cohort.sessions[0], now=datetime(2026, 9, 8, 12, tzinfo=timezone.utc),
                             summary="Call")
    db.session.commit()
    sign_in(page, live_server, worker)
    page.click("text=Follow-ups")
    assert "Ama Mensah" in page.inner_text("main")
    assert serious_violations(page) == []
    page.click(f"#follow-up-{followup.id} a")
    assert serious_violations(page) == []
    page.click("main form [type=submit]")  # nothing chosen
    assert "Choose what happened" in page.inner_text(".govuk-error-summary")
    page.check("input[value=coming_next_week]")
    page.fill("textarea[name=note]", "Baby was poorly; coming next week")
    page.click("main form [type=submit]")
    page.wait_for_url("**/follow-ups")
    assert "Nothing to follow up" in page.inner_text("main")
