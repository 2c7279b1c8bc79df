"""Twilio webhooks: signatures checked against PUBLIC_BASE_URL, status forward only, STOP/START, replies."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from app import events
from app.messaging.models import InboundMessage, OutboxMessage
from tests.factories import make_cohort, make_enrolment, make_parent, make_user

TOKEN = "webhook-test-auth-token"
PUBLIC = "https://groupwork.test"


@pytest.fixture
def signed(app, client, clock):
    """post(path, params, signature=None): a webhook call signed as Twilio signs it (unless told otherwise)."""
    app.config["TWILIO_AUTH_TOKEN"] = TOKEN
    app.config["PUBLIC_BASE_URL"] = PUBLIC

    def post(path, params, signature=None, headers=None):
        if signature is None:
            signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
        h = {"X-Twilio-Signature": signature} if signature is not False else {}
        h.update(headers or {})
        # the test client talks plain http://localhost, like an app behind a TLS proxy
        return client.post(path, data=params, headers=h)

    return post


def inbound(sid, number, body):
    return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "a" * 32, "From": number,
            "To": "+447700900999", "Body": body, "NumSegments": "1"}


def enrolled_parent(db, now, **kw):
    worker = make_user(db.session, role="worker")
    cohort = make_cohort(db.session)
    parent = make_parent(db.session, worker_id=worker.id, **kw)
    enrolment = make_enrolment(db.session, cohort=cohort, parent=parent, enrolled_at=now)
    events.enrolment_created.send(enrolment, now=now, actor=None)
    db.session.commit()
    return parent, enrolment, cohort, worker


def queued(db, parent_id):
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.parent_id == parent_id, OutboxMessage.status == "queued"))


@pytest.mark.parametrize("signature", [False, "", "forged+signature=", "WRONG"])
def test_forged_or_missing_signature_is_refused_and_changes_nothing(db, now, signed, signature):
    parent, *_ = enrolled_parent(db, now)
    before = queued(db, parent.id)
    response = signed("/webhooks/twilio/inbound", inbound("SM1", parent.mobile, "STOP"), signature=signature)
    assert response.status_code == 403
    db.session.expire_all()
    assert parent.sms_opted_out_at is None and queued(db, parent.id) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 0
    assert signed("/webhooks/twilio/status", {"MessageSid": "SMx", "MessageStatus": "delivered"},
                  signature=signature).status_code == 403


def test_signature_for_another_url_or_tampered_body_is_refused(db, now, signed):
    parent, *_ = enrolled_parent(db, now)
    params = inbound("SM1", parent.mobile, "STOP")
    wrong_url = RequestValidator(TOKEN).compute_signature("http://localhost/webhooks/twilio/inbound", params)
    assert signed("/webhooks/twilio/inbound", params, signature=wrong_url).status_code == 403
    good = RequestValidator(TOKEN).compute_signature(PUBLIC + "/webhooks/twilio/inbound", params)
    tampered = dict(params, Body="START")
    assert signed("/webhooks/twilio/inbound", tampered, signature=good).status_code == 403


def test_stop_opts_out_and_start_opts_back_in(db, now, signed, clock):
    parent, enrolment, *_ = enrolled_parent(db, now)
    assert queued(db, parent.id) == 17
    response = signed("/webhooks/twilio/inbound", inbound("SM1", parent.mobile, " Stop "))
    assert response.status_code == 200 and response.mimetype == "text/xml"
    assert response.data.decode().endswith("<Response></Response>")
    db.session.expire_all()
    assert parent.sms_opted_out_at == now and queued(db, parent.id) == 0
    stored = db.session.scalar(sa.select(InboundMessage))
    assert stored.parent_id == parent.id and stored.intent == "stop"

    clock.set(now + timedelta(days=1))
    assert signed("/webhooks/twilio/inbound", inbound("SM2", parent.mobile, "START")).status_code == 200
    db.session.expire_all()
    assert parent.sms_opted_out_at is None
    assert queued(db, parent.id) == 16  # the reminders again (the confirmation went out already or is cancelled)


@pytest.mark.parametrize("word", ["STOPALL", "unsubscribe", "Cancel", "END", "quit."])
def test_every_stop_word(db, now, signed, word):
    parent, *_ = enrolled_parent(db, now)
    signed("/webhooks/twilio/inbound", inbound("SM1", parent.mobile, word))
    db.session.expire_all()
    assert parent.sms_opted_out_at is not None


def test_apology_opens_a_possible_apology_for_the_next_session(db, now, signed):
    from app.followups.models import FollowUp

    parent, enrolment, cohort, worker = enrolled_parent(db, now)
    assert signed("/webhooks/twilio/inbound", inbound("SM1", parent.mobile, "Sorry can’t make it tomorrow x")).status_code == 200
    followup = db.session.scalar(sa.select(FollowUp))
    assert followup.kind == "possible_apology" and followup.session_id == cohort.sessions[0].id
    assert followup.enrolment_id == enrolment.id and followup.parent_id == parent.id
    assert followup.assigned_to_id in (worker.id, None) and followup.inbound_message_id is not None
    # a second apology for the same session is still a task, not an error
    assert signed("/webhooks/twilio/inbound", inbound("SM2", parent.mobile, "so sorry, can't come")).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 2


def test_other_replies_become_a_task_and_twilio_retries_are_ignored(db, now, signed):
    from app.followups.models import FollowUp

    parent, *_ = enrolled_parent(db, now)
    for _ in range(2):  # Twilio retries the same message
        assert signed("/webhooks/twilio/inbound", inbound("SM9", parent.mobile, "What should I bring?")).status_code == 200
    followups = db.session.scalars(sa.select(FollowUp)).all()
    assert [f.kind for f in followups] == ["sms_reply"] and "What should I bring?" in followups[0].summary
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 1


def test_unknown_number_is_stored_for_the_coordinator(db, now, signed):
    from app.followups.models import FollowUp

    assert signed("/webhooks/twilio/inbound", inbound("SM1", "+447911000000", "who is this?")).status_code == 200
    stored = db.session.scalar(sa.select(InboundMessage))
    assert stored.parent_id is None and stored.body == "who is this?"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 0


def test_status_callback_moves_forward_only(db, now, signed):
    parent = make_parent(db.session)
    row = OutboxMessage(kind="reminder", dedupe_key="k", parent_id=parent.id, to_number=parent.mobile, body="b",
                        send_after=now, status="sent", provider_sid="SMabc")
    db.session.add(row)
    db.session.commit()
    path = f"/webhooks/twilio/status?outbox={row.id}"
    assert signed(path, {"MessageSid": "SMabc", "MessageStatus": "delivered"}).status_code == 204
    db.session.expire_all()
    assert row.status == "delivered" and row.delivered_at == now
    for late in ("sent", "queued", "failed"):
        signed(path, {"MessageSid": "SMabc", "MessageStatus": late})
        db.session.expire_all()
        assert row.status == "delivered"
    # the query string is part of what is signed
    forged = RequestValidator(TOKEN).compute_signature(PUBLIC + "/webhooks/twilio/status?outbox=999",
                                                       {"MessageSid": "SMabc", "MessageStatus": "failed"})
    assert signed(path, {"MessageSid": "SMabc", "MessageStatus": "failed"}, signature=forged).status_code == 403


def test_status_callback_before_the_send_was_recorded(db, now, signed):
    """Twilio can call back before the scheduler has written the sid: the outbox id finds the row."""
    from app.messaging import jobs

    parent = make_parent(db.session)
    row = OutboxMessage(kind="reminder", dedupe_key="k", parent_id=parent.id, to_number=parent.mobile, body="b",
                        send_after=now, status="sending", claimed_at=now, attempts=1)
    db.session.add(row)
    db.session.commit()
    signed(f"/webhooks/twilio/status?outbox={row.id}", {"MessageSid": "SMnew", "MessageStatus": "delivered"})
    claim = jobs.Claim(id=row.id, kind="reminder", to_number=row.to_number, body="b", attempts=1)
    jobs.record_outcomes(db.session, [(claim, jobs.Outcome("sent", sid="SMnew"))], now)
    db.session.commit()
    db.session.expire_all()
    assert row.status == "delivered" and row.provider_sid == "SMnew" and row.sent_at == now


def test_undelivered_with_21610_opts_out(db, now, signed):
    parent, *_ = enrolled_parent(db, now)
    row = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
    row.status, row.provider_sid = "sent", "SMc"
    db.session.commit()
    signed("/webhooks/twilio/status", {"MessageSid": "SMc", "MessageStatus": "undelivered", "ErrorCode": "21610"})
    db.session.expire_all()
    assert row.status == "undelivered" and parent.sms_opted_out_at is not None and queued(db, parent.id) == 0


def test_webhooks_are_not_open_to_other_methods(client):
    assert client.get("/webhooks/twilio/inbound").status_code == 405
