"""Crèche places: per session, limited by the centre's capacity and by staff-to-child ratios.

England's early-years ratios (EYFS statutory framework) are one adult to three children
under two, to five two-year-olds, and to eight children aged three and over. Ages are taken
on the date of the session, so a child can move band during a cohort.

Mixed ages: each child takes a share of a worker (1/3 under two, 1/5 aged two, 1/8 three and
over); the workers needed are the sum of the shares rounded up. So three babies need one
worker, four need two, and one baby with five three-year-olds needs one (1/3 + 5/8 < 1).
Exact fractions are used, so 15 two-year-olds need exactly 3 workers, never 4 from rounding.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from fractions import Fraction
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.audit.services import record
from app.cohorts.models import CohortSession
from app.enrolment.models import CrecheBooking, Enrolment
from app.errors import ValidationFailed

#: (band key, label, children per worker, upper age bound in months (exclusive) or None)
AGE_BANDS = (
    ("under_2", "Under 2", 3, 24),
    ("two", "Aged 2", 5, 36),
    ("three_plus", "3 and over", 8, None),
)
SHARE = {key: Fraction(1, per) for key, _label, per, _limit in AGE_BANDS}
#: why a child of a family on the group's waiting list waits for the crèche too
FAMILY_WAITING = "The family is on the waiting list for the group."


def age_in_months(date_of_birth: date, on_date: date) -> int:
    """Whole months of age on a date (a month is complete on the same day-of-month as the birth)."""
    months = (on_date.year - date_of_birth.year) * 12 + on_date.month - date_of_birth.month
    if on_date.day < date_of_birth.day:
        # Not yet that day of the month; for a child born on the 31st this errs younger,
        # which needs more staff, never fewer.
        months -= 1
    return months


def age_band(months: int) -> str:
    """The ratio band of a child of this many months: under_2, two or three_plus."""
    for key, _label, _per, limit in AGE_BANDS:
        if limit is None or months < limit:
            return key
    raise AssertionError("unreachable")


def _months_of(child_or_months, on_date: date) -> int:
    if isinstance(child_or_months, int):
        return child_or_months
    dob = getattr(child_or_months, "date_of_birth", None)
    if dob is None:
        raise ValidationFailed("A child who is not born yet cannot have a crèche place.", "creche_child_ids")
    return age_in_months(dob, on_date)


def band_counts(ages_in_months_or_children: Iterable, on_date: date) -> dict[str, int]:
    """How many children fall in each ratio band on a date."""
    counts = {key: 0 for key, *_ in AGE_BANDS}
    for item in ages_in_months_or_children:
        counts[age_band(_months_of(item, on_date))] += 1
    return counts


def staff_needed(ages_in_months_or_children: Iterable, on_date: date) -> int:
    """Crèche workers needed for these children on a date: the sum of each child's share, rounded up.

    Accepts ages in whole months (ints) or Child objects (their age is taken on ``on_date``).
    No children need no workers.
    """
    counts = band_counts(ages_in_months_or_children, on_date)
    total = sum((SHARE[key] * n for key, n in counts.items()), Fraction(0))
    return math.ceil(total)


def creche_workers_on_rota(db: Session, session_id: int) -> int:
    """How many crèche workers the rota has put on a session."""
    from app.rota.models import RotaAssignment

    return db.scalar(sa.select(sa.func.count(RotaAssignment.id)).where(
        RotaAssignment.session_id == session_id, RotaAssignment.role == "creche")) or 0


def _booked_children(db: Session, session_id: int):
    from app.parents.models import Child

    return list(db.scalars(sa.select(Child).join(CrecheBooking, CrecheBooking.child_id == Child.id).where(
        CrecheBooking.session_id == session_id, CrecheBooking.status == "booked")))


def _refusal(db: Session, session: CohortSession, child, capacity: int, booked: list) -> str | None:
    """Why this child cannot have a place at this session, or None if they can."""
    if len(booked) >= capacity:
        return f"The crèche is full: the centre takes {capacity} children at a time."
    workers = creche_workers_on_rota(db, session.id)
    if workers:
        day = _london_date(session.starts_at)
        needed = staff_needed([*booked, child], day)
        if needed > workers:
            band = dict((k, label) for k, label, *_ in AGE_BANDS)[age_band(_months_of(child, day))]
            return (f"Not enough crèche workers: with this child ({band.lower()}) the crèche needs {needed} "
                    f"and {workers} {'is' if workers == 1 else 'are'} on the rota.")
    return None


def _london_date(moment: datetime) -> date:
    from app.timeutil import to_london

    return to_london(moment).date()


def book_children(db: Session, enrolment: Enrolment, children: list, *, now: datetime, actor=None) -> list[CrecheBooking]:
    """Book each child into the crèche for every future scheduled session of the enrolment's cohort.

    A place is given when the crèche has room under the centre's ``creche_capacity`` and,
    if crèche workers are on the rota for that session, when the ratios still hold with
    the child added (ages on the session's date). When no crèche worker is assigned yet, only
    the capacity limits bookings: the rota is expected to supply the workers the crèche page
    says are needed. A child who cannot have a place gets a booking with status
    ``waitlisted`` and the reason. Each session row is locked while it is counted, so two
    bookings cannot both take its last place. Children already booked (or waitlisted) for a
    session keep that booking; a cancelled one is tried again, and so is one that waited only
    because the family was on the waiting list, once the family has a place. Returns the
    bookings made or changed. Raises ValidationFailed (creche_child_ids) if the programme has
    no crèche, a child is not the enrolled parent's, or a child is not born yet.
    """
    from app.parents.models import Child, Parent

    cohort = enrolment.cohort
    if not cohort.programme.creche:
        raise ValidationFailed(f"{cohort.programme.name} has no crèche.", "creche_child_ids")
    if enrolment.status not in ("enrolled", "waitlisted"):
        raise ValidationFailed("Only a family with a place or on the waiting list can book the crèche.",
                               "creche_child_ids")
    own_ids = set(db.scalars(sa.select(Child.id).where(Child.carers.any(Parent.id == enrolment.parent_id))))
    for child in children:
        if child.id not in own_ids:
            raise ValidationFailed("Choose children of the parent being enrolled.", "creche_child_ids")
        if child.date_of_birth is None:
            raise ValidationFailed(f"{child.first_name} is not born yet, so cannot have a crèche place.",
                                   "creche_child_ids")
    capacity = cohort.centre.creche_capacity
    # Lock in id order so two bookings for the same cohort cannot deadlock.
    sessions = list(db.scalars(sa.select(CohortSession).where(
        CohortSession.cohort_id == cohort.id, CohortSession.status == "scheduled", CohortSession.starts_at > now,
    ).order_by(CohortSession.id).with_for_update()))
    sessions.sort(key=lambda s: s.starts_at)
    out: list[CrecheBooking] = []
    for session in sessions:
        booked = _booked_children(db, session.id)
        for child in children:
            existing = db.scalar(sa.select(CrecheBooking).where(
                CrecheBooking.session_id == session.id, CrecheBooking.child_id == child.id))
            if existing is not None and existing.status != "cancelled" and not (
                    existing.status == "waitlisted" and existing.waitlist_reason == FAMILY_WAITING
                    and enrolment.status == "enrolled"):
                continue
            # A waitlisted family's children queue too: the family place comes first.
            reason = (FAMILY_WAITING if enrolment.status == "waitlisted"
                      else _refusal(db, session, child, capacity, booked))
            booking = existing or CrecheBooking(session_id=session.id, child_id=child.id, enrolment_id=enrolment.id)
            booking.enrolment_id = enrolment.id
            booking.status = "waitlisted" if reason else "booked"
            booking.waitlist_reason = reason
            if existing is None:
                db.add(booking)
            db.flush()
            if not reason:
                booked.append(child)
            record(db, "creche_" + booking.status, booking, actor=actor, parent_id=enrolment.parent_id, at=now,
                   changes={"session_id": session.id, "child_id": child.id, "status": booking.status})
            out.append(booking)
    db.flush()
    return out


def book_after_promotion(db: Session, enrolment: Enrolment, *, now: datetime, actor=None) -> list[CrecheBooking]:
    """A family just given a place: book the children who waited for the crèche only because of the family's wait."""
    from app.parents.models import Child

    children = list(db.scalars(sa.select(Child).join(CrecheBooking, CrecheBooking.child_id == Child.id).where(
        CrecheBooking.enrolment_id == enrolment.id, CrecheBooking.status == "waitlisted",
        CrecheBooking.waitlist_reason == FAMILY_WAITING).distinct().order_by(Child.id)))
    return book_children(db, enrolment, children, now=now, actor=actor) if children else []


def cancel_bookings(db: Session, enrolment: Enrolment, *, now: datetime, actor=None) -> int:
    """Cancel the enrolment's crèche bookings for sessions still to come; returns how many."""
    future = sa.select(CohortSession.id).where(CohortSession.cohort_id == enrolment.cohort_id,
                                               CohortSession.starts_at > now)
    bookings = list(db.scalars(sa.select(CrecheBooking).where(
        CrecheBooking.enrolment_id == enrolment.id, CrecheBooking.status != "cancelled",
        CrecheBooking.session_id.in_(future))))
    for booking in bookings:
        booking.status = "cancelled"
        record(db, "creche_cancelled", booking, actor=actor, parent_id=enrolment.parent_id, at=now)
    db.flush()
    retry_waiting(db, sorted({b.session_id for b in bookings if b.session_id}), now=now, actor=actor)
    return len(bookings)


def retry_waiting(db: Session, session_ids: list[int], *, now: datetime, actor=None) -> list[CrecheBooking]:
    """Places freed at these sessions go to the children waiting for them, in the order they asked.

    Only children of families with a place are considered (a family still on the group's
    waiting list waits for that first); the same capacity and ratio rules apply as when booking.
    """
    if not session_ids:
        return []
    sessions = list(db.scalars(sa.select(CohortSession).where(
        CohortSession.id.in_(session_ids), CohortSession.status == "scheduled", CohortSession.starts_at > now,
    ).order_by(CohortSession.id).with_for_update()))
    given: list[CrecheBooking] = []
    for session in sessions:
        waiting = list(db.scalars(sa.select(CrecheBooking).join(Enrolment, Enrolment.id == CrecheBooking.enrolment_id)
                                  .where(CrecheBooking.session_id == session.id, CrecheBooking.status == "waitlisted",
                                         Enrolment.status == "enrolled")
                                  .order_by(CrecheBooking.created_at, CrecheBooking.id)))
        if not waiting:
            continue
        capacity = session.cohort.centre.creche_capacity
        booked = _booked_children(db, session.id)
        for booking in waiting:
            if _refusal(db, session, booking.child, capacity, booked) is not None:
                continue
            booking.status = "booked"
            booking.waitlist_reason = None
            booked.append(booking.child)
            db.flush()
            record(db, "creche_booked", booking, actor=actor, parent_id=booking.enrolment.parent_id, at=now,
                   changes={"session_id": session.id, "child_id": booking.child_id, "status": "booked",
                            "from": "crèche waiting list"})
            given.append(booking)
    db.flush()
    return given


def creche_summary(db: Session, session: CohortSession) -> dict:
    """A session's crèche: booked, waitlisted, children per age band, workers needed and on the rota."""
    counts = dict(db.execute(sa.select(CrecheBooking.status, sa.func.count(CrecheBooking.id)).where(
        CrecheBooking.session_id == session.id).group_by(CrecheBooking.status)).all())
    day = _london_date(session.starts_at)
    children = _booked_children(db, session.id)
    bands = band_counts(children, day)
    return {
        "booked": counts.get("booked", 0),
        "waitlisted": counts.get("waitlisted", 0),
        "by_age": bands,
        "workers_needed": staff_needed(children, day),
        "workers_on_rota": creche_workers_on_rota(db, session.id),
        "capacity": session.cohort.centre.creche_capacity,
    }
