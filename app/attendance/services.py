"""The register: marking attendance (idempotent, last tap wins), closing it, crèche sign-in and out, notes.

Tablets mark offline and sync later, possibly hours later, possibly twice, possibly out of
order. So every tap carries a client id (replaying it changes nothing) and the time it was
made on the tablet (an older tap never overwrites a newer one). Every tap received is kept in
``MarkReceipt``; a tap that lost is also written to the audit trail.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from datetime import datetime, time, timedelta
from typing import Optional

import re

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app import events
from app.attendance.models import MARK_STATUSES, AttendanceMark, MarkReceipt, SessionNote
from app.audit.services import changes_between, record, record_changes, record_now
from app.cohorts.models import Cohort, CohortSession
from app.enrolment.models import CrecheBooking, Enrolment
from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.followups import services as followups
from app.parents.models import Parent
from app.rota.models import RotaAssignment
from app.timeutil import local_to_utc, today_london
from programmes import programme_name

STATUS_LABELS = {"attended": "Here", "apologies": "Apologies", "absent": "Not here"}
CLIENT_ID_MAX = 64
#: a tablet's mark id: a UUID in practice; letters, digits and . _ : - only
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: a tap is refused if the tablet says it was made longer than this before the session
#: (apologies are often given a week or two ahead; a year-0096 clock is a broken tablet)
EARLIEST_TAP = timedelta(days=90)
NOTE_MAX = 2000
COLLECTED_BY_MAX = 120
#: a register still open this long after the session ended is flagged
OVERDUE_AFTER = timedelta(hours=2)
MISSED_SUMMARY = "Call, ask how things are, talk about any difficulties."


# --- who may open a register -----------------------------------------------------------------

def is_on_rota(db: Session, user, session_id: int) -> bool:
    """True when the user is on this session's rota (as facilitator or crèche worker)."""
    if user is None:
        return False
    return db.scalar(sa.select(sa.literal(1)).where(RotaAssignment.session_id == session_id,
                                                    RotaAssignment.user_id == user.id).limit(1)) is not None


def check_register_access(db: Session, user, session, *, on_rota: Optional[bool] = None) -> None:
    """Admins may use any register; others only the registers of sessions they are on the rota for.

    ``on_rota`` is the answer when the caller already read it (with the session, in one query).
    """
    if user is None or getattr(user, "role", None) == "admin":
        return  # None: the system itself (closing job, tests of rules)
    if on_rota is None:
        on_rota = is_on_rota(db, user, session.id)
    if not on_rota:
        raise PermissionDenied("You are not on the rota for this session.")


def get_session(db: Session, session_id: int) -> CohortSession:
    """A session with its cohort, centre and room in one query, or NotFound."""
    session = db.scalars(
        sa.select(CohortSession).where(CohortSession.id == session_id)
        .options(joinedload(CohortSession.cohort).joinedload(Cohort.centre), joinedload(CohortSession.room))
    ).first()
    if session is None:
        raise NotFound("There is no such session.")
    return session


def sessions_for_user(db: Session, user, *, now: datetime, days_ahead: int = 7,
                      days_back: int = 14) -> list[CohortSession]:
    """The sessions a user's register list shows: today and the coming week, and recent ones still open.

    Facilitators see the sessions they are on the rota for; admins see every session.
    """
    today = today_london(now)
    start = local_to_utc(today, time(0, 0))
    end = local_to_utc(today + timedelta(days=days_ahead + 1), time(0, 0))
    back = local_to_utc(today - timedelta(days=days_back), time(0, 0))
    query = (sa.select(CohortSession)
             .where(sa.or_(sa.and_(CohortSession.starts_at >= start, CohortSession.starts_at < end),
                           sa.and_(CohortSession.starts_at >= back, CohortSession.starts_at < start,
                                   CohortSession.register_closed_at.is_(None),
                                   CohortSession.status == "scheduled")))
             .options(joinedload(CohortSession.cohort).joinedload(Cohort.centre), joinedload(CohortSession.room))
             .order_by(CohortSession.starts_at, CohortSession.id))
    if getattr(user, "role", None) != "admin":
        query = query.where(CohortSession.id.in_(
            sa.select(RotaAssignment.session_id).where(RotaAssignment.user_id == user.id)))
    return list(db.scalars(query).unique())


# --- marking ---------------------------------------------------------------------------------

@dataclass
class MarkResult:
    """What a tap did: the stored mark, whether it was created, and whether this tap changed it."""

    mark: AttendanceMark
    created: bool = False
    changed: bool = False
    #: "applied", "stale" (an older tap than the stored one) or "replay" (seen this client id before)
    outcome: str = "applied"
    previous_status: Optional[str] = None


