"""The sign-in page in real Chromium: signs in, shows field errors, passes the accessibility check."""
import pytest

from tests import factories
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_sign_in_and_out_in_a_real_browser(live_server, page, db):
    user = factories.make_user(db.session, role="worker", full_name="Amaka Obi")
    db.session.commit()
    sign_in(page, live_server, user)
    assert "Hello, Amaka Obi" in page.inner_text("main")
    page.click("text=Sign out")
    page.wait_for_url("**/login")


def test_wrong_password_shows_an_error_next_to_the_field_and_keeps_the_email(live_server, page, db):
    user = factories.make_user(db.session, role="worker")
    db.session.commit()
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", "wrong-password-123")
    page.click("button[type=submit]")
    assert "There is a problem" in page.inner_text(".govuk-error-summary")
    assert page.input_value("input[name=email]") == user.email
    assert page.locator("#password-error").count() == 1


def test_the_sign_in_page_has_no_serious_accessibility_violations(live_server, page):
    from axe_playwright_python.sync_playwright import Axe

    page.goto(f"{live_server.url}/login")
    results = Axe().run(page)
    serious = [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
