"""Browser tests: the app served on 127.0.0.1 by a real HTTP server, driven in Debian's Chromium."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import CHROMIUM

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def live_server(app, db):
    """The app served over HTTP on a free loopback port for the duration of a test."""
    app.config["WTF_CSRF_ENABLED"] = True  # the real pages, with real CSRF
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    class Live:
        url = f"http://127.0.0.1:{server.server_port}"

    try:
        yield Live
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser profile (cookies, storage, service workers) per test, tablet-sized."""
    ctx = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    """A new tab."""
    p = context.new_page()
    p.set_default_timeout(10_000)
    yield p
    p.close()


def sign_in(page, live_server, user, password=None):
    """Sign in through the real login page."""
    from tests.conftest import TEST_PASSWORD

    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", password or TEST_PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
