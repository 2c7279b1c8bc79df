"""Two scheduler processes against one database: every due message is sent exactly once."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from app.messaging import jobs
from app.messaging.models import OutboxMessage
from tests.factories import make_parent


def _due_messages(db, now, n):
    parents = [make_parent(db.session, children=[]) for _ in range(n)]
    for i, parent in enumerate(parents):
        db.session.add(OutboxMessage(kind="reminder", dedupe_key=f"load:{i}", parent_id=parent.id,
                                     to_number=parent.mobile, body=f"Reminder number {i}",
                                     send_after=now - timedelta(minutes=i % 7)))
    db.session.commit()


def _run_schedulers(app, now, count=2):
    """Each 'process' has its own app context, so its own session and database connection."""
    start = threading.Barrier(count)
    results, errors = [], []

    def scheduler():
        try:
            with app.app_context():
                from app.extensions import db

                start.wait()
                total = Counter()
                while True:
                    summary = jobs.send_due_messages(db.session, now)
                    if not summary:
                        break
                    total.update(summary)
                results.append(total)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


@pytest.mark.postgres_only
def test_two_schedulers_send_500_due_reminders_once_each(app, db, now, fake_twilio, monkeypatch):
    monkeypatch.setattr(jobs, "BATCH_SIZE", 10)  # many small claims, so the two really interleave
    _due_messages(db, now, 500)
    results = _run_schedulers(app, now)

    bodies = Counter(m["body"] for m in fake_twilio.messages)
    assert len(fake_twilio.messages) == 500 and max(bodies.values()) == 1
    assert sum(r["sent"] for r in results) == 500
    assert all(r["sent"] > 0 for r in results), results  # both took part (SKIP LOCKED, not one waiting)
    db.session.expire_all()
    statuses = Counter(status for (status,) in db.session.query(OutboxMessage.status))
    assert statuses == {"sent": 500}
    assert len({sid for (sid,) in db.session.query(OutboxMessage.provider_sid)}) == 500


def test_two_schedulers_on_one_database_never_send_twice(app, db, now, fake_twilio, monkeypatch):
    """The same property on whichever database the suite runs on (SQLite: one writer at a time)."""
    monkeypatch.setattr(jobs, "BATCH_SIZE", 10)
    _due_messages(db, now, 60)
    results = _run_schedulers(app, now)
    bodies = Counter(m["body"] for m in fake_twilio.messages)
    assert len(bodies) == 60 and max(bodies.values()) == 1
    assert sum(r["sent"] for r in results) == 60