def _mark_row(db: Session, session_id: int, enrolment_id: int, *, lock: bool = True) -> Optional[AttendanceMark]:
    query = sa.select(AttendanceMark).where(AttendanceMark.session_id == session_id,
                                            AttendanceMark.enrolment_id == enrolment_id)
    if lock:
        query = query.with_for_update()
    return db.scalars(query.execution_options(populate_existing=True)).first()


def _check_markable(session: CohortSession, enrolment: Optional[Enrolment], existing: Optional[AttendanceMark]) -> None:
    if session.status == "cancelled":
        raise ValidationFailed("This session was cancelled, so there is no register to mark.", "session_id")
    if enrolment is None or enrolment.cohort_id != session.cohort_id:
        raise ValidationFailed("This parent is not enrolled in this session's group.", "enrolment_id")
    if enrolment.status == "enrolled" or existing is not None:
        return
    if (enrolment.status == "withdrawn" and enrolment.withdrawn_at is not None
            and session.starts_at < enrolment.withdrawn_at):
        return  # a session from before they withdrew
    raise ValidationFailed("This parent does not have a place in this group (waiting list, withdrawn or "
                           "transferred).", "enrolment_id")


#: how early before the start a parent may be marked not here (a register opened a little early)
ABSENT_EARLIEST = timedelta(minutes=30)


def _validate_tap(session: CohortSession, status: str, client_mark_id: str, marked_at: datetime, is_late) -> None:
    errors: dict[str, list[str]] = {}
    if status not in MARK_STATUSES:
        errors["status"] = ["Choose here (attended), apologies or not here (absent)."]
    if not isinstance(client_mark_id, str) or not CLIENT_ID_RE.fullmatch(client_mark_id.strip()):
        errors["client_mark_id"] = [f"Send the tablet's id for this mark (a UUID: 1 to {CLIENT_ID_MAX} letters, "
                                    "digits, dots, colons, dashes or underscores)."]
    if not isinstance(marked_at, datetime) or marked_at.tzinfo is None:
        errors["marked_at"] = ["Send when the mark was made, as a date-time."]
    elif marked_at < session.starts_at - EARLIEST_TAP:
        errors["marked_at"] = ["This time is long before the session: check the tablet's clock."]
    elif status == "absent" and marked_at < session.starts_at - ABSENT_EARLIEST:
        # Nobody can miss a session that has not started; a parent who tells us in advance gave apologies.
        errors["status"] = ["A parent can only be marked not here once the session is about to start. "
                            "If they told you in advance they cannot come, mark apologies."]
    if not isinstance(is_late, bool):
        errors["is_late"] = ["Late is true or false."]
    if errors:
        raise ValidationFailed("Some fields are not valid: " + ", ".join(sorted(errors)), fields=errors)


#: "not looked up yet" (as opposed to None: looked up, not seen)
_UNKNOWN = object()


@cache
def _tap_context_statement() -> sa.Select:
    """The session, the enrolment, the mark (locked), a receipt already holding the client id, and the
    rota: one query.

    The mark is read in a CTE that locks it (FOR UPDATE where the database has row locks), so its
    values are those after any concurrent tap on the same parent has committed.
    """
    on_rota = sa.exists().where(RotaAssignment.session_id == CohortSession.id,
                                RotaAssignment.user_id == sa.bindparam("user_id"))
    locked = (sa.select(AttendanceMark).where(AttendanceMark.session_id == sa.bindparam("session_id"),
                                              AttendanceMark.enrolment_id == sa.bindparam("enrolment_id"))
              .with_for_update().cte("locked_mark"))
    mark = aliased(AttendanceMark, locked)
    # the cohort and the parent come along (into the session's identity map): "not here" needs both
    return (sa.select(CohortSession, Enrolment, mark, MarkReceipt.session_id, MarkReceipt.enrolment_id, on_rota,
                      Cohort, Parent)
            .select_from(CohortSession)
            .join(Cohort, Cohort.id == CohortSession.cohort_id)
            .outerjoin(Enrolment, Enrolment.id == sa.bindparam("enrolment_id"))
            .outerjoin(Parent, Parent.id == Enrolment.parent_id)
            .outerjoin(mark, sa.true())
            .outerjoin(MarkReceipt, MarkReceipt.client_mark_id == sa.bindparam("client_mark_id"))
            .where(CohortSession.id == sa.bindparam("session_id"))
            .execution_options(populate_existing=True))


