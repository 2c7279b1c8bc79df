"""Cohorts and their sessions: creating the series and every later change to the plan.

Every change writes a ScheduleChange row and sends ``events.schedule_changed`` with it; the
messaging and calendar features act on those (queue notices, bump feeds). Nothing here
sends an SMS. Two sessions never hold a room at once: each check takes the room's row lock
first, so two coordinators booking the same room at the same moment are served in turn.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import events
from app.audit.services import record
from app.centres.models import Centre, Room
from app.centres.services import closure_map
from app.cohorts.models import Cohort, CohortSession, ScheduleChange
from app.cohorts.scheduling import (
    closed_checker, next_open_same_weekday, session_times, term_bounds, weekly_dates,
)
from app.errors import Conflict, NotFound, ValidationFailed
from app.timeutil import LocalTimeError, format_local, london, to_london
from programmes import get_programme, registry

MIN_MINUTES, MAX_MINUTES = 15, 8 * 60
MAX_CAPACITY = 100


# ---------------------------------------------------------------- lookups and labels

def programme_or_fail(key: str | None, field: str = "programme"):
    """The programme with this key, or a ValidationFailed listing the valid keys."""
    programmes = registry()
    if key in programmes:
        return programmes[key]
    valid = ", ".join(sorted(programmes))
    raise ValidationFailed(f"Unknown programme '{key}'. Choose one of: {valid}.", field)


def get_cohort(db: Session, cohort_id: int) -> Cohort:
    """A cohort by id, or NotFound."""
    cohort = db.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("There is no such cohort.", "cohort_id")
    return cohort


def get_session(db: Session, session_id: int) -> CohortSession:
    """A session by id, or NotFound."""
    session = db.get(CohortSession, session_id)
    if session is None:
        raise NotFound("There is no such session.", "session_id")
    return session


def cohort_label(cohort: Cohort) -> str:
    """A name people recognise: 'Circle of Security Parenting, Oak Centre, Tuesdays 10:00 from 8 Sep 2026'."""
    programme = get_programme(cohort.programme_key)
    return (f"{programme.name}, {cohort.centre.name}, {cohort.start_date:%A}s {cohort.start_time:%H:%M} "
            f"from {cohort.start_date:%-d %b %Y}")


def list_cohorts(db: Session, *, programme: str | None = None, centre_id: int | None = None,
                 term: str | None = None, include_cancelled: bool = True) -> list[Cohort]:
    """Cohorts filtered by programme key, centre and term ('2026-autumn'), soonest first."""
    query = sa.select(Cohort)
    if programme:
        query = query.where(Cohort.programme_key == programme)
    if centre_id:
        query = query.where(Cohort.centre_id == centre_id)
    if term:
        bounds = term_bounds(term)
        if bounds is None:
            raise ValidationFailed("Choose a term such as 2026-autumn.", "term")
        query = query.where(Cohort.start_date.between(*bounds))
    if not include_cancelled:
        query = query.where(Cohort.status == "active")
    return list(db.scalars(query.order_by(Cohort.start_date.desc(), Cohort.start_time, Cohort.id)))


def cohort_terms(db: Session) -> list[str]:
    """Term keys that have cohorts, latest first."""
    from app.cohorts.scheduling import term_of

    dates = db.scalars(sa.select(Cohort.start_date).distinct())
    return sorted({term_of(d) for d in dates}, key=lambda k: (k[:4], {"spring": 0, "summer": 1, "autumn": 2}
                                                               .get(k[5:], 0)), reverse=True)


# ---------------------------------------------------------------- rules shared by every change

def _lock_room(db: Session, room_id: int) -> Room:
    room = db.execute(sa.select(Room).where(Room.id == room_id).with_for_update()).scalar_one()
    return room


def find_clash(db: Session, room_id: int, starts_at: datetime, ends_at: datetime,
               exclude_session_ids: tuple[int, ...] = ()) -> CohortSession | None:
    """A scheduled session in the room that overlaps [starts_at, ends_at), if any."""
    query = sa.select(CohortSession).where(
        CohortSession.room_id == room_id, CohortSession.status == "scheduled",
        CohortSession.starts_at < ends_at, CohortSession.ends_at > starts_at)
    if exclude_session_ids:
        query = query.where(CohortSession.id.not_in(exclude_session_ids))
    return db.scalars(query.order_by(CohortSession.starts_at).limit(1)).first()


def clash_message(room: Room, other: CohortSession) -> str:
    """Why a time in a room is refused, naming the cohort already there."""
    end = to_london(other.ends_at)
    return (f"{room.name} is already booked then by {cohort_label(other.cohort)} (cohort {other.cohort_id}), "
            f"session {other.number} on {format_local(other.starts_at)}–{end:%H:%M}. "
            "Choose another time or another room.")


def _check_room_free(db: Session, room: Room, planned, field: str, exclude: tuple[int, ...] = ()) -> None:
    for item in planned:
        other = find_clash(db, room.id, item.starts_at, item.ends_at, exclude)
        if other is not None:
            raise Conflict(clash_message(room, other), field)


def _record_change(db: Session, cohort: Cohort, kind: str, *, now: datetime, actor, session: CohortSession | None = None,
                   old_starts_at: datetime | None = None, new_starts_at: datetime | None = None,
                   reason: str = "") -> ScheduleChange:
    change = ScheduleChange(cohort_id=cohort.id, session_id=session.id if session is not None else None, kind=kind,
                            old_starts_at=old_starts_at, new_starts_at=new_starts_at, reason=reason,
                            by_user_id=getattr(actor, "id", None), created_at=now)
    db.add(change)
    db.flush()
    events.schedule_changed.send(change, now=now, actor=actor)
    return change


def _clean_reason(reason: str | None, field: str = "reason", required: bool = True) -> str:
    text = " ".join((reason or "").split())
    if required and not text:
        raise ValidationFailed("Enter a reason: parents and staff will be told the session is cancelled.", field)
    if len(text) > 300:
        raise ValidationFailed("The reason is too long: 300 characters at most.", field)
    return text


def _check_number(value, field: str, low: int, high: int, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValidationFailed(f"Enter {what} from {low} to {high}.", field)
    return value


def _closure_check(db: Session, centre_id: int):
    return closed_checker(closure_map(db, centre_id))


# ---------------------------------------------------------------- creating a cohort

def create_cohort(db: Session, *, programme_key: str, centre: Centre | None, room: Room | None,
                  first_session: datetime, duration_minutes: int | None = None, capacity: int | None = None,
                  now: datetime, actor=None) -> Cohort:
    """Create a cohort and its weekly sessions.

    ``first_session`` is the first session's London wall-clock date and time (naive, or aware
    and then converted to London). Later weeks keep the same wall-clock time across clock
    changes. Bank holidays and the centre's closure days are skipped: the series moves on a
    week. Refused: an unknown programme (programme), a room not in the centre (room), a
    first date that is closed (first_session, offering the next free date), a wall-clock time
    the clocks skip or repeat (first_session), a time in the past, and (409, room) a room
    already held by another cohort at any of the session times.
    """
    programme = programme_or_fail(programme_key)
    if centre is None:
        raise ValidationFailed("Choose a centre.", "centre_id")
    if room is None:
        raise ValidationFailed("Choose a room.", "room")
    if room.centre_id != centre.id:
        raise ValidationFailed(f"That room is not at {centre.name}.", "room")
    duration = programme.session_minutes if duration_minutes is None else duration_minutes
    _check_number(duration, "duration_minutes", MIN_MINUTES, MAX_MINUTES, "a length in minutes")
    places = programme.group_size if capacity is None else capacity
    _check_number(places, "capacity", 1, MAX_CAPACITY, "a number of family places")
    if first_session is None:
        raise ValidationFailed("Enter the date and time of the first session.", "first_session")
    local = to_london(first_session).replace(tzinfo=None) if first_session.tzinfo else first_session
    local = local.replace(second=0, microsecond=0)
    try:
        first_instant = london(local)
    except LocalTimeError as exc:
        raise ValidationFailed(str(exc), "first_session") from None
    if first_instant <= now:
        raise ValidationFailed("The first session must be in the future.", "first_session")

    closed = _closure_check(db, centre.id)
    why = closed(local.date())
    if why:
        offer = next_open_same_weekday(local.date() + timedelta(weeks=1), closed)
        raise ValidationFailed(f"The first session cannot be then: {why}. The next free {offer:%A} is "
                               f"{offer:%-d %B %Y}.", "first_session")
    dates = weekly_dates(local.date(), programme.weeks, closed)
    planned = session_times(dates, local.time(), duration)

    _lock_room(db, room.id)
    _check_room_free(db, room, planned, "room")

    cohort = Cohort(programme_key=programme.key, centre_id=centre.id, room_id=room.id, start_date=local.date(),
                    start_time=local.time(), duration_minutes=duration, capacity=places, status="active")
    db.add(cohort)
    db.flush()
    for item in planned:
        db.add(CohortSession(cohort_id=cohort.id, number=item.number, room_id=room.id,
                             starts_at=item.starts_at, ends_at=item.ends_at, status="scheduled"))
    db.flush()
    db.refresh(cohort)
    record(db, "create", cohort, actor=actor, at=now, changes={
        "programme_key": programme.key, "centre_id": centre.id, "room_id": room.id,
        "start_date": cohort.start_date, "capacity": places})
    _record_change(db, cohort, "created", now=now, actor=actor, new_starts_at=planned[0].starts_at)
    return cohort


# ---------------------------------------------------------------- changing one session

def _check_changeable(session: CohortSession, now: datetime, field: str) -> None:
    if session.cohort.status == "cancelled":
        raise ValidationFailed("The cohort has been cancelled.", field)
    if session.status == "cancelled":
        raise ValidationFailed("This session has been cancelled.", field)
    if session.starts_at <= now:
        raise ValidationFailed("This session has already started, so it cannot be changed.", field)


def _lock_session(db: Session, session: CohortSession) -> CohortSession:
    return db.execute(sa.select(CohortSession).where(CohortSession.id == session.id).with_for_update()
                      .execution_options(populate_existing=True)).scalar_one()


def move_session(db: Session, session: CohortSession, *, starts_at: datetime | None = None, room: Room | None = None,
                 now: datetime, actor=None) -> CohortSession:
    """Move one session to a new time and/or room, re-checking closures and room clashes.

    ``starts_at`` is an aware instant (a London wall-clock time already converted). The
    length stays the same. Bumps the session's iCalendar sequence.
    """
    session = _lock_session(db, session)
    _check_changeable(session, now, "starts_at")
    cohort = session.cohort
    new_start = session.starts_at if starts_at is None else starts_at
    if new_start.tzinfo is None:
        raise ValidationFailed("Give the time with its date.", "starts_at")
    new_room = room or session.room
    if new_room.centre_id != cohort.centre_id:
        raise ValidationFailed(f"That room is not at {cohort.centre.name}.", "room")
    if new_start == session.starts_at and new_room.id == session.room_id:
        raise ValidationFailed("That is the session's current time and room: choose a new one.", "starts_at")
    if new_start <= now:
        raise ValidationFailed("Choose a time in the future.", "starts_at")
    why = _closure_check(db, cohort.centre_id)(to_london(new_start).date())
    if why:
        raise ValidationFailed(f"The session cannot move then: {why}.", "starts_at")
    length = session.ends_at - session.starts_at
    new_end = new_start + length
    _lock_room(db, new_room.id)
    other = find_clash(db, new_room.id, new_start, new_end, (session.id,))
    if other is not None:
        raise Conflict(clash_message(new_room, other), "starts_at" if room is None else "room")
    old_start, old_room = session.starts_at, session.room_id
    session.starts_at, session.ends_at, session.room_id = new_start, new_end, new_room.id
    session.sequence += 1
    cohort.version += 1
    db.flush()
    record(db, "move", session, actor=actor, at=now, changes={
        "starts_at": [old_start, new_start], "room_id": [old_room, new_room.id]})
    kind = "moved" if new_start != old_start else "room_changed"
    _record_change(db, cohort, kind, now=now, actor=actor, session=session, old_starts_at=old_start,
                   new_starts_at=new_start)
    return session


def _release_creche(db: Session, session_ids: list[int]) -> int:
    """A cancelled session holds no crèche places: its bookings are cancelled (kept for the record)."""
    from app.enrolment.models import CrecheBooking

    if not session_ids:
        return 0
    result = db.execute(sa.update(CrecheBooking).where(
        CrecheBooking.session_id.in_(session_ids), CrecheBooking.status.in_(("booked", "waitlisted")),
    ).values(status="cancelled", waitlist_reason=None).execution_options(synchronize_session="fetch"))
    return result.rowcount or 0


def _book_creche_for_new_session(db: Session, cohort: Cohort, *, now: datetime, actor=None) -> None:
    """Children with crèche places in the cohort get one at a new (catch-up) session too, under the usual limits."""
    from app.enrolment import creche
    from app.enrolment.models import CrecheBooking, Enrolment
    from app.parents.models import Child

    if not cohort.programme.creche:
        return
    wanted: dict[int, set[int]] = {}
    for enrolment_id, child_id in db.execute(
            sa.select(CrecheBooking.enrolment_id, CrecheBooking.child_id).distinct()
            .join(CohortSession, CohortSession.id == CrecheBooking.session_id)
            .join(Enrolment, Enrolment.id == CrecheBooking.enrolment_id)
            .where(CohortSession.cohort_id == cohort.id, CrecheBooking.status.in_(("booked", "waitlisted")),
                   Enrolment.status.in_(("enrolled", "waitlisted")))):
        wanted.setdefault(enrolment_id, set()).add(child_id)
    for enrolment_id in sorted(wanted):
        enrolment = db.get(Enrolment, enrolment_id)
        children = list(db.scalars(sa.select(Child).where(Child.id.in_(wanted[enrolment_id])).order_by(Child.id)))
        creche.book_children(db, enrolment, children, now=now, actor=actor)


def cancel_session(db: Session, session: CohortSession, *, reason: str, add_catch_up: bool = False, now: datetime,
                   actor=None) -> tuple[CohortSession, CohortSession | None]:
    """Cancel one session with a reason; optionally add a catch-up session after the last one.

    Returns the cancelled session and the catch-up (or None). If the catch-up cannot be
    placed (a room clash), nothing is changed: the Conflict names the field add_catch_up.
    """
    session = _lock_session(db, session)
    _check_changeable(session, now, "status")
    text = _clean_reason(reason)
    cohort = session.cohort
    session.status = "cancelled"
    session.cancel_reason = text
    session.sequence += 1
    cohort.version += 1
    db.flush()
    _release_creche(db, [session.id])
    record(db, "cancel", session, actor=actor, at=now, changes={"status": ["scheduled", "cancelled"], "reason": text})
    _record_change(db, cohort, "cancelled", now=now, actor=actor, session=session,
                   old_starts_at=session.starts_at, reason=text)
    catch_up = add_catch_up_session(db, cohort, now=now, actor=actor) if add_catch_up else None
    return session, catch_up


def add_catch_up_session(db: Session, cohort: Cohort, *, now: datetime, actor=None,
                         field: str = "add_catch_up") -> CohortSession:
    """Add a session a week after the cohort's last one (closed weeks skipped), at the usual time and room."""
    if cohort.status == "cancelled":
        raise ValidationFailed("The cohort has been cancelled.", field)
    last = db.scalar(sa.select(sa.func.max(CohortSession.starts_at)).where(CohortSession.cohort_id == cohort.id))
    last_number = db.scalar(sa.select(sa.func.max(CohortSession.number)).where(
        CohortSession.cohort_id == cohort.id)) or 0
    closed = _closure_check(db, cohort.centre_id)
    base = max(to_london(last).date(), to_london(now).date()) if last else to_london(now).date()
    day = weekly_dates(base + timedelta(weeks=1), 1, closed)[0]
    planned = session_times([day], cohort.start_time, cohort.duration_minutes, field=field,
                            first_number=last_number + 1)
    room = _lock_room(db, cohort.room_id)
    _check_room_free(db, room, planned, field)
    item = planned[0]
    session = CohortSession(cohort_id=cohort.id, number=item.number, room_id=room.id, starts_at=item.starts_at,
                            ends_at=item.ends_at, status="scheduled", is_catch_up=True)
    db.add(session)
    cohort.version += 1
    db.flush()
    record(db, "create", session, actor=actor, at=now, changes={"starts_at": item.starts_at, "is_catch_up": True})
    _record_change(db, cohort, "catch_up_added", now=now, actor=actor, session=session,
                   new_starts_at=item.starts_at)
    db.expire(cohort, ["sessions"])
    _book_creche_for_new_session(db, cohort, now=now, actor=actor)
    return session


