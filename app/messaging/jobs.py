"""Scheduler entry points: queue what is due, then claim, send and record each message.

Sending is exactly-once as far as the parent can tell:

1. **Claim** due rows and COMMIT the claim before talking to Twilio: status ``sending``,
   ``claimed_at``, ``attempts + 1``. On PostgreSQL the rows are selected ``FOR UPDATE SKIP
   LOCKED`` so two scheduler processes take disjoint rows; on both databases the claim is a
   compare-and-set on (status, attempts), so a row is claimed by one process only.
2. **Send** (a few at a time in threads; the HTTP calls are the slow part).
3. **Record** each result and commit it.

A crash between 1 and 3 leaves the row in ``sending``. After STALE_CLAIM it is claimed again,
and before any resend Twilio is asked for messages to that number since the claim (the
Messages list API filtered by To and DateSent) with the same body: if one is there it is
recorded, not resent. A timeout or 5xx on create is treated the same way ("in doubt").
A 429 is never processed by Twilio, so it is simply retried later with backoff and jitter.
"""
from __future__ import annotations

import gc
import json
import logging
import os
import random
import threading
import time as _time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.messaging import receivers  # noqa: F401  (connect the event receivers)
from app.messaging import services
from app.messaging.models import OutboxMessage
from app.messaging.sms import SmsError, SmsSender, sender_from_config

log = logging.getLogger(__name__)

#: a row left in "sending" this long is assumed abandoned (a crash) and reconciled
STALE_CLAIM = timedelta(minutes=5)
#: after this many attempts a message is marked failed for a person to look at
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
BATCH_SIZE = 200
#: a claim that found every row it looked at taken by another process looks again, this many times at most
CLAIM_RACES = 5
#: stop claiming new batches after this long, so a tick ends before the next one is due
TICK_BUDGET_SECONDS = 45.0


def queue_due_messages(db: Session, now: datetime) -> dict:
    """Scheduler task: make the outbox agree with the schedule (reminders, confirmations, notices)."""
    counts = services.reconcile(db, now=now)
    db.commit()
    return dict(counts)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with jitter: 30 s, 1 min, 2 min ... capped at an hour, each between half and all of it."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempts - 1, 0)))
    return ceiling * (rng or random).uniform(0.5, 1.0)


@dataclass
class Claim:
    """A row this process claimed, with what it needs to send it without the database."""

    id: int
    kind: str
    to_number: str
    body: str
    attempts: int
    #: set when the row was already "sending" (crash or in doubt): ask Twilio before resending
    check_since: datetime | None = None
    #: why it must not be sent any more (opted out, session cancelled...); checked, never sent
    stop_reason: str | None = None
    exclude: frozenset[str] = frozenset()


@dataclass
class Outcome:
    """What happened to one claim."""

    kind: str  # sent, retry, in_doubt, failed, cancel
    sid: str | None = None
    provider_status: str | None = None
    code: int | None = None
    message: str = ""
    reconciled: bool = False


def _due(now: datetime):
    queued = sa.and_(OutboxMessage.status == "queued", OutboxMessage.send_after <= now,
                     sa.or_(OutboxMessage.retry_after.is_(None), OutboxMessage.retry_after <= now))
    abandoned = sa.and_(OutboxMessage.status == "sending", sa.or_(
        sa.and_(OutboxMessage.retry_after.isnot(None), OutboxMessage.retry_after <= now),
        sa.and_(OutboxMessage.retry_after.is_(None), OutboxMessage.claimed_at <= now - STALE_CLAIM)))
    return sa.or_(queued, abandoned)


#: what a claim needs of an outbox row: selected as plain columns, no ORM objects per message
_CLAIM_COLUMNS = (OutboxMessage.id, OutboxMessage.kind, OutboxMessage.status, OutboxMessage.parent_id,
                  OutboxMessage.user_id, OutboxMessage.cohort_id, OutboxMessage.session_id,
                  OutboxMessage.enrolment_id, OutboxMessage.to_number, OutboxMessage.body, OutboxMessage.attempts,
                  OutboxMessage.claimed_at)


#: the columns Parent.can_receive_sms reads (it is evaluated on these, without loading whole parents)
_PARENT_SMS_COLUMNS = ("mobile", "sms_consent", "sms_opted_out_at", "mobile_problem", "erased_at")


class _Recipient:
    """A parent's or a member of staff's columns that the last checks read; Parent's own rule applies to it."""

    __slots__ = ("id", "mobile", "sms_consent", "sms_opted_out_at", "mobile_problem", "erased_at", "is_enabled")

    def __init__(self, **values):
        for name, value in values.items():
            setattr(self, name, value)

    @property
    def can_receive_sms(self) -> bool:
        from app.parents.models import Parent

        return Parent.can_receive_sms.fget(self)


