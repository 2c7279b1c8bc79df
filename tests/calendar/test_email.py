"""Calendar invitations by e-mail, sent to a real SMTP server (aiosmtpd) on 127.0.0.1 and parsed back."""
from __future__ import annotations

import email
import socket
from datetime import date, datetime, time, timedelta, timezone
from email import policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app.calendar.email import parse_smtp_url
from app.calendar.jobs import send_due_invites
from app.calendar.models import CalendarInvite
from app.cohorts import services as cohorts
from app.enrolment import services as enrolment_services
from app.timeutil import local_to_utc
from tests import factories
from tests.calendar.readers import read_all

UTC = timezone.utc


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def take(self) -> list[email.message.EmailMessage]:
        taken, self.messages = self.messages, []
        return taken


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(app, db):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    app.config["MAIL_FROM"] = "Groupwork <groups@groupwork.test>"
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def cohort(db):
    """Eight Tuesdays at 10:00 from 6 October 2026."""
    cohort = factories.make_cohort(db.session, start_date=date(2026, 10, 6))
    db.session.commit()
    return cohort


def enrol(db, cohort, now, **parent_fields):
    parent = factories.make_parent(db.session, **{"email": "amara@example.net", "email_consent": True,
                                                  **parent_fields})
    outcome = enrolment_services.enrol(db.session, cohort, parent, referral_source="better_start",
                                       override_reason="Test family", now=now)
    db.session.commit()
    return parent, outcome.enrolment


def calendar_part(message) -> tuple[str, bytes]:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    part = parts[0]
    assert part.get_content_charset() == "utf-8"
    return part.get_param("method"), part.get_content().encode("utf-8")


def plain_text(message) -> str:
    return next(p for p in message.walk() if p.get_content_type() == "text/plain").get_content()


def test_enrolment_sends_one_invitation_per_session(db, inbox, cohort, now):
    parent, _ = enrol(db, cohort, now)
    assert send_due_invites(db.session, now) == {"sent": 8, "skipped": 0, "retry": 0, "failed": 0}
    messages = inbox.take()
    assert len(messages) == 8 and all(r == ["amara@example.net"] for r in inbox.recipients)
    uids = []
    for message, session in zip(messages, cohort.sessions):
        assert message["To"] == "amara@example.net"
        assert message["Subject"].startswith("Invitation: Circle of Security group, ")
        assert message.get_content_type() == "multipart/alternative"
        assert "You are booked on this session" in plain_text(message)
        method, body = calendar_part(message)
        assert method == "REQUEST"
        data = read_all(body)
        assert data["method"] == "REQUEST"
        [event] = data["events"]
        assert event["uid"] == f"session-{session.id}@groupwork.test" and event["sequence"] == 0
        assert event["start_local"][11:] == "10:00:00"
        assert b"ORGANIZER;CN=Groupwork:mailto:groups@groupwork.test" in body
        assert b"mailto:amara@example.net" in body
        uids.append(event["uid"])
    assert len(set(uids)) == 8
    # nothing is sent twice
    assert send_due_invites(db.session, now)["sent"] == 0 and inbox.take() == []


def test_a_move_is_a_request_with_the_same_uid_and_a_higher_sequence(db, inbox, cohort, now):
    enrol(db, cohort, now)
    send_due_invites(db.session, now)
    first = {read_all(calendar_part(m)[1])["events"][0]["uid"]: m for m in inbox.take()}
    session = cohort.sessions[4]
    cohorts.move_session(db.session, session, starts_at=local_to_utc(date(2026, 11, 4), time(14, 0)), now=now)
    db.session.commit()
    assert send_due_invites(db.session, now)["sent"] == 1
    [message] = inbox.take()
    method, body = calendar_part(message)
    [event] = read_all(body)["events"]
    assert method == "REQUEST" and event["uid"] in first
    assert event["uid"] == f"session-{session.id}@groupwork.test"
    assert event["sequence"] == 1 and event["start_utc"] == "2026-11-04T14:00:00Z"
    assert message["Subject"].startswith("Updated: ")


def test_a_cancelled_session_is_a_cancel(db, inbox, cohort, now):
    enrol(db, cohort, now)
    send_due_invites(db.session, now)
    inbox.take()
    session = cohort.sessions[2]
    cohorts.cancel_session(db.session, session, reason="Centre closed", now=now)
    db.session.commit()
    send_due_invites(db.session, now)
    [message] = inbox.take()
    method, body = calendar_part(message)
    data = read_all(body)
    assert method == "CANCEL" and data["method"] == "CANCEL"
    [event] = data["events"]
    assert (event["uid"], event["status"], event["sequence"]) == (f"session-{session.id}@groupwork.test", "CANCELLED", 1)
    assert message["Subject"].startswith("Cancelled: ")
    assert "Centre closed" not in message.as_string()


