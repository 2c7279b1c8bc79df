"""Domain event receivers: other features' changes become outbox rows in the same transaction.

Each receiver works in the sender object's own session and never commits. The periodic
reconcile (services.reconcile) would reach the same state on the next tick; the receivers
only make it immediate.
"""
from __future__ import annotations

from sqlalchemy.orm import object_session

from app import events
from app.messaging import services


def _session(obj):
    session = object_session(obj)
    if session is None:
        from app.extensions import db

        session = db.session
    return session


@events.enrolment_created.connect
def on_enrolment_created(enrolment, now, **_):
    """Confirmation (or waiting-list text) and reminders for a new enrolment."""
    services.queue_for_enrolment(_session(enrolment), enrolment, now=now)


@events.enrolment_promoted.connect
def on_enrolment_promoted(enrolment, now, **_):
    """A place offered from the waiting list."""
    services.queue_promotion(_session(enrolment), enrolment, now=now)


@events.enrolment_withdrawn.connect
def on_enrolment_withdrawn(enrolment, now, **_):
    """Nothing more is sent about a cohort the parent left."""
    services.cancel_for_enrolment(_session(enrolment), enrolment, reason="withdrawn")


@events.enrolment_transferred.connect
def on_enrolment_transferred(enrolment, now, new_enrolment=None, **_):
    """Stop the old cohort's texts; the new cohort's confirmation and reminders instead."""
    db = _session(enrolment)
    services.cancel_for_enrolment(db, enrolment, reason="transferred to another group")
    if new_enrolment is not None:
        services.queue_for_enrolment(db, new_enrolment, now=now)


@events.schedule_changed.connect
def on_schedule_changed(change, now, **_):
    """Notices to parents; reminders move with the session or are cancelled."""
    services.notify_schedule_change(_session(change), change, now=now)


@events.attendance_marked.connect
def on_attendance_marked(mark, now, previous_status=None, **_):
    """A warm "we missed you" after a missed session, withdrawn if the mark changes."""
    if mark.status != "absent" and previous_status != "absent":
        return  # one is only ever queued while the mark says not here: nothing to withdraw
    services.queue_missed_you(_session(mark), mark, now=now)


@events.rota_changed.connect
def on_rota_changed(session, now, user_ids=(), **_):
    """A notice to each member of staff whose rota changed."""
    services.queue_rota_notices(_session(session), session, user_ids, now=now)


@events.sms_consent_changed.connect
def on_sms_consent_changed(parent, now, **_):
    """Cancel everything queued, or bring the reminders back."""
    services.sync_parent(_session(parent), parent, now=now)