def _recipients(db: Session, rows) -> tuple[dict, dict]:
    """The parents and staff the rows go to, by id: only the columns the checks read (one query each)."""
    from app.auth.models import User
    from app.parents.models import Parent

    def load(model, ids, names):
        ids = sorted({i for i in ids if i is not None})
        if not ids:
            return {}
        columns = [getattr(model, name) for name in ("id", *names)]
        return {r.id: _Recipient(**r._asdict()) for r in db.execute(sa.select(*columns).where(model.id.in_(ids)))}

    return (load(Parent, (r.parent_id for r in rows), _PARENT_SMS_COLUMNS),
            load(User, (r.user_id for r in rows), ("mobile", "is_enabled")))


def _stop_reasons(db: Session, rows, now: datetime, recipients: tuple[dict, dict] | None = None) -> dict[int, str]:
    """Rows that must not be sent any more, with the reason (the last check before a text leaves)."""
    from app.cohorts.models import CohortSession
    from app.enrolment.models import Enrolment

    def load(model, ids):
        ids = sorted({i for i in ids if i is not None})
        return {o.id: o for o in db.scalars(sa.select(model).where(model.id.in_(ids)))} if ids else {}

    parents, users = recipients if recipients is not None else _recipients(db, rows)
    sessions = load(CohortSession, (r.session_id for r in rows))
    enrolments = load(Enrolment, (r.enrolment_id for r in rows))
    cohort_ids = sorted({r.cohort_id for r in rows if r.kind in services.COHORT_KINDS and r.cohort_id})
    running = set(db.scalars(sa.select(CohortSession.cohort_id).where(
        CohortSession.cohort_id.in_(cohort_ids), CohortSession.status == "scheduled",
        CohortSession.starts_at > now).distinct())) if cohort_ids else set()
    reasons: dict[int, str] = {}
    for row in rows:
        reason = None
        if row.parent_id is not None:
            parent = parents.get(row.parent_id)
            if parent is None or not parent.can_receive_sms:
                reason = "the parent cannot receive texts now (opted out, no consent or no working mobile)"
        elif row.user_id is not None:
            user = users.get(row.user_id)
            if user is None or not user.is_enabled or not user.mobile:
                reason = "the member of staff has no mobile or account now"
        enrolment = enrolments.get(row.enrolment_id) if row.enrolment_id else None
        if reason is None and enrolment is not None:
            wanted = "waitlisted" if row.kind == "waitlisted" else "enrolled"
            if enrolment.status != wanted:
                reason = f"the enrolment is now {enrolment.status}"
        session = sessions.get(row.session_id) if row.session_id else None
        if reason is None and row.kind in services.SESSION_KINDS and session is not None:
            if session.status != "scheduled" or session.starts_at <= now:
                reason = "too late: the session has started or was cancelled"
        if reason is None and row.kind == "session_cancelled" and session is not None and session.starts_at <= now:
            reason = "too late: the session's time has passed"
        if reason is None and row.kind == "missed_you" and session is not None \
                and session.ends_at < now - services.MISSED_YOU_WINDOW:
            reason = "too late: the session was more than a day ago"
        if reason is None and row.kind in services.COHORT_KINDS and row.cohort_id not in running:
            reason = "too late: the group has no sessions left"
        if reason:
            reasons[row.id] = reason
    return reasons


def _numbers(rows, recipients: tuple[dict, dict]) -> dict[int, str]:
    """Each row's recipient's current mobile, where it differs (a number corrected since queueing is used)."""
    parents, users = recipients
    out: dict[int, str] = {}
    for row in rows:
        if row.parent_id is not None:
            person = parents.get(row.parent_id)
        elif row.user_id is not None:
            person = users.get(row.user_id)
        else:
            continue
        number = person.mobile if person is not None else None
        if number and number != row.to_number:
            out[row.id] = number
    return out


def claim_due(db: Session, now: datetime, limit: int | None = None) -> tuple[list[Claim], int]:
    """Claim up to `limit` due rows and commit the claim; returns the claims and how many were cancelled.

    The UPDATE repeats the "due" condition and returns the ids it changed: on PostgreSQL the rows
    are already locked (SKIP LOCKED), on SQLite writers take turns, so either way a row that
    another process claimed in the meantime is simply not returned.
    """
    claims, cancelled, _ = _claim(db, now, limit)
    return claims, cancelled


