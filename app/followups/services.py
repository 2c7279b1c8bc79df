"""Follow-ups: opening them (after a missed session, an SMS reply...), listing them, recording outcomes.

A follow-up is a named worker's task to contact a parent. Recording an outcome never closes
the parent's enrolment: withdrawal and transfer stay a person's decision, made on the
enrolment with a reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.services import record, record_changes
from app.errors import Conflict, NotFound, ValidationFailed
from app.followups.models import FOLLOWUP_KINDS, OUTCOME_LABELS, OUTCOMES, FollowUp
from app.timeutil import next_working_day, today_london

#: the outcomes a worker chooses from after calling about a missed session (the issue's list)
MISSED_SESSION_OUTCOMES = ("spoke_to_parent", "left_message", "no_answer", "coming_next_week", "wants_transfer",
                           "wants_withdraw")
#: outcomes offered for each kind of follow-up; every outcome stays valid for every kind in the API
OUTCOMES_BY_KIND: dict[str, tuple[str, ...]] = {
    "missed_session": MISSED_SESSION_OUTCOMES + ("handled",),
    "sms_reply": ("spoke_to_parent", "left_message", "no_answer", "handled"),
    "possible_apology": ("confirmed_apology", "not_an_apology", "spoke_to_parent", "handled"),
    "mobile_problem": ("spoke_to_parent", "left_message", "no_answer", "handled"),
    "register_overdue": ("handled",),
}
#: outcomes that mean "try again": the follow-up stays open with a new due date
RETRY_OUTCOMES = frozenset({"no_answer"})
NOTE_MAX = 2000

KIND_LABELS = {
    "missed_session": "Missed a session",
    "sms_reply": "Replied by SMS",
    "possible_apology": "Possible apology by SMS",
    "mobile_problem": "Mobile number problem",
    "register_overdue": "Register not closed",
}


def clean_text(value: Optional[str], field: str, max_length: int, label: str = "This") -> str:
    """Stripped text that PostgreSQL can store: no NUL characters, no lone surrogates, not too long."""
    value = (value or "").strip()
    if "\x00" in value:
        raise ValidationFailed(f"{label} contains a character that cannot be stored.", field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationFailed(f"{label} contains a character that cannot be stored.", field) from None
    if len(value) > max_length:
        raise ValidationFailed(f"{label} must be {max_length} characters or fewer.", field)
    return value


def due_date_for(now: datetime) -> date:
    """A follow-up raised at `now` is due the next working day (London date)."""
    return next_working_day(today_london(now))


def _id(value: Any) -> Optional[int]:
    return getattr(value, "id", value)


def _existing(db: Session, kind: str, enrolment_id, session_id, inbound_id) -> Optional[FollowUp]:
    query = sa.select(FollowUp).where(FollowUp.kind == kind)
    if inbound_id is not None:
        query = query.where(FollowUp.inbound_message_id == inbound_id)
    else:
        query = query.where(
            FollowUp.enrolment_id.is_(None) if enrolment_id is None else FollowUp.enrolment_id == enrolment_id,
            FollowUp.session_id.is_(None) if session_id is None else FollowUp.session_id == session_id,
        )
    return db.scalars(query.order_by(FollowUp.id).limit(1)).first()


def open_followup(db: Session, *, kind: str, parent, now: datetime, summary: str, enrolment=None, session=None,
                  inbound_message=None, assigned_to=None, is_escalated: bool = False, actor=None) -> FollowUp:
    """Open a follow-up (or return the one already open for the same enrolment, session and kind).

    It goes to `assigned_to`, else the parent's worker, else the coordinators' list (nobody
    assigned), and is due the next working day after `now` (London date). Calling again for
    the same (enrolment, session, kind), or the same inbound message, returns the first one.
    """
    if kind not in FOLLOWUP_KINDS:
        raise ValidationFailed(f"Unknown kind of follow-up: {kind!r}.", "kind")
    enrolment_id, session_id, inbound_id = _id(enrolment), _id(session), _id(inbound_message)
    keyed = inbound_id is not None or enrolment_id is not None or session_id is not None
    if keyed:
        found = _existing(db, kind, enrolment_id, session_id, inbound_id)
        if found is not None:
            if is_escalated and not found.is_escalated and found.status == "open":
                escalate(db, found, now=now, actor=actor)
            return found
    assignee = _id(assigned_to)
    if assignee is None and parent is not None:
        assignee = parent.worker_id
    followup = FollowUp(kind=kind, parent_id=_id(parent), enrolment_id=enrolment_id, session_id=session_id,
                        inbound_message_id=inbound_id, assigned_to_id=assignee, due_date=due_date_for(now),
                        status="open", is_escalated=is_escalated, summary=(summary or "")[:300],
                        created_at=now, updated_at=now)
    try:
        # A savepoint: a concurrent request may open the same one (unique enrolment, session, kind).
        with db.begin_nested():
            db.add(followup)
            db.flush()
    except IntegrityError:
        found = _existing(db, kind, enrolment_id, session_id, inbound_id) if keyed else None
        if found is None:
            raise
        return found
    record(db, "create", followup, actor=actor, parent_id=followup.parent_id, at=now,
           changes={"kind": followup.kind, "assigned_to_id": assignee, "due_date": followup.due_date,
                    "is_escalated": is_escalated, "session_id": session_id})
    return followup


def escalate(db: Session, followup: FollowUp, *, now: datetime, actor=None) -> FollowUp:
    """Raise a follow-up to the coordinators' list (it stays with its worker too)."""
    if followup.is_escalated:
        return followup
    followup.is_escalated = True
    followup.version += 1
    followup.updated_at = now
    record_changes(db, followup, actor=actor, parent_id=followup.parent_id, at=now, action="escalate")
    db.flush()
    return followup


