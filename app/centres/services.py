"""Children's centres: their details, rooms and closure days."""
from __future__ import annotations

import re
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.audit.services import record, record_changes
from app.centres.models import Centre, ClosureDay, Room
from app.cohorts.models import Cohort, CohortSession
from app.errors import Conflict, NotFound, ValidationFailed
from app.timeutil import to_london

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def normalise_postcode(text: str, field: str = "postcode") -> str:
    """A UK postcode in capitals with one space ("sw97qd" -> "SW9 7QD"); empty stays empty."""
    squashed = re.sub(r"\s+", "", text or "").upper()
    if not squashed:
        return ""
    match = _POSTCODE.match(squashed)
    if not match:
        raise ValidationFailed("Enter a real UK postcode, like SW9 7QD.", field)
    return f"{match.group(1)} {match.group(2)}"


def clean_room_names(names) -> list[str]:
    """Room names trimmed, blanks dropped, each once (case-insensitive); at least one."""
    seen: dict[str, str] = {}
    for raw in names or []:
        if not isinstance(raw, str):
            raise ValidationFailed("Each room is a name.", "rooms")
        name = " ".join(raw.split())
        if not name:
            continue
        if len(name) > 80:
            raise ValidationFailed(f"Room name '{name[:20]}...' is too long: 80 characters at most.", "rooms")
        if name.lower() in seen:
            raise ValidationFailed(f"The room '{name}' is listed twice.", "rooms")
        seen[name.lower()] = name
    if not seen:
        raise ValidationFailed("Enter at least one room where groups can meet.", "rooms")
    return list(seen.values())


def _clean(db: Session, values: dict, centre: Centre | None) -> dict:
    out = dict(values)
    name = " ".join((out.get("name") or "").split())
    if not name:
        raise ValidationFailed("Enter the centre's name.", "name")
    if len(name) > 120:
        raise ValidationFailed("The name is too long: 120 characters at most.", "name")
    clash = db.scalar(sa.select(Centre.id).where(sa.func.lower(Centre.name) == name.lower()))
    if clash is not None and (centre is None or clash != centre.id):
        raise Conflict(f"There is already a centre called {name}.", "name")
    out["name"] = name
    out["address"] = (out.get("address") or "").strip()
    if len(out["address"]) > 300:
        raise ValidationFailed("The address is too long: 300 characters at most.", "address")
    out["postcode"] = normalise_postcode(out.get("postcode") or "")
    out["ward"] = " ".join((out.get("ward") or "").split())
    if len(out["ward"]) > 80:
        raise ValidationFailed("The ward is too long: 80 characters at most.", "ward")
    capacity = out.get("creche_capacity", 0)
    if capacity is None:
        capacity = 0
    if not isinstance(capacity, int) or isinstance(capacity, bool) or not 0 <= capacity <= 100:
        raise ValidationFailed("Enter the number of crèche places, from 0 to 100.", "creche_capacity")
    out["creche_capacity"] = capacity
    out["rooms"] = clean_room_names(out.get("rooms"))
    return out


def create_centre(db: Session, *, name: str, address: str = "", postcode: str = "", ward: str = "",
                  creche_capacity: int = 0, rooms: list[str], now: datetime, actor=None) -> Centre:
    """Add a centre with its rooms."""
    values = _clean(db, {"name": name, "address": address, "postcode": postcode, "ward": ward,
                         "creche_capacity": creche_capacity, "rooms": rooms}, None)
    room_names = values.pop("rooms")
    centre = Centre(**values)
    centre.rooms = [Room(name=r) for r in room_names]
    db.add(centre)
    db.flush()
    record(db, "create", centre, actor=actor, at=now, changes={"name": centre.name, "rooms": ", ".join(room_names)})
    return centre


def rooms_in_use(db: Session, room_ids: list[int]) -> dict[int, str]:
    """Room id -> a cohort using it (cohort default or any session), for refusing a room's removal."""
    if not room_ids:
        return {}
    used = {}
    rows = db.execute(sa.select(CohortSession.room_id, Cohort).join(Cohort, Cohort.id == CohortSession.cohort_id)
                      .where(CohortSession.room_id.in_(room_ids))).all()
    rows += db.execute(sa.select(Cohort.room_id, Cohort).where(Cohort.room_id.in_(room_ids))).all()
    for room_id, cohort in rows:
        used.setdefault(room_id, cohort_short_label(cohort))
    return used


def cohort_short_label(cohort: Cohort) -> str:
    """'Circle of Security Parenting from Tue 8 Sep 2026' (avoids importing the cohort service)."""
    return f"{cohort.programme_name} from {cohort.start_date:%a %-d %b %Y} (cohort {cohort.id})"


