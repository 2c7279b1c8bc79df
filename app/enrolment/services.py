"""Enrolling a parent into a cohort, transferring them to a later one, and withdrawing them.

Places and the waiting list are counted by app/enrolment/places.py and crèche places by
app/enrolment/creche.py; this module adds the eligibility check (and its override), the
crèche choice, the audit trail and the events other features listen to:

* ``enrolment_created`` for a new enrolment (enrolled or waitlisted);
* ``enrolment_withdrawn`` (reason=...) when a parent withdraws;
* ``enrolment_transferred`` (new_enrolment=...) when a parent moves to a later cohort. The new
  enrolment does not also send ``enrolment_created``: listeners treat a transfer as one
  event about both enrolments, so a parent gets one message, not two.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import events
from app.audit.services import record
from app.auth.permissions import can
from app.cohorts.models import Cohort
from app.eligibility.services import Eligibility, check_age, check_eligibility
from app.enrolment import creche, places
from app.enrolment.models import CrecheBooking, Enrolment
from app.errors import NotFound, ValidationFailed
from app.parents.choices import REFERRAL_SOURCES, values
from app.parents.models import Child, Parent
from app.timeutil import today_london

REASON_MAX = 300
#: statuses from which a parent can still withdraw or move
ACTIVE = ("enrolled", "waitlisted")


@dataclass
class EnrolmentOutcome:
    """A new enrolment, the eligibility check it passed (or was overridden), and its crèche bookings."""

    enrolment: Enrolment
    eligibility: Eligibility
    bookings: list[CrecheBooking] = field(default_factory=list)


def _reason(text: Any, field: str, what: str) -> str:
    reason = text.strip() if isinstance(text, str) else ""
    if not reason:
        raise ValidationFailed(f"Enter the reason for {what}", field)
    if len(reason) > REASON_MAX:
        raise ValidationFailed(f"The reason must be {REASON_MAX} characters or fewer", field)
    return reason


def _may_override(actor) -> bool:
    # No actor means the system itself (demo data, imports), which is trusted.
    return actor is None or can(actor, "eligibility.override")


def _eligibility_gate(db: Session, parent: Parent, cohort: Cohort, *, override_reason: Any, now: datetime,
                      actor) -> tuple[Eligibility, str | None]:
    """Check eligibility; a failed check needs a coordinator's reason. Returns the check and the reason kept."""
    result = check_eligibility(db, parent, cohort, now=now)
    if result.eligible:
        return result, None
    if override_reason is None or (isinstance(override_reason, str) and not override_reason.strip()):
        ask = ("a coordinator can enrol them with a reason" if not _may_override(actor)
               else "to enrol them anyway, give a reason for the override")
        raise ValidationFailed("Not eligible: " + "; ".join(result.reasons) + f" ({ask})",
                               fields={"eligibility": result.reasons})
    if not _may_override(actor):
        raise ValidationFailed("Only a coordinator can override the eligibility check", "eligibility_override_reason")
    return result, _reason(override_reason, "eligibility_override_reason", "the override")


def _children_of(db: Session, parent: Parent, child_ids: Iterable[Any]) -> list[Child]:
    ids = list(child_ids or [])
    if any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise ValidationFailed("Choose children of the parent being enrolled", "creche_child_ids")
    own = {c.id: c for c in parent.children}
    if any(i not in own for i in ids):
        raise ValidationFailed("Choose children of the parent being enrolled", "creche_child_ids")
    return [own[i] for i in dict.fromkeys(ids)]


def check_referral_source(value: Any) -> str:
    """A referral source from the funder's list (field referral_source)."""
    if not isinstance(value, str) or value not in values(REFERRAL_SOURCES):
        raise ValidationFailed("Choose how the family was referred", "referral_source")
    return value