def tap(db: Session, session_id: int, enrolment_id: int, *, status: str, client_mark_id: str,
        marked_at: datetime, is_late: bool = False, now: datetime, actor) -> MarkResult:
    """A tap from a tablet, by ids: what ``mark_attendance`` does, reading what it needs in one query."""
    key = client_mark_id.strip() if isinstance(client_mark_id, str) else ""
    row = db.execute(_tap_context_statement(), {"session_id": session_id, "enrolment_id": enrolment_id,
                                                 "client_mark_id": key, "user_id": _id(actor) or 0}).first()
    if row is None:
        raise NotFound("There is no such session.")
    session, enrolment, existing, seen_session_id, seen_enrolment_id, on_rota = row[:6]
    seen = (seen_session_id, seen_enrolment_id) if seen_session_id is not None else None
    return mark_attendance(db, session, enrolment, status=status, client_mark_id=client_mark_id,
                           marked_at=marked_at, is_late=is_late, now=now, actor=actor, on_rota=bool(on_rota),
                           seen=seen, existing=existing)


def mark_attendance(db: Session, session: CohortSession, enrolment: Optional[Enrolment], *, status: str,
                    client_mark_id: str, marked_at: datetime, is_late: bool = False, now: datetime,
                    actor, on_rota: Optional[bool] = None, seen=_UNKNOWN, existing=_UNKNOWN) -> MarkResult:
    """Record one tap on the register; exactly one mark per parent and session.

    Replaying a client_mark_id changes nothing. A tap older (by the tablet's clock) than the
    stored mark is kept as a stale receipt and in the audit trail, and does not overwrite it;
    a real tap always beats the automatic "not here" written when the register was closed.
    "Not here" opens a follow-up for the parent's worker (escalated on the second miss in a row).
    ``on_rota``, ``seen`` (the (session id, enrolment id) of a receipt already holding this
    client id, or None) and ``existing`` (the mark, read with a row lock, or None) may be passed
    by a caller that has read them already.
    """
    check_register_access(db, actor, session, on_rota=on_rota)
    _validate_tap(session, status, client_mark_id, marked_at, is_late)
    client_mark_id = client_mark_id.strip()
    is_late = is_late and status == "attended"  # late only means something for someone who came
    # A tablet with its clock ahead must not make its taps unbeatable.
    marked_at = min(marked_at, now)

    if seen is _UNKNOWN:
        replay = _replay(db, session, enrolment, client_mark_id)
    else:
        replay = _replay_of(db, session, enrolment, seen) if seen is not None else None
    if replay is not None:
        return replay
    if existing is _UNKNOWN:
        existing = _mark_row(db, session.id, enrolment.id) if enrolment is not None else None
    _check_markable(session, enrolment, existing)

    created = False
    values = {"status": status, "is_late": is_late, "client_mark_id": client_mark_id, "marked_at": marked_at,
              "marked_by_id": _id(actor), "is_auto": False, "updated_at": now}
    if existing is None:
        # another tablet may create it at the same moment: ON CONFLICT DO NOTHING, then read theirs locked
        row = db.connection().execute(_mark_insert_statement(), {
            **values, "session_id": session.id, "enrolment_id": enrolment.id, "created_at": now}).first()
        if row is not None:
            mark = AttendanceMark(id=row[0], session_id=session.id, enrolment_id=enrolment.id, created_at=now,
                                  **values)
            make_transient_to_detached(mark)  # the row is written: the object is as if loaded
            db.add(mark)
            created = True
        else:
            existing = _mark_row(db, session.id, enrolment.id)
            if existing is None:
                raise ValidationFailed("This mark could not be saved: try again.", "enrolment_id")
    if not created:
        # The lock is held now: a concurrent replay of this id has committed its receipt, if any, and
        # storing ours below then finds it (and changes nothing).
        mark = existing

    receipt = MarkReceipt(client_mark_id=client_mark_id, session_id=session.id, enrolment_id=enrolment.id,
                          status=status, is_late=is_late, marked_at=marked_at, received_at=now,
                          received_by_id=_id(actor), outcome="applied")
    if not created and not mark.is_auto and marked_at < mark.marked_at:
        receipt.outcome = "stale"
        if not _add_receipt(db, receipt):
            return _replay(db, session, enrolment, client_mark_id)
        record(db, "mark_stale", mark, actor=actor, parent_id=enrolment.parent_id, at=now,
               changes={"client_mark_id": client_mark_id, "status": status, "is_late": is_late,
                        "marked_at": marked_at, "stored_marked_at": mark.marked_at})
        return MarkResult(mark, outcome="stale", previous_status=mark.status)
    if not _add_receipt(db, receipt):
        return _replay(db, session, enrolment, client_mark_id)

    previous_status = None if created else mark.status
    previous_late = None if created else mark.is_late
    # Written with prebuilt statements rather than through a flush: this runs on every tap.
    if created:
        record_now(db, "mark", mark, actor=actor, parent_id=enrolment.parent_id, at=now,
                   changes={"status": [None, status], "is_late": [None, is_late], "marked_at": marked_at,
                            "client_mark_id": client_mark_id, "session_id": session.id})
    else:
        changes = changes_between(mark, values)
        db.connection().execute(_mark_update_statement(), {**values, "mark_id": mark.id})
        for key, value in values.items():
            set_committed_value(mark, key, value)  # the object says what the row now says
        if changes:
            record_now(db, "mark", mark, actor=actor, parent_id=enrolment.parent_id, at=now, changes=changes)
    changed = created or previous_status != status or previous_late != is_late
    if changed:
        events.attendance_marked.send(mark, now=now, actor=actor, previous_status=previous_status)
    if status == "absent" and previous_status != "absent":
        raise_missed_session(db, session, enrolment, now=now, actor=actor)
    return MarkResult(mark, created=created, changed=changed, previous_status=previous_status)