# ---------------------------------------------------------------- changing the whole cohort

def cancel_cohort(db: Session, cohort: Cohort, *, reason: str, now: datetime, actor=None) -> Cohort:
    """Cancel a cohort: every session still to come is cancelled with the same reason."""
    cohort = db.execute(sa.select(Cohort).where(Cohort.id == cohort.id).with_for_update()
                        .execution_options(populate_existing=True)).scalar_one()
    if cohort.status == "cancelled":
        raise Conflict("This cohort is already cancelled.", "status")
    text = _clean_reason(reason)
    cohort.status = "cancelled"
    cohort.cancel_reason = text
    cohort.version += 1
    future = list(db.scalars(sa.select(CohortSession).where(
        CohortSession.cohort_id == cohort.id, CohortSession.status == "scheduled",
        CohortSession.starts_at > now).with_for_update()))
    for session in future:
        session.status = "cancelled"
        session.cancel_reason = text
        session.sequence += 1
    db.flush()
    _release_creche(db, [s.id for s in future])
    record(db, "cancel", cohort, actor=actor, at=now, changes={"status": ["active", "cancelled"], "reason": text,
                                                               "sessions_cancelled": len(future)})
    _record_change(db, cohort, "cohort_cancelled", now=now, actor=actor, reason=text)
    return cohort


