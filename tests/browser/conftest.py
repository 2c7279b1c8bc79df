"""Helpers for browser tests. The fixtures (live_server, browser, context, page) live in tests/conftest.py,
so every feature folder shares one Chromium per test process."""
from __future__ import annotations

from tests.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: F401  (re-exported for tests)


def sign_in(page, live_server, user, password=None):
    """Sign in through the real login page."""
    from tests.conftest import TEST_PASSWORD

    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", password or TEST_PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