def _id(value) -> Optional[int]:
    return getattr(value, "id", value)


def _replay(db: Session, session: CohortSession, enrolment: Optional[Enrolment],
            client_mark_id: str) -> Optional[MarkResult]:
    """The result of a tap already received (same client id), or None if it is new."""
    seen = db.execute(sa.select(MarkReceipt.session_id, MarkReceipt.enrolment_id)
                      .where(MarkReceipt.client_mark_id == client_mark_id)).first()
    return _replay_of(db, session, enrolment, tuple(seen)) if seen is not None else None


def _replay_of(db: Session, session: CohortSession, enrolment: Optional[Enrolment],
               seen: tuple[int, int]) -> MarkResult:
    """The result of replaying a tap whose receipt is for (session id, enrolment id)."""
    if enrolment is None or seen != (session.id, enrolment.id):
        raise ValidationFailed("This client_mark_id was already used for another mark.", "client_mark_id")
    mark = _mark_row(db, session.id, enrolment.id, lock=False)
    return MarkResult(mark, outcome="replay")


def _add_receipt(db: Session, receipt: MarkReceipt) -> bool:
    """Store a receipt; False when a concurrent request stored the same client id first.

    One INSERT ... ON CONFLICT DO NOTHING where the database has it (no savepoint round trips).
    """
    if db.get_bind().dialect.name in ("postgresql", "sqlite"):
        values = {c.key: getattr(receipt, c.key) for c in MarkReceipt.__table__.c if c.key != "id"}
        # RETURNING says whether a row went in (rowcount is -1 with psycopg when nothing was returned)
        return db.connection().execute(_receipt_insert_statement(), values).first() is not None
    try:
        with db.begin_nested():
            db.add(receipt)
            db.flush()
    except IntegrityError:
        return False
    return True


@cache
def _mark_insert_statement() -> sa.TextClause:
    """INSERT ... ON CONFLICT (session, enrolment) DO NOTHING RETURNING id for a mark."""
    return _insert_unless_there(AttendanceMark.__table__, "(session_id, enrolment_id)")


@cache
def _mark_update_statement() -> sa.Update:
    table = AttendanceMark.__table__
    return (table.update().where(table.c.id == sa.bindparam("mark_id"))
            .values({c: sa.bindparam(c.key, type_=c.type) for c in table.c
                     if c.key in ("status", "is_late", "client_mark_id", "marked_at", "marked_by_id", "is_auto",
                                  "updated_at")}))


@cache
def _receipt_insert_statement() -> sa.TextClause:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id for a receipt (its client id is unique)."""
    return _insert_unless_there(MarkReceipt.__table__, "")


def _insert_unless_there(table: sa.Table, conflict: str) -> sa.TextClause:
    """INSERT of every column but the id, ON CONFLICT <conflict> DO NOTHING RETURNING id: the same SQL on
    PostgreSQL and SQLite. Written as text because SQLAlchemy does not cache the compiled form of its
    ON CONFLICT construct, and these run on every tap.
    """
    columns = [c for c in table.c if c.key != "id"]
    sql = (f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) "
           f"VALUES ({', '.join(':' + c.key for c in columns)}) ON CONFLICT {conflict} DO NOTHING RETURNING id")
    return sa.text(sql).bindparams(*(sa.bindparam(c.key, type_=c.type) for c in columns)) \
        .columns(id=sa.Integer)


def held_sessions(db: Session, cohort_id: int) -> list[CohortSession]:
    """A cohort's sessions that were not cancelled, in time order."""
    return list(db.scalars(sa.select(CohortSession).where(CohortSession.cohort_id == cohort_id,
                                                          CohortSession.status == "scheduled")
                           .order_by(CohortSession.starts_at)))


