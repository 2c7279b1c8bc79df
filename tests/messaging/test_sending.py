"""Sending through the real twilio SDK to a fake Twilio on 127.0.0.1: faults, crashes, quiet hours."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.messaging import jobs, services
from app.messaging.models import OutboxMessage
from app.messaging.sms import ConsoleSender, SmsError, TwilioSender, sender_from_config
from tests.factories import make_parent, make_user

UTC = timezone.utc


def queue(db, now, n=1, **parent):
    """n due messages to fresh parents (written directly: the schedule is tested elsewhere)."""
    out = []
    for i in range(n):
        p = make_parent(db.session, **parent) if not out or not parent.get("mobile") else out[0][1]
        row = OutboxMessage(kind="reminder", dedupe_key=f"test:{p.id}:{i}", parent_id=p.id, to_number=p.mobile,
                            body=f"Hi {p.first_name}, a reminder ({i}).", send_after=now - timedelta(minutes=1))
        db.session.add(row)
        out.append((row, p))
    db.session.commit()
    return [r for r, _ in out]


def reload(db, row):
    db.session.expire_all()
    return db.session.get(OutboxMessage, row.id)


def test_sends_through_the_sdk_with_status_callback(db, now, fake_twilio, app):
    row = queue(db, now)[0]
    summary = jobs.send_due_messages(db.session, now)
    assert summary == {"sent": 1}
    [sent] = fake_twilio.messages
    assert sent["to"] == row.to_number and sent["body"] == row.body and sent["from"] == "+447700900999"
    assert sent["status_callback"] == f"https://groupwork.test/webhooks/twilio/status?outbox={row.id}"
    row = reload(db, row)
    assert row.status == "sent" and row.provider_sid == sent["sid"] and row.attempts == 1 and row.sent_at == now
    assert jobs.send_due_messages(db.session, now + timedelta(minutes=1)) == {}
    assert len(fake_twilio.messages) == 1


def test_messaging_service_sid_instead_of_from(db, now, fake_twilio, app):
    app.config.update(TWILIO_FROM="", TWILIO_MESSAGING_SERVICE_SID="MG" + "b" * 32)
    queue(db, now)
    jobs.send_due_messages(db.session, now)
    assert fake_twilio.messages[0]["messaging_service_sid"] == "MG" + "b" * 32
    assert fake_twilio.messages[0]["from"] is None


def test_nothing_leaves_in_quiet_hours(db, now, fake_twilio):
    queue(db, now)
    late = datetime(2026, 9, 1, 19, 30, tzinfo=UTC)  # 20:30 in London
    assert jobs.send_due_messages(db.session, late) == {"quiet_hours": True}
    assert jobs.send_due_messages(db.session, datetime(2026, 9, 2, 6, 59, tzinfo=UTC)) == {"quiet_hours": True}
    assert fake_twilio.messages == []
    assert jobs.send_due_messages(db.session, datetime(2026, 9, 2, 7, 0, tzinfo=UTC)) == {"sent": 1}


def test_429_is_retried_later_with_backoff(db, now, fake_twilio):
    row = queue(db, now)[0]
    fake_twilio.fail_next(429)
    assert jobs.send_due_messages(db.session, now) == {"retry": 1}
    row = reload(db, row)
    assert row.status == "queued" and "rate limit" in row.last_error
    assert now + timedelta(seconds=15) <= row.retry_after <= now + timedelta(seconds=30)
    assert jobs.send_due_messages(db.session, now + timedelta(seconds=10)) == {}  # not yet
    assert jobs.send_due_messages(db.session, row.retry_after) == {"sent": 1}
    assert len(fake_twilio.messages) == 1 and reload(db, row).attempts == 2


def test_backoff_grows_and_is_capped_with_jitter():
    import random

    rng = random.Random(4)
    waits = [jobs.backoff(n, rng) for n in range(1, 12)]
    assert all(timedelta(seconds=15) * 2 ** (n - 1) <= w for n, w in enumerate(waits[:5], start=1))
    assert all(w <= timedelta(hours=1) for w in waits)
    assert len({round(w.total_seconds()) for w in waits[-4:]}) > 1  # jittered, not all the same


def test_500_after_twilio_took_it_is_reconciled_not_resent(db, now, fake_twilio):
    row = queue(db, now)[0]
    fake_twilio.fail_next(500, record=True)  # Twilio created the message, then answered 500
    assert jobs.send_due_messages(db.session, now) == {"in_doubt": 1}
    row = reload(db, row)
    assert row.status == "sending" and row.retry_after is not None
    assert len(fake_twilio.messages) == 1
    assert jobs.send_due_messages(db.session, row.retry_after) == {"reconciled": 1}
    row = reload(db, row)
    assert row.status == "sent" and row.provider_sid == fake_twilio.messages[0]["sid"]
    assert len(fake_twilio.messages) == 1 and fake_twilio.creates() == 1


def test_500_when_twilio_did_not_take_it_is_sent_once_after_checking(db, now, fake_twilio):
    row = queue(db, now)[0]
    fake_twilio.fail_next(500)
    assert jobs.send_due_messages(db.session, now) == {"in_doubt": 1}
    assert fake_twilio.messages == []
    assert jobs.send_due_messages(db.session, reload(db, row).retry_after) == {"sent": 1}
    assert len(fake_twilio.messages) == 1 and reload(db, row).status == "sent"


def test_dropped_connection_is_in_doubt(db, now, fake_twilio):
    row = queue(db, now)[0]
    fake_twilio.drop_next(record=True)
    assert jobs.send_due_messages(db.session, now) == {"in_doubt": 1}
    assert jobs.send_due_messages(db.session, reload(db, row).retry_after) == {"reconciled": 1}
    assert len(fake_twilio.messages) == 1


def test_killed_between_send_and_record_then_restarted(db, now, fake_twilio, monkeypatch):
    rows = queue(db, now, n=3)

    def crash(*args, **kwargs):
        raise RuntimeError("scheduler killed")

    with monkeypatch.context() as m:
        m.setattr(jobs, "record_outcomes", crash)
        with pytest.raises(RuntimeError):
            jobs.send_due_messages(db.session, now)
    db.session.rollback()
    assert len(fake_twilio.messages) == 3  # all three went out before the crash
    assert {reload(db, r).status for r in rows} == {"sending"}
    # restarted a minute later: still maybe in flight elsewhere, so left alone
    assert jobs.send_due_messages(db.session, now + timedelta(minutes=1)) == {}
    # once the claim is stale, Twilio is asked first: recorded, not resent
    assert jobs.send_due_messages(db.session, now + jobs.STALE_CLAIM) == {"reconciled": 3}
    assert fake_twilio.creates() == 3 and len(fake_twilio.messages) == 3
    sids = {m["sid"] for m in fake_twilio.messages}
    assert {reload(db, r).provider_sid for r in rows} == sids
    assert {reload(db, r).status for r in rows} == {"sent"}


def test_killed_between_claim_and_send_then_restarted_loses_nothing(db, now, fake_twilio, monkeypatch):
    [row] = queue(db, now)

    def crash(*args, **kwargs):
        raise RuntimeError("scheduler killed")

    with monkeypatch.context() as m:
        m.setattr(TwilioSender, "send", crash)
        with pytest.raises(RuntimeError):
            jobs.send_due_messages(db.session, now)
    db.session.rollback()
    assert fake_twilio.messages == [] and reload(db, row).status == "sending"
    assert jobs.send_due_messages(db.session, now + timedelta(minutes=10)) == {"sent": 1}
    assert len(fake_twilio.messages) == 1 and reload(db, row).status == "sent"


def test_identical_earlier_message_is_not_mistaken_for_the_lost_one(db, now, fake_twilio, monkeypatch):
    parent = make_parent(db.session)
    earlier = OutboxMessage(kind="reminder", dedupe_key="a", parent_id=parent.id, to_number=parent.mobile,
                            body="Same words", send_after=now - timedelta(hours=2))
    db.session.add(earlier)
    db.session.commit()
    jobs.send_due_messages(db.session, now - timedelta(hours=1))
    later = OutboxMessage(kind="reminder", dedupe_key="b", parent_id=parent.id, to_number=parent.mobile,
                          body="Same words", send_after=now - timedelta(minutes=1))
    db.session.add(later)
    db.session.commit()
    with monkeypatch.context() as m:
        m.setattr(TwilioSender, "send", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("killed")))
        with pytest.raises(RuntimeError):
            jobs.send_due_messages(db.session, now)
    db.session.rollback()
    assert jobs.send_due_messages(db.session, now + timedelta(minutes=10)) == {"sent": 1}
    assert len(fake_twilio.messages) == 2


def test_21610_opts_the_parent_out(db, now, fake_twilio):
    rows = queue(db, now, n=1)
    parent_id = rows[0].parent_id
    extra = OutboxMessage(kind="reminder", dedupe_key="later", parent_id=parent_id, to_number=rows[0].to_number,
                          body="later", send_after=now + timedelta(days=1))
    db.session.add(extra)
    db.session.commit()
    fake_twilio.reject_number(rows[0].to_number, 21610)
    assert jobs.send_due_messages(db.session, now) == {"failed": 1}
    from app.parents.models import Parent

    db.session.expire_all()
    assert db.session.get(Parent, parent_id).sms_opted_out_at == now
    assert reload(db, rows[0]).status == "failed" and "21610" in reload(db, rows[0]).last_error
    assert reload(db, extra).status == "cancelled"
    assert fake_twilio.creates() == 1  # never retried


@pytest.mark.parametrize("code", [21211, 21614])
def test_bad_number_is_flagged_for_the_worker(db, now, fake_twilio, code):
    from app.followups.models import FollowUp
    from app.parents.models import Parent

    worker = make_user(db.session, role="worker")
    [row] = queue(db, now, worker_id=worker.id)
    fake_twilio.reject_number(row.to_number, code)
    assert jobs.send_due_messages(db.session, now) == {"failed": 1}
    db.session.expire_all()
    parent = db.session.get(Parent, row.parent_id)
    assert str(code) in parent.mobile_problem and not parent.can_receive_sms
    followup = db.session.scalar(sa.select(FollowUp).where(FollowUp.parent_id == parent.id))
    assert followup.kind == "mobile_problem" and followup.status == "open"
    assert followup.assigned_to_id in (worker.id, None)
    assert fake_twilio.creates() == 1


def test_a_row_for_a_parent_who_opted_out_since_is_cancelled_not_sent(db, now, fake_twilio):
    [row] = queue(db, now)
    from app.parents.models import Parent

    db.session.get(Parent, row.parent_id).sms_opted_out_at = now - timedelta(minutes=5)
    db.session.commit()
    assert jobs.send_due_messages(db.session, now) == {"cancelled": 1}
    assert fake_twilio.messages == [] and reload(db, row).status == "cancelled"


def test_gives_up_after_max_attempts(db, now, fake_twilio):
    [row] = queue(db, now)
    fake_twilio.fail_next(429, times=jobs.MAX_ATTEMPTS)
    moment = now
    for _ in range(jobs.MAX_ATTEMPTS):
        jobs.send_due_messages(db.session, moment)
        row = reload(db, row)
        moment = max(moment, row.retry_after or moment)
    assert row.status == "failed" and "gave up after 8 attempts" in row.last_error
    assert fake_twilio.messages == []


def test_console_sender_prints_without_logging(db, now, app, capsys, caplog):
    app.config["SMS_BACKEND"] = "console"
    [row] = queue(db, now, mobile="+447400123456")
    assert jobs.send_due_messages(db.session, now) == {"sent": 1}
    out = capsys.readouterr().out
    assert "SMS to +44…56 [reminder]: Hi " in out and "+447400123456" not in out
    assert "+447400123456" not in caplog.text and row.body not in caplog.text
    assert reload(db, row).provider_sid.startswith("CONSOLE")
    assert isinstance(sender_from_config(app.config), ConsoleSender)


def test_tests_refuse_real_twilio(app):
    with pytest.raises(RuntimeError, match="fake Twilio"):
        sender_from_config({"TESTING": True, "SMS_BACKEND": "twilio", "TWILIO_ACCOUNT_SID": "AC1",
                            "TWILIO_AUTH_TOKEN": "x", "TWILIO_FROM": "+447700900999"})


def test_sdk_errors_are_classified(fake_twilio):
    sender = sender_from_config({**fake_twilio.config(), "TESTING": True})
    fake_twilio.fail_next(429)
    with pytest.raises(SmsError) as exc:
        sender.send("+447400000001", "x")
    assert exc.value.kind == "retry" and exc.value.status == 429
    fake_twilio.fail_next(503)
    with pytest.raises(SmsError) as exc:
        sender.send("+447400000001", "x")
    assert exc.value.kind == "in_doubt"
    fake_twilio.reject_number("+447400000002", 21211)
    with pytest.raises(SmsError) as exc:
        sender.send("+447400000002", "x")
    assert exc.value.kind == "permanent" and exc.value.code == 21211
    result = sender.send("+447400000003", "hello")
    assert sender.find_sent("+447400000003", "hello", datetime(2026, 8, 31, tzinfo=UTC)).sid == result.sid
    assert sender.find_sent("+447400000003", "hello", datetime(2026, 8, 31, tzinfo=UTC), frozenset({result.sid})) is None
    # the SDK really filtered: To and DateSent> reached the server
    method, path, query = fake_twilio.requests[-1]
    assert method == "GET" and query["To"] == "+447400000003" and query["DateSent>"].startswith("2026-08-31")


def test_a_confirmation_for_a_group_that_has_finished_is_cancelled(db, now, fake_twilio):
    from tests.factories import make_cohort, make_enrolment

    cohort = make_cohort(db.session)
    enrolment = make_enrolment(db.session, cohort=cohort, enrolled_at=now)
    services.queue_for_enrolment(db.session, enrolment, now=now)
    db.session.commit()
    after_the_group = cohort.sessions[-1].ends_at + timedelta(days=30)
    summary = jobs.send_due_messages(db.session, after_the_group.replace(hour=11))
    assert summary == {"cancelled": 17} and fake_twilio.messages == []
    confirmation = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
    assert confirmation.status == "cancelled" and "no sessions left" in confirmation.last_error