def update_centre(db: Session, centre: Centre, *, name: str, address: str = "", postcode: str = "", ward: str = "",
                  creche_capacity: int = 0, rooms: list[str], now: datetime, actor=None) -> Centre:
    """Change a centre's details and rooms; a room a cohort uses cannot be removed."""
    values = _clean(db, {"name": name, "address": address, "postcode": postcode, "ward": ward,
                         "creche_capacity": creche_capacity, "rooms": rooms}, centre)
    room_names = values.pop("rooms")
    wanted = {n.lower(): n for n in room_names}
    removed = [r for r in centre.rooms if r.name.lower() not in wanted]
    used = rooms_in_use(db, [r.id for r in removed])
    for room in removed:
        if room.id in used:
            raise ValidationFailed(f"The room '{room.name}' is used by {used[room.id]}: keep it, or move that "
                                   "cohort to another room first.", "rooms")
    for key, value in values.items():
        setattr(centre, key, value)
    audit = record_changes(db, centre, actor=actor, at=now)
    existing = {r.name.lower(): r for r in centre.rooms}
    for room in removed:
        centre.rooms.remove(room)
    for key, display in wanted.items():
        if key in existing:
            existing[key].name = display  # a change of capitals only
        else:
            centre.rooms.append(Room(name=display))
    if removed or len(wanted) != len(existing):
        changes = {"rooms": ", ".join(room_names)}
        if audit is not None:
            audit.changes = {**audit.changes, **changes}
        else:
            record(db, "update", centre, actor=actor, at=now, changes=changes)
    db.flush()
    return centre


def get_centre(db: Session, centre_id: int) -> Centre:
    """A centre by id, or NotFound."""
    centre = db.get(Centre, centre_id)
    if centre is None:
        raise NotFound("There is no such centre.", "centre_id")
    return centre


def list_centres(db: Session) -> list[Centre]:
    """All centres by name."""
    return list(db.scalars(sa.select(Centre).order_by(Centre.name)))


def room_by_name(centre: Centre, name: str, field: str = "room") -> Room:
    """The centre's room with this name (any capitals), or a ValidationFailed listing the rooms."""
    wanted = " ".join((name or "").split()).lower()
    for room in centre.rooms:
        if room.name.lower() == wanted:
            return room
    names = ", ".join(r.name for r in centre.rooms) or "none yet"
    raise ValidationFailed(f"{centre.name} has no room called '{name}'. Its rooms: {names}.", field)


def closure_map(db: Session, centre_id: int) -> dict[date, str]:
    """The centre's closure days and their reasons."""
    return dict(db.execute(sa.select(ClosureDay.closure_date, ClosureDay.reason)
                           .where(ClosureDay.centre_id == centre_id)).all())


def add_closure(db: Session, centre: Centre, closure_date: date, reason: str = "", *, now: datetime,
                actor=None) -> tuple[ClosureDay, list[CohortSession]]:
    """Close a centre on a day; returns the closure and the scheduled sessions that fall on it.

    Existing sessions are not moved automatically: the coordinator decides whether to move or
    cancel each one (the cohort page lists them).
    """
    if closure_date is None:
        raise ValidationFailed("Enter the date the centre is closed.", "closure_date")
    reason = (reason or "").strip()
    if len(reason) > 200:
        raise ValidationFailed("The reason is too long: 200 characters at most.", "reason")
    if db.scalar(sa.select(ClosureDay.id).where(ClosureDay.centre_id == centre.id,
                                                ClosureDay.closure_date == closure_date)):
        raise Conflict(f"{centre.name} is already closed on {closure_date:%-d %B %Y}.", "closure_date")
    closure = ClosureDay(centre_id=centre.id, closure_date=closure_date, reason=reason)
    db.add(closure)
    db.flush()
    record(db, "create", closure, actor=actor, at=now, changes={"centre_id": centre.id,
                                                                "closure_date": closure_date})
    return closure, sessions_on(db, centre.id, closure_date)


def sessions_on(db: Session, centre_id: int, day: date) -> list[CohortSession]:
    """Scheduled sessions of the centre's cohorts on a London calendar day."""
    from datetime import time, timedelta

    from app.timeutil import local_to_utc

    start = local_to_utc(day, time(0, 0))
    end = local_to_utc(day + timedelta(days=1), time(0, 0))
    return list(db.scalars(sa.select(CohortSession).join(Cohort, Cohort.id == CohortSession.cohort_id).where(
        Cohort.centre_id == centre_id, CohortSession.status == "scheduled",
        CohortSession.starts_at >= start, CohortSession.starts_at < end).order_by(CohortSession.starts_at)))


def remove_closure(db: Session, centre: Centre, closure_id: int, *, now: datetime, actor=None) -> None:
    """Reopen a centre on a day it was to be closed."""
    closure = db.get(ClosureDay, closure_id)
    if closure is None or closure.centre_id != centre.id:
        raise NotFound("There is no such closure day.", "closure_id")
    record(db, "delete", closure, actor=actor, at=now, changes={"closure_date": closure.closure_date})
    db.delete(closure)
    db.flush()


def sessions_on_closures(db: Session, centre: Centre, now: datetime) -> list[tuple[CohortSession, ClosureDay]]:
    """Future scheduled sessions that fall on one of the centre's closure days."""
    out = []
    for closure in centre.closures:
        for session in sessions_on(db, centre.id, closure.closure_date):
            if session.starts_at > now:
                out.append((session, closure))
    return out


def local_day(moment: datetime) -> date:
    """The London date of an instant."""
    return to_london(moment).date()