def raise_missed_session(db: Session, session: CohortSession, enrolment: Enrolment, *, now: datetime, actor):
    """Open the missed-session follow-up; a second miss in a row goes to the coordinators' list too."""
    from app.followups.models import FollowUp

    held = held_sessions(db, session.cohort_id)
    ids = [s.id for s in held]
    position = ids.index(session.id) if session.id in ids else None
    previous = held[position - 1] if position else None
    following = held[position + 1] if position is not None and position + 1 < len(held) else None
    neighbour_ids = [s.id for s in (previous, following) if s is not None]
    statuses = dict(db.execute(sa.select(AttendanceMark.session_id, AttendanceMark.status).where(
        AttendanceMark.enrolment_id == enrolment.id, AttendanceMark.session_id.in_(neighbour_ids))).all())
    escalated = previous is not None and statuses.get(previous.id) == "absent"
    parent = db.get(Parent, enrolment.parent_id)
    programme = session.cohort.programme_name
    summary = f"Not at session {session.number} of {programme}. {MISSED_SUMMARY}"
    if escalated:
        summary = f"Second session missed in a row (sessions {previous.number} and {session.number}). " + MISSED_SUMMARY
    followup = followups.open_followup(db, kind="missed_session", parent=parent, enrolment=enrolment,
                                       session=session, now=now, summary=summary, is_escalated=escalated,
                                       actor=actor)
    if following is not None and statuses.get(following.id) == "absent":
        # Marks can arrive out of order (an offline tablet): the later miss is the second in a row.
        later = db.scalars(sa.select(FollowUp).where(FollowUp.enrolment_id == enrolment.id,
                                                     FollowUp.session_id == following.id,
                                                     FollowUp.kind == "missed_session",
                                                     FollowUp.status == "open")).first()
        if later is not None:
            followups.escalate(db, later, now=now, actor=actor)
    return followup


# --- closing the register --------------------------------------------------------------------

def close_register(db: Session, session: CohortSession, *, now: datetime, actor) -> int:
    """Confirm the register: parents with no mark are recorded as not here (with follow-ups).

    Returns how many parents were marked not here automatically. Closing twice changes nothing.
    Marks can still be corrected afterwards.
    """
    check_register_access(db, actor, session)
    if session.status == "cancelled":
        raise ValidationFailed("This session was cancelled, so there is no register to close.", "session_id")
    if now < session.starts_at:
        raise ValidationFailed("The register can be closed once the session has started.", "session_id")
    # Lock the session row so two tablets closing at once do not both fill in the gaps.
    db.execute(sa.select(CohortSession.id).where(CohortSession.id == session.id).with_for_update())
    db.refresh(session)
    if session.register_closed_at is not None:
        return 0
    marked = sa.select(AttendanceMark.enrolment_id).where(AttendanceMark.session_id == session.id)
    unmarked = list(db.scalars(sa.select(Enrolment).where(Enrolment.cohort_id == session.cohort_id,
                                                          Enrolment.status == "enrolled",
                                                          Enrolment.id.not_in(marked))
                               .order_by(Enrolment.id)))
    for enrolment in unmarked:
        mark = AttendanceMark(session_id=session.id, enrolment_id=enrolment.id, status="absent", is_late=False,
                              client_mark_id=None, marked_at=now, marked_by_id=_id(actor), is_auto=True,
                              created_at=now, updated_at=now)
        db.add(mark)
        db.flush()
        record(db, "mark", mark, actor=actor, parent_id=enrolment.parent_id, at=now,
               changes={"status": [None, "absent"], "is_auto": True, "session_id": session.id})
        events.attendance_marked.send(mark, now=now, actor=actor, previous_status=None)
        raise_missed_session(db, session, enrolment, now=now, actor=actor)
    session.register_closed_at = now
    session.register_closed_by_id = _id(actor)
    record(db, "close_register", session, actor=actor, at=now,
           changes={"register_closed_at": now, "auto_absent": len(unmarked)})
    followups.close_followups_for_session(db, session.id, "register_overdue", now=now, actor=actor)
    db.flush()
    return len(unmarked)