def enrol(db: Session, cohort: Cohort, parent: Parent, *, referral_source: Any, creche_child_ids: Iterable[Any] = (),
          override_reason: Any = None, now: datetime, actor=None) -> EnrolmentOutcome:
    """Enrol the parent (or put them on the waiting list), with crèche places for the chosen children.

    Refuses, naming the field: an unknown referral source (referral_source), a cancelled or
    finished cohort (cohort_id), a parent already in the cohort (parent_id), a family that
    fails the eligibility check without a coordinator's reason (eligibility), children who
    are not the parent's or not born, or a programme without a crèche (creche_child_ids).
    """
    source = check_referral_source(referral_source)
    places.check_open(db, cohort, now)
    existing = db.scalar(sa.select(Enrolment).where(Enrolment.cohort_id == cohort.id,
                                                    Enrolment.parent_id == parent.id))
    if existing is not None:
        raise ValidationFailed(_already(existing), "parent_id")
    children = _children_of(db, parent, creche_child_ids)
    if children and not cohort.programme.creche:
        raise ValidationFailed(f"{cohort.programme.name} has no crèche", "creche_child_ids")
    eligibility, override = _eligibility_gate(db, parent, cohort, override_reason=override_reason, now=now,
                                              actor=actor)
    enrolment = places.enrol_or_waitlist(db, cohort, parent, referral_source=source, now=now, actor=actor)
    if override:
        enrolment.eligibility_override_reason = override
        enrolment.eligibility_override_by_id = getattr(actor, "id", None)
        record(db, "eligibility_override", enrolment, actor=actor, parent_id=parent.id, at=now,
               changes={"eligibility_override_reason": ["", "(given)"], "failed": "; ".join(eligibility.reasons)})
        db.flush()
    bookings = creche.book_children(db, enrolment, children, now=now, actor=actor) if children else []
    events.enrolment_created.send(enrolment, now=now, actor=actor)
    return EnrolmentOutcome(enrolment, eligibility, bookings)


def _already(existing: Enrolment) -> str:
    return {"enrolled": "This parent already has a place in this cohort",
            "waitlisted": "This parent is already on this cohort's waiting list",
            "withdrawn": "This parent withdrew from this cohort: choose another cohort",
            "transferred": "This parent was transferred out of this cohort: choose another cohort"}.get(
        existing.status, "This parent is already enrolled in this cohort")


def _check_active(enrolment: Enrolment, what: str) -> None:
    if enrolment.status not in ACTIVE:
        raise ValidationFailed(f"This enrolment is already {enrolment.status}, so it cannot be {what}", "status")


def _check_version(enrolment: Enrolment, version: Any) -> None:
    from app.errors import Conflict

    if version is not None and version != enrolment.version:
        raise Conflict("Someone else changed this enrolment: reload it and try again", "version")


def withdraw(db: Session, enrolment: Enrolment, *, reason: Any, now: datetime, actor=None,
             version: Any = None) -> Enrolment:
    """Withdraw a parent, with their reason; frees the place (the waiting list moves up) and the crèche places."""
    _check_version(enrolment, version)
    _check_active(enrolment, "withdrawn")
    text = _reason(reason, "reason", "the withdrawal")
    had_place = enrolment.status == "enrolled"
    previous = enrolment.status
    enrolment.status = "withdrawn"
    enrolment.withdrawn_at = now
    enrolment.withdrawal_reason = text
    enrolment.version += 1
    record(db, "withdraw", enrolment, actor=actor, parent_id=enrolment.parent_id, at=now,
           changes={"status": [previous, "withdrawn"], "withdrawal_reason": ["", "(given)"]})
    db.flush()
    creche.cancel_bookings(db, enrolment, now=now, actor=actor)
    events.enrolment_withdrawn.send(enrolment, reason=text, now=now, actor=actor)
    if had_place:
        places.promote_from_waitlist(db, enrolment.cohort, now=now, actor=actor)
    return enrolment


def transfer(db: Session, enrolment: Enrolment, target: Cohort, *, now: datetime, actor=None,
             override_reason: Any = None, version: Any = None) -> EnrolmentOutcome:
    """Move a parent to a later cohort, keeping this enrolment as history (status "transferred").

    The new cohort gives a place or a waiting-list place by the usual rules; children who had
    crèche places get them in the new cohort when it has a crèche. The family is checked
    against the new cohort's dates; an earlier coordinator override carries over. A place
    freed here goes to the front of this cohort's waiting list.
    """
    _check_version(enrolment, version)
    _check_active(enrolment, "transferred")
    field_ = "transfer_to_cohort_id"
    current = enrolment.cohort
    if target.id == current.id:
        raise ValidationFailed("Choose a different cohort to transfer to", field_)
    if target.start_date <= current.start_date:
        raise ValidationFailed("Choose a cohort that starts after this one", field_)
    try:
        places.check_open(db, target, now)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field_) from None
    parent = enrolment.parent
    existing = db.scalar(sa.select(Enrolment).where(Enrolment.cohort_id == target.id,
                                                    Enrolment.parent_id == parent.id))
    if existing is not None:
        raise ValidationFailed(_already(existing), field_)
    # An earlier override is about where the family lives, which a transfer does not change;
    # a child too old for the new dates needs a coordinator to decide again.
    carried = enrolment.eligibility_override_reason
    fresh = check_eligibility(db, parent, target, now=now)
    if carried and override_reason is None and not fresh.eligible \
            and check_age(parent, target, today=today_london(now)).eligible:
        eligibility, override = fresh, carried
    else:
        eligibility, override = _eligibility_gate(db, parent, target, override_reason=override_reason, now=now,
                                                  actor=actor)
    child_ids = list(db.scalars(sa.select(CrecheBooking.child_id).where(
        CrecheBooking.enrolment_id == enrolment.id, CrecheBooking.status != "cancelled").distinct()))
    had_place = enrolment.status == "enrolled"
    previous = enrolment.status

    new = places.enrol_or_waitlist(db, target, parent, referral_source=enrolment.referral_source, now=now,
                                   actor=actor)
    if override:
        new.eligibility_override_reason = override
        new.eligibility_override_by_id = (enrolment.eligibility_override_by_id if override == carried
                                          else getattr(actor, "id", None))
    enrolment.status = "transferred"
    enrolment.transferred_to_id = new.id
    enrolment.version += 1
    record(db, "transfer", enrolment, actor=actor, parent_id=parent.id, at=now,
           changes={"status": [previous, "transferred"], "transferred_to_id": [None, new.id],
                    "cohort_id": [current.id, target.id]})
    db.flush()
    creche.cancel_bookings(db, enrolment, now=now, actor=actor)
    bookings: list[CrecheBooking] = []
    if child_ids and target.programme.creche:
        children = [c for c in parent.children if c.id in set(child_ids) and c.date_of_birth is not None]
        bookings = creche.book_children(db, new, children, now=now, actor=actor) if children else []
    events.enrolment_transferred.send(enrolment, new_enrolment=new, now=now, actor=actor)
    if had_place:
        places.promote_from_waitlist(db, current, now=now, actor=actor)
    return EnrolmentOutcome(new, eligibility, bookings)


