"""`flask scheduler tick --now ...` queues and sends through the twilio SDK, as the contract test expects."""
from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa

from app.messaging.models import OutboxMessage
from tests.factories import make_cohort, make_enrolment, make_parent


def test_tick_sends_the_confirmation_with_a_working_calendar_link(app, db, now, fake_twilio, client):
    cohort = make_cohort(db.session, "circle_of_security", start_date=date(2026, 9, 8))
    parent = make_parent(db.session, mobile="+447400123456", first_name="Ama")
    make_enrolment(db.session, cohort=cohort, parent=parent, enrolled_at=now)  # no event: the tick reconciles
    db.session.commit()

    runner = app.test_cli_runner()
    result = runner.invoke(args=["scheduler", "tick", "--now", "2026-09-01T12:00"])
    assert result.exit_code == 0, result.output
    assert "send_due_messages: {'sent': 1}" in result.output  # the reminders are not due yet
    [sms] = fake_twilio.to("+447400123456")
    assert sms["body"].startswith("Hi Ama, you have a place at Circle of Security group")
    link = re.search(r"https?://\S+/calendar/\S+\.ics", sms["body"]).group(0)
    feed = client.get(link.split("groupwork.test", 1)[1])
    assert feed.status_code == 200 and feed.get_data(as_text=True).count("BEGIN:VEVENT") == 8

    # the same tick again sends nothing more; two days later the first reminder goes
    runner.invoke(args=["scheduler", "tick", "--now", "2026-09-01T12:01"])
    assert len(fake_twilio.messages) == 1
    result = runner.invoke(args=["scheduler", "tick", "--now", "2026-09-06T10:00"])
    assert "send_due_messages: {'sent': 1}" in result.output
    assert "Tuesday 8 September at 10:00" in fake_twilio.messages[-1]["body"]
    db.session.expire_all()
    statuses = dict(db.session.execute(sa.select(OutboxMessage.kind, sa.func.count()).where(
        OutboxMessage.status == "sent").group_by(OutboxMessage.kind)).all())
    assert statuses == {"confirmation": 1, "reminder": 1}


def test_tick_refuses_a_bad_time(app, db):
    result = app.test_cli_runner().invoke(args=["scheduler", "tick", "--now", "next tuesday"])
    assert result.exit_code != 0 and "--now" in result.output