def _claim(db: Session, now: datetime, limit: int | None = None) -> tuple[list[Claim], int, int]:
    """claim_due, also saying how many due rows it looked at (all of them may have gone to another process)."""
    rows = db.execute(sa.select(*_CLAIM_COLUMNS).where(_due(now))
                      .order_by(OutboxMessage.send_after, OutboxMessage.id).limit(limit or BATCH_SIZE)
                      .with_for_update(of=OutboxMessage, skip_locked=True)).all()
    if not rows:
        db.commit()
        return [], 0, 0
    recipients = _recipients(db, rows)
    reasons = _stop_reasons(db, rows, now, recipients)
    cancelled = 0
    by_reason: dict[str, list[int]] = {}
    for row in rows:
        if row.status == "queued" and row.id in reasons:
            by_reason.setdefault(reasons[row.id], []).append(row.id)
    for reason, ids in by_reason.items():
        # never sent: cancel it rather than send something that no longer applies
        cancelled += db.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(ids), _due(now))
                                .values(status="cancelled", last_error=reason[:300])
                                .execution_options(synchronize_session=False)).rowcount or 0
    candidates = [r for r in rows if not (r.status == "queued" and r.id in reasons)]
    numbers = _numbers([r for r in candidates if r.status == "queued"], recipients)
    claimed = set(db.scalars(sa.update(OutboxMessage)
                             .where(OutboxMessage.id.in_([r.id for r in candidates]), _due(now))
                             .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1,
                                     retry_after=None)
                             .returning(OutboxMessage.id)
                             .execution_options(synchronize_session=False))) if candidates else set()
    for row_id, number in numbers.items():
        if row_id in claimed:
            db.execute(sa.update(OutboxMessage).where(OutboxMessage.id == row_id).values(to_number=number)
                       .execution_options(synchronize_session=False))
    claims = [Claim(id=r.id, kind=r.kind, to_number=numbers.get(r.id, r.to_number), body=r.body,
                    attempts=r.attempts + 1, check_since=r.claimed_at if r.status == "sending" else None,
                    stop_reason=reasons.get(r.id))
              for r in candidates if r.id in claimed]
    # sids already recorded for these numbers, so a reconcile never mistakes them for the lost message
    checks = [c for c in claims if c.check_since is not None]
    if checks:
        since = min(c.check_since for c in checks) - timedelta(days=1)
        known: dict[str, set[str]] = {}
        for number, sid in db.execute(sa.select(OutboxMessage.to_number, OutboxMessage.provider_sid).where(
                OutboxMessage.to_number.in_({c.to_number for c in checks}), OutboxMessage.provider_sid.isnot(None),
                OutboxMessage.sent_at >= since)):
            known.setdefault(number, set()).add(sid)
        for claim in checks:
            claim.exclude = frozenset(known.get(claim.to_number, ()))
    db.commit()
    return claims, cancelled, len(rows)


def deliver(sender: SmsSender, claim: Claim, status_callback: str | None) -> Outcome:
    """Talk to the provider for one claim (no database here: this runs in a worker thread)."""
    if claim.check_since is not None:
        since = datetime.combine(claim.check_since.date() - timedelta(days=1), datetime.min.time(),
                                 tzinfo=claim.check_since.tzinfo)
        try:
            found = sender.find_sent(claim.to_number, claim.body, since, claim.exclude)
        except SmsError as exc:
            return Outcome("in_doubt", message=f"could not check whether it was sent: {exc}")
        if found is not None:
            return Outcome("sent", sid=found.sid, provider_status=found.status, reconciled=True)
    if claim.stop_reason:
        return Outcome("cancel", message=claim.stop_reason)
    try:
        result = sender.send(claim.to_number, claim.body, status_callback=status_callback, kind=claim.kind)
    except SmsError as exc:
        return Outcome("failed" if exc.kind == "permanent" else exc.kind, code=exc.code, message=str(exc))
    return Outcome("sent", sid=result.sid, provider_status=result.status)