def get_enrolment(db: Session, enrolment_id: int, user) -> Enrolment:
    """An enrolment of one of the user's families; NotFound otherwise."""
    from app.parents.services import visible_parents

    enrolment = db.get(Enrolment, enrolment_id)
    if enrolment is None or db.scalar(visible_parents(user).where(Parent.id == enrolment.parent_id)
                                      .with_only_columns(Parent.id)) is None:
        raise NotFound("There is no such enrolment, or it is not one of your families'.", "enrolment_id")
    return enrolment


def get_open_cohort(db: Session, cohort_id: Any, field_: str = "cohort_id") -> Cohort:
    """A cohort by id for enrolling (ValidationFailed naming the field if there is none)."""
    if isinstance(cohort_id, bool) or not isinstance(cohort_id, int):
        raise ValidationFailed("Choose a cohort", field_)
    cohort = db.get(Cohort, cohort_id)
    if cohort is None:
        raise ValidationFailed("There is no such cohort", field_)
    return cohort


@dataclass
class CohortChoice:
    """A cohort a family could join, with its places and how near it is."""

    cohort: Cohort
    places: dict[str, int]
    same_ward: bool
    own_centre: bool
    started: bool


def cohorts_to_join(db: Session, *, now: datetime, ward: str | None = None, centre_ids: Iterable[int] = (),
                    programme_key: str | None = None, exclude_parent_id: int | None = None,
                    starting_after: date | None = None) -> list[CohortChoice]:
    """Cohorts still open (not cancelled, a session still to come), nearest first.

    Nearest means a centre in the family's ward, then the family's or worker's centres, then
    the rest; within that, cohorts with free places first, then the earliest start.
    """
    from app.cohorts.models import CohortSession

    upcoming = sa.select(CohortSession.cohort_id).where(CohortSession.status == "scheduled",
                                                        CohortSession.ends_at > now)
    query = sa.select(Cohort).where(Cohort.status == "active", Cohort.id.in_(upcoming))
    if programme_key:
        query = query.where(Cohort.programme_key == programme_key)
    if exclude_parent_id is not None:
        query = query.where(~Cohort.id.in_(sa.select(Enrolment.cohort_id).where(
            Enrolment.parent_id == exclude_parent_id)))
    cohorts = list(db.scalars(query.order_by(Cohort.start_date, Cohort.id)))
    if starting_after is not None:
        cohorts = [c for c in cohorts if c.start_date > starting_after]
    centre_ids = set(centre_ids)
    wanted_ward = (ward or "").casefold()
    out = []
    for cohort in cohorts:
        first = min((s.starts_at for s in cohort.sessions if s.status == "scheduled"), default=None)
        out.append(CohortChoice(
            cohort, places.places_summary(db, cohort),
            same_ward=bool(wanted_ward) and cohort.centre.ward.casefold() == wanted_ward,
            own_centre=cohort.centre_id in centre_ids, started=first is not None and first <= now))
    out.sort(key=lambda c: (not c.same_ward, not c.own_centre, c.places["free"] == 0, c.cohort.start_date,
                            c.cohort.id))
    return out