def overdue_sessions(db: Session, now: datetime, *, limit: int = 200) -> list[CohortSession]:
    """Held sessions whose register is still open two hours after they ended, not yet flagged."""
    return list(db.scalars(sa.select(CohortSession).where(
        CohortSession.status == "scheduled",
        CohortSession.register_closed_at.is_(None),
        CohortSession.register_overdue_flagged_at.is_(None),
        CohortSession.ends_at <= now - OVERDUE_AFTER,
    ).order_by(CohortSession.ends_at).limit(limit)))


def flag_overdue(db: Session, session: CohortSession, *, now: datetime) -> bool:
    """Flag one open register, once: the facilitators see it on their list, the coordinator gets a follow-up."""
    claimed = db.execute(sa.update(CohortSession).where(CohortSession.id == session.id,
                                                        CohortSession.register_overdue_flagged_at.is_(None),
                                                        CohortSession.register_closed_at.is_(None))
                         .values(register_overdue_flagged_at=now)).rowcount
    if claimed != 1:
        return False  # another scheduler process got there first, or it was just closed
    facilitators = list(db.scalars(sa.select(RotaAssignment.user_id).where(
        RotaAssignment.session_id == session.id, RotaAssignment.role == "facilitator").order_by(RotaAssignment.id)))
    programme = session.cohort.programme_name
    followups.open_followup(
        db, kind="register_overdue", parent=None, session=session, now=now, is_escalated=True,
        summary=(f"The register for session {session.number} of {programme} is still open two hours after it "
                 f"ended. {len(facilitators)} facilitator(s) on the rota have been shown it."),
    )
    return True


# --- the register as data (one page or API call: a handful of lean queries) ----------------------
#
# A register is read on every refresh of every tablet, so its queries are built once, here, and
# read plain columns straight from the connection (no ORM objects, no per-request SQL building).
# Each statement is built on first use (every model is mapped by then) and kept (functools.cache).

@dataclass(frozen=True)
class RegisterSession:
    """The session a register is about, with what the page needs beside it (plain values)."""

    id: int
    cohort_id: int
    number: int
    programme_key: str
    centre_name: str
    room_name: str
    starts_at: datetime
    ends_at: datetime
    status: str
    cancel_reason: Optional[str]
    register_closed_at: Optional[datetime]
    register_overdue_flagged_at: Optional[datetime]
    #: whether the reading user is on this session's rota
    on_rota: bool
    #: "first" or "last" for the cohort's first or last held session (outcome scores are due)
    timepoint: Optional[str]
    note_body: Optional[str]

    @property
    def programme_name(self) -> str:
        return programme_name(self.programme_key)


@cache
def _register_session_statement() -> sa.Select:
    from app.centres.models import Centre, Room
    from app.outcomes.services import timepoint_bounds

    s = CohortSession.__table__
    first, last = timepoint_bounds(s.c.cohort_id)
    on_rota = sa.exists().where(RotaAssignment.session_id == s.c.id,
                                RotaAssignment.user_id == sa.bindparam("user_id"))
    note = (sa.select(SessionNote.body).where(SessionNote.session_id == s.c.id)
            .order_by(SessionNote.id).limit(1).scalar_subquery())
    return (sa.select(s.c.id, s.c.cohort_id, s.c.number, Cohort.programme_key, Centre.name, Room.name,
                      s.c.starts_at, s.c.ends_at, s.c.status, s.c.cancel_reason, s.c.register_closed_at,
                      s.c.register_overdue_flagged_at, on_rota, first, last, note)
            .select_from(s).join(Cohort, Cohort.id == s.c.cohort_id).join(Centre, Centre.id == Cohort.centre_id)
            .join(Room, Room.id == s.c.room_id)
            .where(s.c.id == sa.bindparam("session_id")))


