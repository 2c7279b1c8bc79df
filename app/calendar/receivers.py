"""How the calendar hears about enrolments and schedule changes (app/events.py signals).

Feeds need no receiver: they are built from the database on every fetch. These receivers
only queue e-mail invitations (rows in calendar_invites, in the sender's transaction); the
scheduler sends them after commit. Without SMTP_URL they do nothing.
"""
from __future__ import annotations

from app import events
from app.calendar import services
from app.cohorts.models import Cohort, CohortSession
from app.extensions import db


@events.enrolment_created.connect
def invite_new_enrolment(enrolment, now, **_):
    """A parent who got a place is invited to every session still to come."""
    if enrolment.status != "enrolled" or not services.email_enabled():
        return
    services.queue_invites(db.session, enrolment.parent, services.future_sessions(enrolment.cohort, now),
                           "REQUEST", now=now)


@events.enrolment_promoted.connect
def invite_promoted(enrolment, now, **_):
    """A parent promoted from the waiting list is invited like a new enrolment."""
    invite_new_enrolment(enrolment, now=now)


@events.enrolment_withdrawn.connect
def cancel_on_withdrawal(enrolment, now, **_):
    """A parent who left gets a cancellation for each session still to come."""
    if not services.email_enabled():
        return
    services.queue_invites(db.session, enrolment.parent, services.future_sessions(enrolment.cohort, now),
                           "CANCEL", now=now)


@events.enrolment_transferred.connect
def move_on_transfer(enrolment, now, new_enrolment=None, **_):
    """Cancel the old cohort's sessions to come; invite to the new cohort's if the parent has a place."""
    cancel_on_withdrawal(enrolment, now=now)
    if new_enrolment is not None:
        invite_new_enrolment(new_enrolment, now=now)


@events.schedule_changed.connect
def on_schedule_change(change, now, **_):
    """A moved, cancelled or added session (or a cancelled cohort) reaches every enrolled parent's inbox."""
    if not services.email_enabled():
        return
    session = db.session.get(CohortSession, change.session_id) if change.session_id else None
    cohort = db.session.get(Cohort, change.cohort_id)
    if cohort is None:
        return
    if session is None:
        # A change to the whole cohort: every session still to come.
        if change.kind == "cohort_cancelled":
            targets, method = [s for s in cohort.sessions if s.starts_at > now], "CANCEL"
        elif change.kind == "room_changed":
            targets, method = services.future_sessions(cohort, now), "REQUEST"
        else:
            return
    elif change.kind == "cancelled" or session.status == "cancelled":
        targets, method = [session], "CANCEL"
    elif change.kind in ("moved", "catch_up_added", "room_changed"):
        targets, method = [session], "REQUEST"
    else:
        return
    if not targets:
        return
    for parent in services.enrolled_parents(db.session, change.cohort_id):
        services.queue_invites(db.session, parent, targets, method, now=now)