def test_withdrawal_cancels_the_sessions_still_to_come(db, inbox, cohort, now):
    _, enrolment = enrol(db, cohort, now)
    send_due_invites(db.session, now)
    inbox.take()
    after_third = datetime(2026, 10, 21, 12, 0, tzinfo=UTC)
    enrolment_services.withdraw(db.session, enrolment, reason="Back at work", now=after_third)
    db.session.commit()
    assert send_due_invites(db.session, after_third)["sent"] == 5
    cancels = [read_all(calendar_part(m)[1]) for m in inbox.take()]
    assert {c["method"] for c in cancels} == {"CANCEL"}
    assert [c["events"][0]["uid"] for c in cancels] == [f"session-{s.id}@groupwork.test" for s in cohort.sessions[3:]]
    # one above the session's own SEQUENCE, so mail apps act on it
    assert {c["events"][0]["sequence"] for c in cancels} == {1}


def test_no_consent_no_address_or_waiting_list_sends_nothing(db, inbox, cohort, now):
    enrol(db, cohort, now, email_consent=False)
    enrol(db, cohort, now, email=None)
    assert db.session.scalars(sa.select(CalendarInvite)).all() == []
    full = factories.make_cohort(db.session, capacity=1, start_date=date(2027, 1, 5))
    enrol(db, full, now, email="first@example.net")
    assert len(db.session.scalars(sa.select(CalendarInvite)).all()) == 8
    db.session.execute(sa.delete(CalendarInvite))
    db.session.commit()
    enrol(db, full, now, email="waiting@example.net")  # the cohort is full: waiting list
    assert db.session.scalars(sa.select(CalendarInvite)).all() == []
    assert send_due_invites(db.session, now) == {"sent": 0, "skipped": 0, "retry": 0, "failed": 0}


def test_without_smtp_url_nothing_is_queued_or_attempted(app, db, cohort, now):
    app.config["SMTP_URL"] = ""
    enrol(db, cohort, now)
    cohorts.cancel_session(db.session, cohort.sessions[0], reason="Snow", now=now)
    db.session.commit()
    assert db.session.scalars(sa.select(CalendarInvite)).all() == []
    assert send_due_invites(db.session, now) == "disabled"


def test_a_mail_server_that_is_down_means_a_retry_later(app, db, cohort, now):
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"  # nothing listens there
    enrol(db, cohort, now)
    result = send_due_invites(db.session, now)
    assert result == {"sent": 0, "skipped": 0, "retry": 8, "failed": 0}
    invites = db.session.scalars(sa.select(CalendarInvite)).all()
    assert {(i.status, i.attempts, i.last_error) for i in invites} == {("pending", 1, "ConnectionRefusedError")}
    assert all(i.send_after == now + timedelta(minutes=5) for i in invites)
    assert send_due_invites(db.session, now + timedelta(minutes=1))["retry"] == 0  # not due yet


def test_a_claim_left_by_a_crashed_process_is_taken_back(db, inbox, cohort, now):
    enrol(db, cohort, now)
    db.session.execute(sa.update(CalendarInvite).values(status="sending", claimed_at=now))
    db.session.commit()
    assert send_due_invites(db.session, now + timedelta(minutes=1))["sent"] == 0
    assert send_due_invites(db.session, now + timedelta(minutes=11))["sent"] == 8


@pytest.mark.parametrize("url,expected", [
    ("smtp://mail.example.org", ("mail.example.org", 25, None, None, None)),
    ("smtp://u%40x:p%3Ass@mail.example.org:2525", ("mail.example.org", 2525, "u@x", "p:ss", None)),
    ("smtp://u:p@mail.example.org?starttls=true", ("mail.example.org", 587, "u", "p", "starttls")),
    ("smtp+starttls://mail.example.org", ("mail.example.org", 587, None, None, "starttls")),
    ("smtps://u:p@mail.example.org", ("mail.example.org", 465, "u", "p", "ssl")),
])
def test_parse_smtp_url(url, expected):
    s = parse_smtp_url(url)
    assert (s.host, s.port, s.username, s.password, s.security) == expected


@pytest.mark.parametrize("url", ["http://mail.example.org", "smtp://", "smtp://host:notaport", "mail.example.org"])
def test_bad_smtp_urls_are_refused_without_echoing_secrets(url):
    with pytest.raises(ValueError) as info:
        parse_smtp_url(url)
    assert "notaport" not in str(info.value)


def test_a_bad_smtp_url_does_not_break_the_tick(app, db, cohort, now):
    app.config["SMTP_URL"] = "http://nope"
    assert send_due_invites(db.session, now) == "misconfigured"