@cache
def _register_rows_statement() -> sa.Select:
    """Everyone on the register with their mark, a row per child and per crèche booking at the session.

    Children and bookings are few per parent (one or two), so joining both costs a handful of
    repeated rows and saves a round trip to the database on every refresh of every tablet.
    """
    from app.parents.models import Child, parent_children

    booked_child = aliased(Child, name="booked_child")
    return (sa.select(Enrolment.id, Enrolment.parent_id, Enrolment.status, Parent.first_name, Parent.last_name,
                      AttendanceMark.status, AttendanceMark.is_late, AttendanceMark.marked_at,
                      AttendanceMark.is_auto, AttendanceMark.id, Child.id, Child.first_name,
                      CrecheBooking.id, booked_child.first_name, CrecheBooking.signed_in_at,
                      CrecheBooking.signed_out_at, CrecheBooking.collected_by)
            .join(Parent, Parent.id == Enrolment.parent_id)
            .outerjoin(AttendanceMark, sa.and_(AttendanceMark.enrolment_id == Enrolment.id,
                                               AttendanceMark.session_id == sa.bindparam("session_id")))
            .outerjoin(parent_children, parent_children.c.parent_id == Enrolment.parent_id)
            .outerjoin(Child, Child.id == parent_children.c.child_id)
            .outerjoin(CrecheBooking, sa.and_(CrecheBooking.enrolment_id == Enrolment.id,
                                              CrecheBooking.session_id == sa.bindparam("session_id"),
                                              CrecheBooking.status == "booked"))
            .outerjoin(booked_child, booked_child.id == CrecheBooking.child_id)
            .where(Enrolment.cohort_id == sa.bindparam("cohort_id"),
                   sa.or_(Enrolment.status == "enrolled", AttendanceMark.id.is_not(None)))
            .order_by(Enrolment.id, Child.id, CrecheBooking.id))


def register_session(db: Session, session_id: int, user) -> RegisterSession:
    """The session of a register, for a user allowed to use it: NotFound, or PermissionDenied if not."""
    row = db.connection().execute(_register_session_statement(),
                                  {"session_id": session_id, "user_id": _id(user) or 0}).first()
    if row is None:
        raise NotFound("There is no such session.")
    from app.outcomes.services import timepoint_from

    (sid, cohort_id, number, programme_key, centre_name, room_name, starts_at, ends_at, status, cancel_reason,
     closed_at, flagged_at, on_rota, first_id, last_id, note_body) = row
    session = RegisterSession(sid, cohort_id, number, programme_key, centre_name, room_name, starts_at, ends_at,
                              status, cancel_reason, closed_at, flagged_at, bool(on_rota),
                              timepoint_from(sid, status, first_id, last_id), note_body)
    check_register_access(db, user, session, on_rota=session.on_rota)
    return session


@dataclass(frozen=True)
class RegisterEnrolment:
    """The enrolment behind a register row (plain values, not a database object)."""

    id: int
    parent_id: int
    status: str


@dataclass(frozen=True)
class RegisterParent:
    id: int
    first_name: str
    last_name: Optional[str]


@dataclass(frozen=True)
class RegisterMark:
    """A parent's mark as the register shows it."""

    status: str
    is_late: bool
    marked_at: datetime
    is_auto: bool


@dataclass(frozen=True)
class RegisterChild:
    first_name: str


@dataclass(frozen=True)
class RegisterBooking:
    """A crèche booking as the register shows it."""

    id: int
    enrolment_id: int
    child: RegisterChild
    signed_in_at: Optional[datetime]
    signed_out_at: Optional[datetime]
    collected_by: Optional[str]


@dataclass
class RegisterRow:
    """One parent on a register."""

    enrolment: RegisterEnrolment
    parent: RegisterParent
    display_name: str
    children: list[str]
    mark: Optional[RegisterMark]
    creche: list[RegisterBooking] = field(default_factory=list)


def register_rows(db: Session, session) -> list[RegisterRow]:
    """Everyone on a session's register: enrolled parents, and anyone already marked (e.g. withdrawn since).

    One query of plain columns (with children and crèche bookings), whatever the size of the
    group. ``session`` is a CohortSession or a RegisterSession.
    """
    params = {"session_id": session.id, "cohort_id": session.cohort_id}
    rows: dict[int, tuple] = {}
    children: dict[int, dict[int, str]] = {}  # enrolment -> child id -> first name, in order
    bookings: dict[int, dict[int, RegisterBooking]] = {}
    for r in db.connection().execute(_register_rows_statement(), params):
        enrolment_id = r[0]
        if enrolment_id not in rows:
            rows[enrolment_id] = tuple(r[:10])
            children[enrolment_id] = {}
            bookings[enrolment_id] = {}
        if r[10] is not None:
            children[enrolment_id][r[10]] = r[11]
        if r[12] is not None and r[12] not in bookings[enrolment_id]:
            bookings[enrolment_id][r[12]] = RegisterBooking(r[12], enrolment_id, RegisterChild(r[13]), r[14], r[15],
                                                            r[16])
    out = []
    first_names: dict[str, int] = {}
    for r in rows.values():
        key = r[3].strip().lower()
        first_names[key] = first_names.get(key, 0) + 1
    for (enrolment_id, parent_id, enrolment_status, first_name, last_name, status, is_late, marked_at, is_auto,
         mark_id) in rows.values():
        name = first_name
        if first_names[first_name.strip().lower()] > 1 and last_name:
            name = f"{first_name} {last_name[:1]}."  # two Amas: Ama M. and Ama K.
        mark = RegisterMark(status, is_late, marked_at, is_auto) if mark_id is not None else None
        out.append(RegisterRow(enrolment=RegisterEnrolment(enrolment_id, parent_id, enrolment_status),
                               parent=RegisterParent(parent_id, first_name, last_name), display_name=name,
                               children=list(children[enrolment_id].values()), mark=mark,
                               creche=sorted(bookings[enrolment_id].values(), key=lambda b: b.id)))
    out.sort(key=lambda r: (r.display_name.lower(), r.enrolment.id))
    return out