def record_outcome(db: Session, claim: Claim, outcome: Outcome, now: datetime) -> str:
    """Write one result (only over a row still in "sending"); returns the summary key."""
    mine = sa.and_(OutboxMessage.id == claim.id, OutboxMessage.status == "sending")

    def update(**values) -> int:
        result = db.execute(sa.update(OutboxMessage).where(mine).values(**values)
                            .execution_options(synchronize_session=False))
        return result.rowcount or 0

    if outcome.kind == "sent":
        status = services.TWILIO_STATUSES.get(outcome.provider_status or "", "sent")
        note = "found at Twilio after an interrupted send" if outcome.reconciled else None
        if not update(status=status, provider_sid=outcome.sid, sent_at=now, retry_after=None, last_error=note):
            # a status callback got there first and moved it on: keep its status, add what we know
            db.execute(sa.update(OutboxMessage).where(OutboxMessage.id == claim.id, OutboxMessage.sent_at.is_(None))
                       .values(sent_at=now).execution_options(synchronize_session=False))
        return "reconciled" if outcome.reconciled else "sent"
    if outcome.kind == "cancel":
        update(status="cancelled", last_error=outcome.message[:300])
        return "cancelled"
    if outcome.kind in ("retry", "in_doubt"):
        if claim.attempts >= MAX_ATTEMPTS:
            advice = " (it may have been sent: check Twilio before sending again)" if outcome.kind == "in_doubt" else ""
            update(status="failed", last_error=f"gave up after {claim.attempts} attempts: {outcome.message}{advice}"[:300])
            return "failed"
        values = {"retry_after": now + backoff(claim.attempts), "last_error": outcome.message[:300]}
        if outcome.kind == "retry":
            values["status"] = "queued"  # certainly not sent: an ordinary retry
        # in doubt: stays "sending", so the next claim asks Twilio before resending
        update(**values)
        return outcome.kind
    update(status="failed", last_error=f"{outcome.message}"[:300])
    if outcome.code:
        row = db.get(OutboxMessage, claim.id)
        services.apply_error_code(db, row, outcome.code, now=now)
    return "failed"


def record_outcomes(db: Session, results: list[tuple[Claim, Outcome]], now: datetime) -> Counter:
    """Write a batch of results in a few statements (the common case, "sent", in one executemany)."""
    summary: Counter = Counter()
    sent = [(c, o) for c, o in results if o.kind == "sent"]
    if sent:
        table = OutboxMessage.__table__
        params = [{"b_id": c.id, "b_status": services.TWILIO_STATUSES.get(o.provider_status or "", "sent"),
                   "b_sid": o.sid, "b_note": "found at Twilio after an interrupted send" if o.reconciled else None}
                  for c, o in sent]
        db.execute(table.update().where(table.c.id == sa.bindparam("b_id"), table.c.status == "sending")
                   .values(status=sa.bindparam("b_status"), provider_sid=sa.bindparam("b_sid"), sent_at=now,
                           retry_after=None, last_error=sa.bindparam("b_note")), params)
        # a status callback may have moved a row on first: keep its status, add when it was sent
        db.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_([c.id for c, _ in sent]),
                                                  OutboxMessage.sent_at.is_(None))
                   .values(sent_at=now).execution_options(synchronize_session=False))
        for _, outcome in sent:
            summary["reconciled" if outcome.reconciled else "sent"] += 1
    for claim, outcome in results:
        if outcome.kind != "sent":
            summary[record_outcome(db, claim, outcome, now)] += 1
    return summary


def _status_callback(config, claim: Claim) -> str | None:
    base = config.get("PUBLIC_BASE_URL", "")
    if config.get("SMS_BACKEND") != "twilio" or not base.startswith("http"):
        return None
    return f"{base}/webhooks/twilio/status?outbox={claim.id}"


def send_due_messages(db: Session, now: datetime, *, sender: SmsSender | None = None, config=None) -> dict:
    """Scheduler task: claim due messages, send them, record each result. Nothing leaves in quiet hours.

    Batches are pipelined: while one batch is on its way to Twilio (in worker threads), the
    next is claimed, then the first one's results are recorded and committed. With more than a
    few batches due, SMS_SEND_PROCESSES processes do this side by side (see _send_in_processes).
    """
    from flask import current_app

    if services.in_quiet_hours(now):
        return {"quiet_hours": True}
    config = config if config is not None else current_app.config
    processes = _send_processes(db, config) if sender is None else 1
    if processes > 1 and _due_batches(db, now, processes) >= processes:
        return _send_in_processes(db, now, config, processes)
    return _send(db, now, sender or sender_from_config(config), config)


def _send_processes(db: Session, config) -> int:
    """How many processes send (SMS_SEND_PROCESSES; unset: 2 with Twilio on a machine with 2 or more cores)."""
    configured = config.get("SMS_SEND_PROCESSES")
    if configured is None:
        configured = 2 if config.get("SMS_BACKEND") == "twilio" and (os.cpu_count() or 1) > 1 else 1
    if int(configured) <= 1 or not hasattr(os, "fork"):
        return 1
    if threading.active_count() > 1:
        # a fork copies only this thread: a lock another thread holds would stay held in the child
        # for ever. So only a single-threaded scheduler (`flask scheduler tick`, cron) forks; one
        # that runs the tick among other threads sends from its own process, with threads.
        return 1
    url = db.get_bind().url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return 1  # a private in-memory database cannot be shared with another process
    return int(configured)


