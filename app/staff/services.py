"""Staff records for the rota: accounts, qualifications, centres, weekly availability and leave.

Also the read side the rota uses: ``load_profiles`` gathers everything the hard rules need
about each person in a few queries, so checking hundreds of assignments costs no more queries.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.audit.services import record
from app.auth.models import ROLES, User
from app.auth.services import create_user
from app.errors import NotFound, ValidationFailed
from app.staff.models import Availability, Leave, StaffCentre, StaffQualification
from programmes import QUALIFICATIONS

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: roles that can be put on a rota (commissioners never run sessions)
ROSTERABLE_ROLES = ("admin", "facilitator", "worker")
MAX_REASON = 200


# --- read side: what the rota rules need --------------------------------------------------------

@dataclass
class StaffProfile:
    """One person as the rota sees them: a snapshot, cheap to check many times."""

    user_id: int
    name: str
    role: str
    is_enabled: bool
    qualifications: frozenset[str] = frozenset()
    #: centres they work at (empty: may work at any centre)
    centres: frozenset[int] = frozenset()
    preferred_centres: frozenset[int] = frozenset()
    #: weekday -> merged (start, end) local windows, sorted
    windows: dict[int, list[tuple[time, time]]] = field(default_factory=dict)
    #: inclusive (start_date, end_date, reason)
    leave: list[tuple[date, date, str]] = field(default_factory=list)

    @property
    def is_rosterable(self) -> bool:
        return self.is_enabled and self.role in ROSTERABLE_ROLES

    def available(self, weekday: int, start: time, end: time) -> bool:
        """True when one weekly window covers the whole local time span."""
        return any(ws <= start and end <= we for ws, we in self.windows.get(weekday, ()))

    def leave_on(self, day: date) -> tuple[date, date, str] | None:
        """The leave covering a date, if any."""
        return next((item for item in self.leave if item[0] <= day <= item[1]), None)


def _merge(windows: list[tuple[time, time]]) -> list[tuple[time, time]]:
    """Touching or overlapping windows become one (09:00-12:00 + 12:00-15:00 covers 11:00-13:00)."""
    merged: list[tuple[time, time]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def load_profiles(db: Session, user_ids: Iterable[int] | None = None) -> dict[int, StaffProfile]:
    """Profiles of the given users (default: everyone who can be rostered), in five queries."""
    query = sa.select(User)
    if user_ids is not None:
        ids = list(set(user_ids))
        if not ids:
            return {}
        query = query.where(User.id.in_(ids))
    else:
        query = query.where(User.role.in_(ROSTERABLE_ROLES))
    profiles = {u.id: StaffProfile(u.id, u.display_name, u.role, u.is_enabled) for u in db.scalars(query)}
    if not profiles:
        return profiles
    ids = list(profiles)
    quals: dict[int, set[str]] = {}
    for uid, q in db.execute(sa.select(StaffQualification.user_id, StaffQualification.qualification)
                             .where(StaffQualification.user_id.in_(ids))):
        quals.setdefault(uid, set()).add(q)
    centres: dict[int, set[int]] = {}
    preferred: dict[int, set[int]] = {}
    for uid, cid, pref in db.execute(sa.select(StaffCentre.user_id, StaffCentre.centre_id, StaffCentre.is_preferred)
                                     .where(StaffCentre.user_id.in_(ids))):
        centres.setdefault(uid, set()).add(cid)
        if pref:
            preferred.setdefault(uid, set()).add(cid)
    windows: dict[int, dict[int, list]] = {}
    for uid, wd, st, et in db.execute(sa.select(Availability.user_id, Availability.weekday, Availability.start_time,
                                                Availability.end_time).where(Availability.user_id.in_(ids))):
        windows.setdefault(uid, {}).setdefault(wd, []).append((st, et))
    leave: dict[int, list] = {}
    for uid, sd, ed, reason in db.execute(sa.select(Leave.user_id, Leave.start_date, Leave.end_date, Leave.reason)
                                          .where(Leave.user_id.in_(ids))):
        leave.setdefault(uid, []).append((sd, ed, reason or ""))
    for uid, p in profiles.items():
        p.qualifications = frozenset(quals.get(uid, ()))
        p.centres = frozenset(centres.get(uid, ()))
        p.preferred_centres = frozenset(preferred.get(uid, ()))
        p.windows = {wd: _merge(ws) for wd, ws in windows.get(uid, {}).items()}
        p.leave = sorted(leave.get(uid, []))
    return profiles


def list_staff(db: Session) -> list[User]:
    """Everyone with an account except commissioners, by name."""
    return list(db.scalars(sa.select(User).where(User.role != "commissioner").order_by(User.full_name, User.email)))


def get_staff(db: Session, user_id, field_name: str = "user_id") -> User:
    """A member of staff by id, or NotFound."""
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        raise NotFound("No such member of staff.", field_name) from None
    user = db.get(User, uid) if 0 < uid <= 2**31 - 1 else None
    if user is None:
        raise NotFound("No such member of staff.", field_name)
    return user


# --- write side -------------------------------------------------------------------------------

def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValidationFailed(f"Choose a role: {', '.join(ROLES)}.", "role")


def _check_qualifications(qualifications: Iterable[str]) -> set[str]:
    wanted = set(qualifications or ())
    unknown = wanted - set(QUALIFICATIONS)
    if unknown:
        raise ValidationFailed(f"Unknown qualification: {', '.join(sorted(unknown))}.", "qualifications")
    return wanted


def create_staff(db: Session, *, email: str, password: str, role: str, full_name: str = "",
                 mobile: str | None = None, qualifications: Iterable[str] = (), now: datetime, actor=None,
                 hash_method: str = "scrypt") -> User:
    """Create a staff account (the person chooses a new password at first sign-in)."""
    _check_role(role)
    full_name = (full_name or "").strip()
    if not full_name:
        raise ValidationFailed("Enter the person's name.", "full_name")
    if len(full_name) > 120:
        raise ValidationFailed("Name must be 120 characters or fewer.", "full_name")
    quals = _check_qualifications(qualifications)
    user = create_user(db, email, password, role, full_name=full_name, hash_method=hash_method)
    user.mobile = (mobile or "").strip() or None
    user.must_change_password = True
    for q in sorted(quals):
        db.add(StaffQualification(user_id=user.id, qualification=q))
    db.flush()
    record(db, "staff_created", user, actor=actor, at=now,
           changes={"role": role, "qualifications": ",".join(sorted(quals))})
    return user


def update_staff(db: Session, user: User, *, full_name: str, role: str, mobile: str | None, is_enabled: bool,
                 now: datetime, actor=None) -> User:
    """Change a person's name, role, mobile or whether their account is enabled."""
    _check_role(role)
    full_name = (full_name or "").strip()
    if not full_name:
        raise ValidationFailed("Enter the person's name.", "full_name")
    if actor is not None and getattr(actor, "id", None) == user.id and (role != "admin" or not is_enabled):
        raise ValidationFailed("You cannot remove your own admin role or switch off your own account.", "role")
    before = {"full_name": user.full_name, "role": user.role, "mobile": user.mobile, "is_enabled": user.is_enabled}
    user.full_name = full_name[:120]
    user.role = role
    user.mobile = (mobile or "").strip() or None
    user.is_enabled = bool(is_enabled)
    after = {"full_name": user.full_name, "role": user.role, "mobile": user.mobile, "is_enabled": user.is_enabled}
    changes = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if "mobile" in changes:
        changes["mobile"] = ["(changed)", "(changed)"]
    if changes:
        record(db, "staff_updated", user, actor=actor, at=now, changes=changes)
    db.flush()
    return user


