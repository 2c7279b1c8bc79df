"""Sending from several processes (SMS_SEND_PROCESSES): every due message once, whichever process sends it.

The tick forks only in a single-threaded process (as `flask scheduler tick` is), so these tests run
it in a fresh interpreter against this test's database and fake Twilio.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.messaging import jobs
from app.messaging.models import OutboxMessage
from tests.factories import make_parent

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, os, sys
from datetime import datetime
from app import create_app
from app.extensions import db
from app.messaging import jobs

spec = json.loads(sys.argv[1])
app = create_app({"TESTING": True, "GROUPWORK_ENV": "testing", "SECRET_KEY": "x", "PUBLIC_BASE_URL": "https://groupwork.test",
                  **spec["config"]})
jobs.BATCH_SIZE = spec["batch"]
deliver = jobs.deliver

def tagged(sender, claim, callback):
    if spec.get("fail_child") and os.getpid() != spec["parent"]:
        os._exit(3)  # a sending process killed mid-batch
    with open(spec["log"], "a") as out:
        out.write(f"{os.getpid()} {claim.id}\n")
    return deliver(sender, claim, callback)

jobs.deliver = tagged
spec["parent"] = os.getpid()
with app.app_context():
    try:
        print(json.dumps(jobs.send_due_messages(db.session, datetime.fromisoformat(spec["now"]))))
    except RuntimeError as exc:
        print(json.dumps({"error": str(exc)}))
"""


def _queue(db, now, n):
    parents = [make_parent(db.session, children=[]) for _ in range(n)]
    for i, parent in enumerate(parents):
        db.session.add(OutboxMessage(kind="reminder", dedupe_key=f"p:{i}", parent_id=parent.id,
                                     to_number=parent.mobile, body=f"Reminder number {i}",
                                     send_after=now - timedelta(minutes=i % 7)))
    db.session.commit()


def _tick(app, fake_twilio, now, tmp_path, processes, batch=10, **extra) -> tuple[dict, list[tuple[int, int]]]:
    log = tmp_path / "sent.log"
    config = {**fake_twilio.config(), "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
              "SMS_SEND_PROCESSES": processes}
    spec = {"config": config, "batch": batch, "now": now.isoformat(), "log": str(log), **extra}
    env = {**os.environ, "GROUPWORK_ENV": "testing"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(spec)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    sent = [tuple(map(int, line.split())) for line in log.read_text().splitlines()] if log.exists() else []
    return json.loads(done.stdout.strip().splitlines()[-1]), sent


@pytest.mark.parametrize("dropped", [0, 2], ids=["clean", "two-answers-lost"])
def test_two_processes_send_every_due_message_once(app, db, now, fake_twilio, tmp_path, dropped):
    _queue(db, now, 120)
    fake_twilio.drop_next(dropped)  # created at Twilio, but the sender never hears so: "in doubt"
    summary, sent = _tick(app, fake_twilio, now, tmp_path, processes=2)

    def errors():
        db.session.expire_all()
        return sorted({m.last_error for m in db.session.scalars(sa.select(OutboxMessage)) if m.status != "sent"})

    assert set(summary) <= {"sent", "in_doubt"} and sum(summary.values()) == 120, (summary, errors())
    assert summary.get("in_doubt", 0) >= dropped
    if summary.get("in_doubt"):
        # A transport hiccup on a loaded machine leaves a message "in doubt": the next tick asks
        # Twilio whether it went before sending it again. Exactly once still holds below.
        (tmp_path / "later").mkdir()
        later, _ = _tick(app, fake_twilio, now + timedelta(hours=2), tmp_path / "later", processes=2)
        # found at Twilio ("reconciled"), or sent now if it never got there
        assert later.get("sent", 0) + later.get("reconciled", 0) == summary["in_doubt"], (later, errors())
        assert later.get("reconciled", 0) >= dropped
    bodies = Counter(m["body"] for m in fake_twilio.messages)
    assert len(bodies) == 120 and max(bodies.values()) == 1
    assert len({pid for pid, _ in sent}) == 2  # both processes sent some
    assert sorted(row_id for _, row_id in sent) == sorted(set(row_id for _, row_id in sent))
    db.session.expire_all()
    assert Counter(db.session.scalars(sa.select(OutboxMessage.status))) == {"sent": 120}
    assert len(set(db.session.scalars(sa.select(OutboxMessage.provider_sid)))) == 120


def test_a_small_tick_does_not_fork(app, db, now, fake_twilio, tmp_path):
    _queue(db, now, 15)  # fewer than one full batch per process
    summary, sent = _tick(app, fake_twilio, now, tmp_path, processes=2)
    assert summary == {"sent": 15} and len({pid for pid, _ in sent}) == 1


def test_a_sending_process_that_dies_is_reported_and_its_claims_reconciled(app, db, now, fake_twilio, tmp_path):
    _queue(db, now, 120)
    summary, sent = _tick(app, fake_twilio, now, tmp_path, processes=2, fail_child=True)
    assert "1 SMS sending process(es) failed" in summary["error"]
    db.session.expire_all()
    statuses = Counter(db.session.scalars(sa.select(OutboxMessage.status)))
    # the child died holding what it had claimed (a batch, or two when the next was claimed already);
    # the parent sent everything else
    stuck = statuses["sending"]
    assert stuck in (10, 20) and statuses == {"sent": 120 - stuck, "sending": stuck}
    assert len(fake_twilio.messages) == 120 - stuck
    # once the claim is stale, the next tick asks Twilio, finds nothing, and sends them once
    later = now + jobs.STALE_CLAIM
    assert jobs.send_due_messages(db.session, later) == {"sent": stuck}
    bodies = Counter(m["body"] for m in fake_twilio.messages)
    assert len(bodies) == 120 and max(bodies.values()) == 1


def test_in_process_settings(app, db):
    config = {"SMS_BACKEND": "twilio", "SMS_SEND_PROCESSES": None}
    expected = 2 if (os.cpu_count() or 1) > 1 else 1
    # under pytest other threads may exist; the rule itself is what is checked here
    import threading

    single = threading.active_count() == 1
    assert jobs._send_processes(db.session, config) == (expected if single else 1)
    assert jobs._send_processes(db.session, {"SMS_BACKEND": "console"}) == 1
    assert jobs._send_processes(db.session, {"SMS_BACKEND": "twilio", "SMS_SEND_PROCESSES": 1}) == 1