def _due_batches(db: Session, now: datetime, enough: int) -> int:
    """Full batches due now, counted up to `enough` (one indexed look, so small ticks never fork)."""
    due = sa.select(OutboxMessage.id).where(_due(now)).limit(enough * BATCH_SIZE).subquery()
    count = db.scalar(sa.select(sa.func.count()).select_from(due)) or 0
    db.commit()
    return count // BATCH_SIZE


def _send_in_processes(db: Session, now: datetime, config, processes: int) -> dict:
    """Send from `processes` processes at once: this one and processes - 1 forked children.

    The twilio SDK spends most of a send's CPU time holding the interpreter lock, so threads in one
    process only overlap the waiting; processes use every core. Each process claims its own
    batches exactly as two scheduler processes would (exactly-once rests on the database claims),
    has its own database connections (this process's are closed before forking; the children
    never touch them) and its own HTTP connections. A child that dies leaves its claimed batch in
    "sending", reconciled like any crash; the task then reports the failure after the others finish.
    """
    engine = db.get_bind()
    db.close()
    engine.dispose()  # no connection is shared with a child
    children: list[tuple[int, int]] = []
    # the children's garbage collector leaves what they inherit alone: scanning it would copy the
    # parent's whole heap into each child, page by page
    gc.freeze()
    for _ in range(processes - 1):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: send, report the summary, leave without running the parent's exit handlers
            code = 1
            try:
                os.close(read)
                engine.dispose(close=False)
                summary = _send(db, now, sender_from_config(config), config)
                db.close()
                os.write(write, json.dumps(summary).encode())
                code = 0
            except BaseException:  # noqa: BLE001 - reported through the exit code
                log.exception("an SMS sending process failed")
            finally:
                os._exit(code)
        os.close(write)
        children.append((pid, read))
    gc.unfreeze()
    summary: Counter = Counter()
    error: Exception | None = None
    try:
        summary.update(_send(db, now, sender_from_config(config), config))
    except Exception as exc:  # noqa: BLE001 - raised once the children are done
        error = exc
    failed = 0
    for pid, read in children:
        with os.fdopen(read, "rb") as pipe:
            report = pipe.read()
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) == 0 and report:
            summary.update(json.loads(report))
        else:
            failed += 1
    if error is not None:
        raise error
    if failed:
        log.error("sms tick: %d of %d sending processes failed; the others sent %s", failed, processes, dict(summary))
        raise RuntimeError(f"{failed} SMS sending process(es) failed; their claims are reconciled on a later tick")
    return dict(+summary)


def _send(db: Session, now: datetime, sender: SmsSender, config) -> dict:
    """Claim, send and record batches until nothing is due (or the tick's time is up)."""
    workers = int(config.get("SMS_SEND_CONCURRENCY") or (8 if getattr(sender, "name", "") == "twilio" else 1))
    summary: Counter = Counter()
    started = _time.monotonic()
    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None

    def submit(claims: list[Claim]):
        if pool is None:
            return [(c, deliver(sender, c, _status_callback(config, c))) for c in claims]
        return {pool.submit(deliver, sender, c, _status_callback(config, c)): c for c in claims}

    def collect(pending) -> list[tuple[Claim, Outcome]]:
        if isinstance(pending, list):
            return pending
        return [(pending[f], f.result()) for f in as_completed(pending)]

    def next_batch():
        for _ in range(CLAIM_RACES):
            if _time.monotonic() - started >= TICK_BUDGET_SECONDS:
                return None
            claims, cancelled, looked_at = _claim(db, now)
            summary["cancelled"] += cancelled
            if claims or cancelled or not looked_at:
                break
            # every row looked at went to another process in the meantime (SQLite): look again
        if not claims and not cancelled:
            return None
        return claims, looked_at >= BATCH_SIZE

    try:
        batch = next_batch()
        pending = submit(batch[0]) if batch else None
        while pending is not None:
            more = batch[1]
            batch = next_batch() if more else None
            upcoming = submit(batch[0]) if batch else None
            # one commit per batch: a crash before it leaves the batch in "sending", which the
            # next tick reconciles with Twilio rather than resending
            summary.update(record_outcomes(db, collect(pending), now))
            db.commit()
            pending = upcoming
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    summary = +summary
    if summary:
        log.info("sms tick: %s", dict(summary))  # counts only, never numbers or bodies
    return dict(summary)