def outcome_choices(kind: str) -> list[tuple[str, str]]:
    """(value, label) pairs of the outcomes offered for a kind of follow-up."""
    return [(o, OUTCOME_LABELS[o]) for o in OUTCOMES_BY_KIND.get(kind, OUTCOMES)]


def record_outcome(db: Session, followup: FollowUp, *, outcome: Optional[str], note: Optional[str], now: datetime,
                   actor=None, expected_version: Optional[int] = None) -> FollowUp:
    """Record what happened. "No answer" keeps it open, due the next working day; others close it.

    A note alone (no outcome) is added to an open follow-up without closing it. Nothing here
    changes the enrolment: "wants to withdraw" or "wants to transfer" is a prompt for a person.
    """
    note = clean_text(note, "note", NOTE_MAX, "The note")
    if outcome in (None, "") and not note:
        raise ValidationFailed("Choose what happened, or write a note.", "outcome")
    if outcome not in (None, "") and outcome not in OUTCOMES:
        raise ValidationFailed("Choose one of the outcomes listed.", "outcome")
    if expected_version is not None and expected_version != followup.version:
        raise Conflict("Someone else has updated this follow-up since you opened it. Check it and try again.",
                       "version")
    if followup.status != "open":
        raise Conflict("This follow-up is already closed.", "outcome")
    if note:
        stamp = f"[{today_london(now):%d %b %Y}] "
        followup.outcome_note = ((followup.outcome_note + "\n") if followup.outcome_note else "") + stamp + note
    if outcome:
        followup.outcome = outcome
        if outcome in RETRY_OUTCOMES:
            followup.due_date = due_date_for(now)
        else:
            followup.status = "done"
            followup.closed_at = now
            followup.closed_by_id = _id(actor)
    followup.version += 1
    followup.updated_at = now
    record_changes(db, followup, actor=actor, parent_id=followup.parent_id, at=now,
                   action="outcome" if outcome else "update")
    db.flush()
    return followup


def close_followups_for_session(db: Session, session_id: int, kind: str, *, now: datetime, actor=None,
                                outcome: str = "handled") -> int:
    """Close the open follow-ups of one kind about a session (e.g. the register flag once it is closed)."""
    rows = db.scalars(sa.select(FollowUp).where(FollowUp.session_id == session_id, FollowUp.kind == kind,
                                                FollowUp.status == "open")).all()
    for followup in rows:
        followup.status = "done"
        followup.outcome = outcome
        followup.closed_at = now
        followup.closed_by_id = _id(actor)
        followup.version += 1
        followup.updated_at = now
        record_changes(db, followup, actor=actor, parent_id=followup.parent_id, at=now, action="outcome")
    db.flush()
    return len(rows)