def set_qualifications(db: Session, user: User, qualifications: Iterable[str], *, now: datetime, actor=None) -> None:
    """Replace the person's qualifications with exactly these."""
    wanted = _check_qualifications(qualifications)
    rows = {r.qualification: r for r in db.scalars(
        sa.select(StaffQualification).where(StaffQualification.user_id == user.id))}
    for q in set(rows) - wanted:
        db.delete(rows[q])
    for q in wanted - set(rows):
        db.add(StaffQualification(user_id=user.id, qualification=q))
    if set(rows) != wanted:
        record(db, "staff_qualifications", user, actor=actor, at=now,
               changes={"qualifications": [",".join(sorted(rows)), ",".join(sorted(wanted))]})
    db.flush()


def set_centres(db: Session, user: User, centre_ids: Iterable[int], preferred_ids: Iterable[int] = (), *,
                now: datetime, actor=None) -> None:
    """Replace the centres a person works at; preferred centres must be among them."""
    from app.centres.models import Centre

    wanted = {int(c) for c in centre_ids or ()}
    preferred = {int(c) for c in preferred_ids or ()}
    if wanted:
        known = set(db.scalars(sa.select(Centre.id).where(Centre.id.in_(wanted))))
        if known != wanted:
            raise ValidationFailed("Choose centres from the list.", "centres")
    if not preferred <= wanted:
        raise ValidationFailed("A preferred centre must also be ticked as a centre they work at.", "preferred")
    rows = {r.centre_id: r for r in db.scalars(sa.select(StaffCentre).where(StaffCentre.user_id == user.id))}
    before = {cid: r.is_preferred for cid, r in rows.items()}
    for cid in set(rows) - wanted:
        db.delete(rows[cid])
    for cid in wanted:
        row = rows.get(cid)
        if row is None:
            db.add(StaffCentre(user_id=user.id, centre_id=cid, is_preferred=cid in preferred))
        else:
            row.is_preferred = cid in preferred
    after = {cid: cid in preferred for cid in wanted}
    if before != after:
        record(db, "staff_centres", user, actor=actor, at=now, changes={
            "centres": [",".join(map(str, sorted(before))), ",".join(map(str, sorted(after)))],
            "preferred": [",".join(str(c) for c in sorted(before) if before[c]), ",".join(map(str, sorted(preferred)))],
        })
    db.flush()


