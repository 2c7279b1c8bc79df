"""Messaging fixtures: a fake Twilio on 127.0.0.1 driven through the real SDK, and a stand-in calendar link."""
from __future__ import annotations

import pytest

from tests.fake_twilio import FakeTwilio


@pytest.fixture
def fake_twilio(app, db, now):
    """A fresh fake Twilio, with the app configured to send to it through the twilio SDK."""
    fake = FakeTwilio()
    fake.clock = lambda: now
    app.config.update(fake.config())  # the db fixture restores the configuration afterwards
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture(autouse=True)
def calendar_links(monkeypatch):
    """parent_feed_url from the calendar feature, or a stand-in while it is not installed."""
    try:
        import app.calendar.services as calendar_services  # noqa: F401
        have = hasattr(calendar_services, "parent_feed_url")
    except ImportError:
        have = False
    if not have:
        import app.messaging.services as messaging_services

        monkeypatch.setattr(messaging_services, "calendar_link",
                            lambda db, parent, now: f"https://groupwork.test/calendar/p{parent.id}token.ics")