# --- who sees what -------------------------------------------------------------------------

VIEWS = ("mine", "coordinator", "all", "escalated", "unassigned")


def visible_query(user, *, status: Optional[str] = "open", view: Optional[str] = None) -> sa.Select:
    """Follow-ups this user may see, as a query ordered by due date.

    Workers see the follow-ups assigned to them. Coordinators (admins) see everything; their
    own list ("coordinator") is the escalated ones plus those with nobody assigned.
    """
    query = sa.select(FollowUp)
    if status in ("open", "done"):
        query = query.where(FollowUp.status == status)
    is_admin = getattr(user, "role", None) == "admin"
    if not is_admin:
        query = query.where(FollowUp.assigned_to_id == user.id)
    elif view == "mine":
        query = query.where(FollowUp.assigned_to_id == user.id)
    elif view == "coordinator":
        query = query.where(sa.or_(FollowUp.is_escalated.is_(True), FollowUp.assigned_to_id.is_(None)))
    elif view == "escalated":
        query = query.where(FollowUp.is_escalated.is_(True))
    elif view == "unassigned":
        query = query.where(FollowUp.assigned_to_id.is_(None))
    return query.order_by(FollowUp.due_date, FollowUp.is_escalated.desc(), FollowUp.id)


def list_followups(db: Session, user, *, status: Optional[str] = "open", view: Optional[str] = None,
                   limit: int = 500) -> list[FollowUp]:
    """The follow-ups this user may see (see visible_query)."""
    return list(db.scalars(visible_query(user, status=status, view=view).limit(limit)))


def get_visible(db: Session, user, followup_id: int) -> FollowUp:
    """One follow-up this user may see, or NotFound (others' follow-ups are not revealed)."""
    followup = db.get(FollowUp, followup_id)
    if followup is None or (getattr(user, "role", None) != "admin" and followup.assigned_to_id != user.id):
        raise NotFound("There is no such follow-up.")
    return followup


# --- the parent's attendance at a glance -----------------------------------------------------

@dataclass(frozen=True)
class Glance:
    """One past session of an enrolment and its mark, for the at-a-glance strip."""

    number: int
    starts_at: datetime
    status: Optional[str]  # attended, apologies, absent, or None (not marked)
    is_cancelled: bool


def recent_attendance(db: Session, enrolment_ids: Iterable[int], *, now: datetime,
                      limit: int = 8) -> dict[int, list[Glance]]:
    """Each enrolment's sessions so far (latest `limit`) with its marks, in two queries."""
    from app.attendance.models import AttendanceMark
    from app.cohorts.models import CohortSession
    from app.enrolment.models import Enrolment

    ids = sorted({i for i in enrolment_ids if i is not None})
    if not ids:
        return {}
    rows = db.execute(
        sa.select(Enrolment.id, CohortSession.id, CohortSession.number, CohortSession.starts_at, CohortSession.status)
        .join(CohortSession, CohortSession.cohort_id == Enrolment.cohort_id)
        .where(Enrolment.id.in_(ids), CohortSession.starts_at <= now)
        .order_by(Enrolment.id, CohortSession.starts_at)
    ).all()
    marks = {(m.enrolment_id, m.session_id): m.status for m in db.execute(
        sa.select(AttendanceMark.enrolment_id, AttendanceMark.session_id, AttendanceMark.status)
        .where(AttendanceMark.enrolment_id.in_(ids))).all()}
    out: dict[int, list[Glance]] = {i: [] for i in ids}
    for enrolment_id, session_id, number, starts_at, status in rows:
        out[enrolment_id].append(Glance(number, starts_at, marks.get((enrolment_id, session_id)),
                                        status == "cancelled"))
    return {k: v[-limit:] for k, v in out.items()}