def parse_time(text: str, field_name: str) -> time:
    """A local time typed as HH:MM (e.g. 9:30 or 14:00)."""
    raw = (text or "").strip().replace(".", ":")
    try:
        hours, minutes = raw.split(":")
        value = time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise ValidationFailed("Enter a time like 09:30 or 14:00.", field_name) from None
    return value


def add_availability(db: Session, user: User, weekday: int, start_time: time, end_time: time, *,
                     now: datetime, actor=None) -> Availability:
    """Add a weekly window when the person can work (London local time)."""
    if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
        raise ValidationFailed("Choose a day of the week.", "weekday")
    if end_time <= start_time:
        raise ValidationFailed("The end time must be after the start time.", "end_time")
    window = Availability(user_id=user.id, weekday=weekday, start_time=start_time, end_time=end_time)
    db.add(window)
    db.flush()
    record(db, "staff_availability_added", user, actor=actor, at=now,
           changes={"weekday": weekday, "start_time": start_time.isoformat("minutes"),
                    "end_time": end_time.isoformat("minutes")})
    return window


def remove_availability(db: Session, user: User, availability_id: int, *, now: datetime, actor=None) -> None:
    """Remove one of the person's weekly windows."""
    window = db.get(Availability, availability_id) if 0 < availability_id <= 2**31 - 1 else None
    if window is None or window.user_id != user.id:
        raise NotFound("No such availability window.", "availability_id")
    record(db, "staff_availability_removed", user, actor=actor, at=now,
           changes={"weekday": window.weekday, "start_time": window.start_time.isoformat("minutes"),
                    "end_time": window.end_time.isoformat("minutes")})
    db.delete(window)
    db.flush()


def add_leave(db: Session, user: User, start_date: date, end_date: date, reason: str = "", *,
              now: datetime, actor=None) -> Leave:
    """Record leave or a one-off absence (inclusive dates)."""
    if not isinstance(start_date, date):
        raise ValidationFailed("Enter the first day of leave.", "start_date")
    if not isinstance(end_date, date):
        raise ValidationFailed("Enter the last day of leave.", "end_date")
    if end_date < start_date:
        raise ValidationFailed("The last day must be the same as or after the first day.", "end_date")
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise ValidationFailed(f"Reason must be {MAX_REASON} characters or fewer.", "reason")
    leave = Leave(user_id=user.id, start_date=start_date, end_date=end_date, reason=reason)
    db.add(leave)
    db.flush()
    record(db, "staff_leave_added", user, actor=actor, at=now,
           changes={"start_date": start_date, "end_date": end_date})
    return leave


def remove_leave(db: Session, user: User, leave_id: int, *, now: datetime, actor=None) -> None:
    """Delete a leave record."""
    leave = db.get(Leave, leave_id) if 0 < leave_id <= 2**31 - 1 else None
    if leave is None or leave.user_id != user.id:
        raise NotFound("No such leave.", "leave_id")
    record(db, "staff_leave_removed", user, actor=actor, at=now,
           changes={"start_date": leave.start_date, "end_date": leave.end_date})
    db.delete(leave)
    db.flush()


def staff_details(db: Session, user: User) -> dict:
    """Everything the staff page shows about a person."""
    from app.centres.models import Centre

    quals = sorted(db.scalars(sa.select(StaffQualification.qualification).where(StaffQualification.user_id == user.id)))
    centres = db.execute(sa.select(Centre, StaffCentre.is_preferred).join(StaffCentre, StaffCentre.centre_id == Centre.id)
                         .where(StaffCentre.user_id == user.id).order_by(Centre.name)).all()
    windows = list(db.scalars(sa.select(Availability).where(Availability.user_id == user.id)
                              .order_by(Availability.weekday, Availability.start_time)))
    leave = list(db.scalars(sa.select(Leave).where(Leave.user_id == user.id).order_by(Leave.start_date)))
    from app.staff.models import QUALIFICATION_LABELS

    return {"qualifications": quals, "qualification_labels": [QUALIFICATION_LABELS.get(q, q) for q in quals],
            "centres": centres, "availability": windows, "leave": leave}


__all__ = ["StaffProfile", "load_profiles", "create_staff", "update_staff", "set_qualifications", "set_centres",
           "add_availability", "remove_availability", "add_leave", "remove_leave", "parse_time", "WEEKDAYS"]