def register_counts(rows: list[RegisterRow]) -> dict[str, int]:
    """How many parents are here, sent apologies, not here, and not yet marked."""
    counts = {s: 0 for s in MARK_STATUSES}
    counts["unmarked"] = 0
    for row in rows:
        counts[row.mark.status if row.mark else "unmarked"] += 1
    return counts


# --- crèche ----------------------------------------------------------------------------------

def get_booking(db: Session, session: CohortSession, booking_id: int) -> CrecheBooking:
    """A crèche booking of this session, or NotFound."""
    booking = db.get(CrecheBooking, booking_id)
    if booking is None or booking.session_id != session.id:
        raise NotFound("There is no such crèche booking for this session.")
    return booking


def sign_in_child(db: Session, session: CohortSession, booking: CrecheBooking, *, now: datetime,
                  actor) -> CrecheBooking:
    """Sign a booked child into the crèche (again: no change)."""
    check_register_access(db, actor, session)
    if session.status == "cancelled":
        raise ValidationFailed("This session was cancelled.", "session_id")
    if booking.status != "booked":
        raise ValidationFailed("This child does not have a crèche place at this session.", "booking_id")
    if booking.signed_in_at is not None:
        return booking
    booking.signed_in_at = now
    booking.updated_at = now
    record_changes(db, booking, actor=actor, parent_id=booking.enrolment.parent_id, at=now, action="creche_in")
    db.flush()
    return booking


def sign_out_child(db: Session, session: CohortSession, booking: CrecheBooking, *, collected_by: str,
                   now: datetime, actor) -> CrecheBooking:
    """Sign a child out of the crèche, recording who collected them."""
    check_register_access(db, actor, session)
    collected_by = followups.clean_text(collected_by, "collected_by", COLLECTED_BY_MAX, "Who collected the child")
    if booking.status != "booked":
        raise ValidationFailed("This child does not have a crèche place at this session.", "booking_id")
    if booking.signed_in_at is None:
        raise ValidationFailed("Sign the child in before signing them out.", "collected_by")
    if booking.signed_out_at is not None:
        return booking
    if not collected_by:
        raise ValidationFailed("Enter who collected the child.", "collected_by")
    booking.signed_out_at = now
    booking.collected_by = collected_by
    booking.updated_at = now
    record_changes(db, booking, actor=actor, parent_id=booking.enrolment.parent_id, at=now, action="creche_out")
    db.flush()
    return booking


# --- session notes ---------------------------------------------------------------------------

def session_note(db: Session, session_id: int) -> Optional[SessionNote]:
    """The session's note, if any (one per session, edited in place)."""
    return db.scalars(sa.select(SessionNote).where(SessionNote.session_id == session_id)
                      .order_by(SessionNote.id).limit(1)).first()


def save_note(db: Session, session: CohortSession, *, body: str, now: datetime, actor) -> Optional[SessionNote]:
    """Write or change the facilitators' note about a session; the audit keeps only that it changed."""
    check_register_access(db, actor, session)
    body = followups.clean_text(body, "body", NOTE_MAX, "The note")
    note = session_note(db, session.id)
    if note is None:
        if not body:
            return None
        note = SessionNote(session_id=session.id, author_id=_id(actor), body=body, created_at=now, updated_at=now)
        db.add(note)
        db.flush()
        record(db, "create", note, actor=actor, at=now, changes={"body": "(written)", "session_id": session.id})
        return note
    if note.body == body:
        return note
    note.body = body
    note.author_id = _id(actor)
    note.updated_at = now
    record_changes(db, note, actor=actor, at=now)
    db.flush()
    return note
