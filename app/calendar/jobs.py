"""Scheduler entry point: send the queued calendar invitations (register in app/scheduler.py TICK_TASKS).

Each due row is claimed (pending -> sending) and committed before anything is sent, so a
second scheduler process never sends it too; a claim left by a crashed process is taken
back after CLAIM_TIMEOUT. A repeated invitation is harmless: it carries the same UID and
SEQUENCE, and mail apps treat it as the same event.
"""
from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from app.calendar import services
from app.calendar.email import build_message, connect, parse_smtp_url
from app.calendar.models import CalendarInvite
from app.cohorts.models import CohortSession
from app.enrolment.models import Enrolment
from app.parents.models import Parent

log = logging.getLogger(__name__)

BATCH = 200
MAX_ATTEMPTS = 5
CLAIM_TIMEOUT = timedelta(minutes=10)
#: wait before the n-th retry
BACKOFF = (timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4))


def _claim(db: Session, now: datetime) -> list[int]:
    db.execute(sa.update(CalendarInvite)
               .where(CalendarInvite.status == "sending", CalendarInvite.claimed_at < now - CLAIM_TIMEOUT)
               .values(status="pending", claimed_at=None))
    candidates = db.scalars(sa.select(CalendarInvite.id)
                            .where(CalendarInvite.status == "pending", CalendarInvite.send_after <= now)
                            .order_by(CalendarInvite.id).limit(BATCH)).all()
    claimed = []
    for invite_id in candidates:
        # Only the process whose update changed the row owns it.
        result = db.execute(sa.update(CalendarInvite)
                            .where(CalendarInvite.id == invite_id, CalendarInvite.status == "pending")
                            .values(status="sending", claimed_at=now))
        if result.rowcount == 1:
            claimed.append(invite_id)
    db.commit()
    return claimed


def _retry_later(invite: CalendarInvite, now: datetime, error: str) -> str:
    invite.attempts += 1
    invite.last_error = error[:200]
    invite.claimed_at = None
    if invite.attempts >= MAX_ATTEMPTS:
        invite.status = "failed"
        return "failed"
    invite.status = "pending"
    invite.send_after = now + BACKOFF[min(invite.attempts - 1, len(BACKOFF) - 1)]
    return "retry"


def _message_for(db: Session, invite: CalendarInvite, now: datetime):
    """The e-mail for an invitation as things are now, or None if it should not be sent."""
    parent = db.get(Parent, invite.parent_id)
    session = db.get(CohortSession, invite.session_id)
    if parent is None or session is None or not services.may_email(parent):
        return None
    enrolment = db.scalars(sa.select(Enrolment).where(Enrolment.parent_id == parent.id,
                                                      Enrolment.cohort_id == session.cohort_id)).first()
    if enrolment is None:
        return None
    method = invite.method
    if method == "REQUEST" and (session.status == "cancelled" or enrolment.status != "enrolled"):
        method = "CANCEL"  # things changed after it was queued: tell the truth as it is now
    withdrawn = enrolment.status != "enrolled"
    if method == "CANCEL" and not withdrawn and session.status != "cancelled":
        return None  # a cancellation that no longer holds (re-enrolled, or the session was reinstated)
    places = services.creche_places(db, [enrolment.id]).get(session.id, 0)
    info = services.event_info(session, audience="parent", creche_places=places)
    # A cancellation for one attendee leaves the session's own SEQUENCE alone; mail apps
    # only act on a CANCEL whose SEQUENCE is not lower than what they hold, so go one up.
    sequence = info.sequence + 1 if method == "CANCEL" and session.status != "cancelled" else info.sequence
    return build_message(method=method, info=info, to=parent.email, first_name=parent.first_name,
                         mail_from=current_app.config.get("MAIL_FROM") or f"groupwork@{services.host()}",
                         host=services.host(), now=now, sequence=sequence, withdrawn=withdrawn,
                         calendar_uid=services.calendar_uid("parent", parent.id))


def send_due_invites(db: Session, now: datetime) -> dict[str, int] | str:
    """Send every due invitation; returns counts. Without SMTP_URL it does nothing."""
    url = (current_app.config.get("SMTP_URL") or "").strip()
    if not url:
        return "disabled"
    try:
        settings = parse_smtp_url(url)
    except ValueError as exc:
        log.error("calendar invitations not sent: %s", exc)
        return "misconfigured"
    claimed = _claim(db, now)
    counts = {"sent": 0, "skipped": 0, "retry": 0, "failed": 0}
    if not claimed:
        return counts
    smtp = None
    try:
        for invite_id in claimed:
            invite = db.get(CalendarInvite, invite_id)
            message = _message_for(db, invite, now)
            if message is None:
                invite.status, invite.claimed_at = "skipped", None
                counts["skipped"] += 1
                db.commit()
                continue
            try:
                if smtp is None:
                    smtp = connect(settings)
                smtp.send_message(message)
            except smtplib.SMTPRecipientsRefused:
                invite.status, invite.claimed_at, invite.last_error = "failed", None, "recipient refused"
                invite.attempts += 1
                counts["failed"] += 1
            except (smtplib.SMTPException, OSError) as exc:
                counts[_retry_later(invite, now, type(exc).__name__)] += 1
                log.warning("calendar invite %s not sent (%s); will retry", invite.id, type(exc).__name__)
                if smtp is not None:
                    try:
                        smtp.close()
                    finally:
                        smtp = None
            else:
                invite.status, invite.sent_at, invite.claimed_at = "sent", now, None
                invite.attempts += 1
                counts["sent"] += 1
            db.commit()
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
    return counts
