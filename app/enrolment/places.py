"""Family places and the waiting list of a cohort.

The one rule here: a cohort never has more enrolled families than places, even when many
people enrol at the same moment. Every change to the count first takes a row lock on the
cohort (``SELECT ... FOR UPDATE``), so on PostgreSQL concurrent enrolments queue behind
each other and each one counts what the previous ones committed. SQLite ignores
``FOR UPDATE`` but serialises writers on the whole file, so the rule holds there too.

The enrolment service (app/enrolment/services.py) calls these functions and sends the
``enrolment_created`` event; ``promote_from_waitlist`` sends ``enrolment_promoted`` itself
because it is also called by the cohort service when places are added.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import events
from app.audit.services import record
from app.cohorts.models import Cohort, CohortSession
from app.enrolment.models import PLACE_HOLDING, Enrolment
from app.errors import Conflict, ValidationFailed


def lock_cohort(db: Session, cohort_id: int) -> Cohort:
    """Take the cohort's row lock for the rest of the transaction and return it, freshly loaded."""
    cohort = db.execute(
        sa.select(Cohort).where(Cohort.id == cohort_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if cohort is None:
        raise ValidationFailed("There is no such cohort.", "cohort_id")
    return cohort


def enrolled_count(db: Session, cohort_id: int) -> int:
    """How many families hold a place in the cohort (counted in SQL, not from loaded objects)."""
    return db.scalar(sa.select(sa.func.count(Enrolment.id)).where(
        Enrolment.cohort_id == cohort_id, Enrolment.status.in_(PLACE_HOLDING))) or 0


def last_session_end(db: Session, cohort_id: int) -> datetime | None:
    """When the cohort's last scheduled session ends, or None if none is scheduled."""
    return db.scalar(sa.select(sa.func.max(CohortSession.ends_at)).where(
        CohortSession.cohort_id == cohort_id, CohortSession.status == "scheduled"))


def is_finished(db: Session, cohort: Cohort, now: datetime) -> bool:
    """True once the last scheduled session has ended (or no session is left scheduled)."""
    last = last_session_end(db, cohort.id)
    return last is None or last <= now


def check_open(db: Session, cohort: Cohort, now: datetime) -> None:
    """Refuse a cohort that is cancelled or already over (field cohort_id)."""
    if cohort.status == "cancelled":
        raise ValidationFailed("This cohort has been cancelled: choose another cohort.", "cohort_id")
    if is_finished(db, cohort, now):
        raise ValidationFailed("This cohort has finished: choose a cohort that is still running.", "cohort_id")


def enrol_or_waitlist(db: Session, cohort: Cohort, parent, *, referral_source: str, now: datetime,
                      actor=None) -> Enrolment:
    """Give the parent a place if one is free, otherwise a place at the end of the waiting list.

    Locks the cohort row first, so concurrent calls are served one at a time and the count of
    enrolled families can never pass the cohort's capacity. Records the audit event for the
    new enrolment; does not send events (the enrolment service does, once it has finished).
    Raises ValidationFailed (cohort_id) for a cancelled or finished cohort and Conflict
    (parent_id) if the parent already has an enrolment in this cohort, in any status.
    """
    locked = lock_cohort(db, cohort.id)
    check_open(db, locked, now)
    existing = db.scalar(sa.select(Enrolment).where(Enrolment.cohort_id == locked.id,
                                                    Enrolment.parent_id == parent.id))
    if existing is not None:
        state = {"enrolled": "already has a place in", "waitlisted": "is already on the waiting list of",
                 "withdrawn": "has withdrawn from", "transferred": "was transferred out of"}.get(
                     existing.status, "already has an enrolment in")
        raise Conflict(f"This parent {state} this cohort.", "parent_id")
    has_place = enrolled_count(db, locked.id) < locked.capacity
    enrolment = Enrolment(
        cohort_id=locked.id, parent_id=parent.id, referral_source=referral_source,
        status="enrolled" if has_place else "waitlisted",
        enrolled_at=now if has_place else None,
        waitlisted_at=None if has_place else now,
        created_by_id=getattr(actor, "id", None),
    )
    db.add(enrolment)
    db.flush()
    record(db, "create", enrolment, actor=actor, parent_id=parent.id, at=now,
           changes={"status": enrolment.status, "cohort_id": locked.id, "referral_source": referral_source})
    return enrolment


def waiting_list(db: Session, cohort_id: int) -> list[Enrolment]:
    """The cohort's waiting list, first in line first."""
    return list(db.scalars(sa.select(Enrolment).where(
        Enrolment.cohort_id == cohort_id, Enrolment.status == "waitlisted"
    ).order_by(Enrolment.waitlisted_at, Enrolment.id)))


def promote_from_waitlist(db: Session, cohort: Cohort, *, now: datetime, actor=None) -> list[Enrolment]:
    """Fill free places from the front of the waiting list; returns the enrolments promoted.

    Call it after anything that frees or adds a place (a withdrawal, a transfer out, a larger
    capacity). Nothing is promoted into a cancelled or finished cohort. Crèche places the
    family's children waited for only because of the family's wait are booked again. Sends
    ``events.enrolment_promoted`` for each promoted enrolment.
    """
    locked = lock_cohort(db, cohort.id)
    if locked.status == "cancelled" or is_finished(db, locked, now):
        return []
    free = locked.capacity - enrolled_count(db, locked.id)
    if free <= 0:
        return []
    promoted = list(db.scalars(sa.select(Enrolment).where(
        Enrolment.cohort_id == locked.id, Enrolment.status == "waitlisted"
    ).order_by(Enrolment.waitlisted_at, Enrolment.id).limit(free).with_for_update()))
    for enrolment in promoted:
        enrolment.status = "enrolled"
        enrolment.enrolled_at = now
        enrolment.version += 1
        record(db, "promote", enrolment, actor=actor, parent_id=enrolment.parent_id, at=now,
               changes={"status": ["waitlisted", "enrolled"]})
    db.flush()
    for enrolment in promoted:
        if locked.programme.creche:
            from app.enrolment.creche import book_after_promotion

            book_after_promotion(db, enrolment, now=now, actor=actor)
    for enrolment in promoted:
        events.enrolment_promoted.send(enrolment, now=now, actor=actor)
    return promoted


def places_summary(db: Session, cohort: Cohort) -> dict[str, int]:
    """capacity, enrolled, waitlisted and free places of a cohort, counted in one query."""
    rows = db.execute(sa.select(Enrolment.status, sa.func.count(Enrolment.id)).where(
        Enrolment.cohort_id == cohort.id, Enrolment.status.in_(("enrolled", "waitlisted"))
    ).group_by(Enrolment.status)).all()
    counts = {status: n for status, n in rows}
    enrolled = counts.get("enrolled", 0)
    return {"capacity": cohort.capacity, "enrolled": enrolled, "waitlisted": counts.get("waitlisted", 0),
            "free": max(cohort.capacity - enrolled, 0)}
