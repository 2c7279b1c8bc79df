"""In real Chromium: a worker adds a family with two children and enrols them, one child in the crèche.

Every page on the way passes the axe accessibility check with no serious or critical violations.

Playwright's sync API allows one running instance per thread, and the session-wide ``browser``
fixture of tests/browser/ is not visible here; so each test drives its own Chromium in a
thread of its own, and checks the database from the test's thread afterwards.
"""
import time
from types import SimpleNamespace
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from app.enrolment.models import CrecheBooking, Enrolment
from tests import factories
from tests.browser.conftest import CHROMIUM_ARGS, sign_in
from tests.conftest import CHROMIUM

pytestmark = pytest.mark.browser


def in_browser(steps):
    """Run steps(page) in a fresh tablet-sized Chromium page, in a thread of its own; return its result."""

    def body():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = chromium.new_context(viewport={"width": 820, "height": 1180}, has_touch=True)
                page = context.new_page()
                page.set_default_timeout(10_000)
                return steps(page)
            finally:
                chromium.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(body).result()


def serious_violations(page):
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_enrol_a_family_of_two_with_a_creche_place_in_well_under_a_minute(live_server, db, clock):
    centre = factories.make_centre(db.session, ward="Stockwell")
    cohort = factories.make_cohort(db.session, centre=centre)
    worker = factories.make_user(db.session, role="worker", centres=[centre], full_name="Chloe Baptiste")
    db.session.commit()
    cohort_id, who = cohort.id, SimpleNamespace(email=worker.email)
    in_browser(lambda page: enrol_a_family(page, live_server, who, cohort_id))
    enrolment = db.session.scalars(sa.select(Enrolment)).one()
    assert enrolment.status == "enrolled" and enrolment.referral_source == "midwifery"
    assert db.session.scalar(sa.select(sa.func.count(CrecheBooking.id)).where(CrecheBooking.status == "booked")) == 8


def enrol_a_family(page, live_server, worker, cohort_id):
    sign_in(page, live_server, worker)

    started = time.monotonic()
    page.goto(f"{live_server.url}/families")
    assert serious_violations(page) == []
    page.click("text=Add a family")
    page.fill("#first_name", "Zoë")
    page.fill("#last_name", "O'Connor")
    page.fill("#mobile", "07400 123456")
    page.check("#sms_consent")
    page.fill("#postcode", "sw9 7qd")
    page.fill("#children-0-first_name", "Finn")
    page.fill("#children-0-date_of_birth-day", "1")
    page.fill("#children-0-date_of_birth-month", "6")
    page.fill("#children-0-date_of_birth-year", "2024")
    page.fill("#children-1-first_name", "Nuala")
    page.fill("#children-1-date_of_birth-day", "5")
    page.fill("#children-1-date_of_birth-month", "1")
    page.fill("#children-1-date_of_birth-year", "2026")
    page.click("button[name=save_and_enrol]")
    page.wait_for_url("**/enrol")
    assert serious_violations(page) == []
    page.check(f"input[name=cohort_id][value='{cohort_id}']")
    page.check("text=Nuala")
    page.check("input[name=referral_source][value=midwifery]")
    page.click("button[name=submit]")
    page.wait_for_url("**/families/*")
    elapsed = time.monotonic() - started

    assert "Zoë O'Connor is enrolled in Circle of Security Parenting. Crèche place for Nuala." in page.inner_text("main")
    assert elapsed < 60
    assert serious_violations(page) == []


def test_the_family_form_with_errors_is_accessible_and_keeps_input(live_server, db, clock):
    worker = factories.make_user(db.session, role="worker")
    db.session.commit()
    who = SimpleNamespace(email=worker.email)
    in_browser(lambda page: form_with_errors(page, live_server, who))


def form_with_errors(page, live_server, worker):
    sign_in(page, live_server, worker)
    page.goto(f"{live_server.url}/families/new")
    assert serious_violations(page) == []
    page.fill("#first_name", "أمينة")
    page.fill("#mobile", "020 7946 0000")
    page.fill("#children-0-first_name", "Yusuf")
    page.fill("#children-0-date_of_birth-day", "31")
    page.fill("#children-0-date_of_birth-month", "2")
    page.fill("#children-0-date_of_birth-year", "2025")
    page.press("#first_name", "Enter")  # Enter saves (it does not add a child row)
    page.wait_for_selector(".govuk-error-summary")
    summary = page.inner_text(".govuk-error-summary")
    assert "is a landline" in summary and "Enter the last name" in summary and "must be a real date" in summary
    assert page.input_value("#first_name") == "أمينة" and page.input_value("#children-0-date_of_birth-day") == "31"
    assert page.locator("[name='children-2-first_name']").count() == 0
    assert serious_violations(page) == []