def change_room(db: Session, cohort: Cohort, room: Room, *, now: datetime, actor=None) -> Cohort:
    """Move the cohort, and every session still to come, to another room of its centre."""
    if room.centre_id != cohort.centre_id:
        raise ValidationFailed(f"That room is not at {cohort.centre.name}.", "room")
    if cohort.status == "cancelled":
        raise ValidationFailed("The cohort has been cancelled.", "room")
    if room.id == cohort.room_id:
        return cohort
    future = [s for s in cohort.sessions if s.status == "scheduled" and s.starts_at > now]
    _lock_room(db, room.id)
    _check_room_free(db, room, future, "room", tuple(s.id for s in future))
    old = cohort.room_id
    cohort.room_id = room.id
    cohort.version += 1
    for session in future:
        if session.room_id != room.id:
            session.room_id = room.id
            session.sequence += 1
    db.flush()
    record(db, "update", cohort, actor=actor, at=now, changes={"room_id": [old, room.id]})
    _record_change(db, cohort, "room_changed", now=now, actor=actor,
                   reason=f"Room changed to {room.name}")
    return cohort


def change_capacity(db: Session, cohort: Cohort, capacity: int, *, now: datetime, actor=None) -> list:
    """Set the number of family places; never below the families enrolled. More places promote from the waiting list.

    Returns the enrolments promoted.
    """
    from app.enrolment.places import enrolled_count, lock_cohort, promote_from_waitlist

    _check_number(capacity, "capacity", 1, MAX_CAPACITY, "a number of family places")
    locked = lock_cohort(db, cohort.id)
    enrolled = enrolled_count(db, locked.id)
    if capacity < enrolled:
        raise ValidationFailed(f"{enrolled} families already have a place: the cohort needs at least {enrolled} "
                               "places. Withdraw or transfer a family first.", "capacity")
    old = locked.capacity
    if capacity == old:
        return []
    locked.capacity = capacity
    locked.version += 1
    db.flush()
    record(db, "update", locked, actor=actor, at=now, changes={"capacity": [old, capacity]})
    if capacity > old:
        return promote_from_waitlist(db, locked, now=now, actor=actor)
    return []


def session_day(session: CohortSession) -> date:
    """The London date of a session."""
    return to_london(session.starts_at).date()


def local_start(session: CohortSession) -> tuple[date, time]:
    """A session's London date and wall-clock time (for forms)."""
    local = to_london(session.starts_at)
    return local.date(), local.time().replace(tzinfo=None)
