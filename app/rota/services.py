"""The rota's hard rules, each session's requirements, and editing by hand.

The hard rules live in one place, ``person_violations`` (one person on one session) and
``mix_violations`` (the facilitators of a session together); both work on plain snapshots
(``Slot``, ``Booking``, ``StaffProfile``) so the auto-fill checks thousands of candidates
with the very same code that checks a coordinator's edit.

Rules, in plain words:
- a facilitator holds a facilitator qualification (clinical, COSP or Better Start); a crèche
  worker holds the crèche qualification;
- the programme file's mix: ``facilitators.count`` facilitators, with at least ``at_least``
  holding each required qualification (Together Time: one clinically trained; Circle of
  Security: one trained COSP facilitator). A single assignment breaks the mix only when it
  leaves too few places for the required qualification;
- a person who works at named centres is only rostered at those (no centres named: any);
- a weekly availability window covers the whole session (London local time);
- nobody on leave that London day;
- nobody in two places at once, and between two different centres on the same day at least
  ``travel_minutes`` between one session's end and the next one's start (same centre:
  back-to-back is fine).

Refusals are ``Conflict`` (HTTP 409) naming ``user_id``; bad input is ``ValidationFailed`` (422).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import events
from app.audit.services import record
from app.auth.models import User
from app.auth.permissions import can
from app.centres.models import Centre
from app.cohorts.models import Cohort, CohortSession
from app.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.rota.models import ROTA_ROLES, RotaAssignment
from app.staff.models import QUALIFICATION_LABELS
from app.staff.services import StaffProfile, load_profiles
from app.timeutil import local_to_utc, to_london
from programmes import Programme, get_programme

#: minutes needed to get from one centre to another on the same day (config ROTA_TRAVEL_MINUTES)
DEFAULT_TRAVEL_MINUTES = 30
#: holding any one of these lets a person co-facilitate a group
FACILITATOR_QUALIFICATIONS = frozenset({"clinical", "cosp", "better_start"})
#: what each role needs to hold
ROLE_QUALIFICATIONS = {"facilitator": FACILITATOR_QUALIFICATIONS, "creche": frozenset({"creche"})}
#: short names of qualifications, for sentences ("no COSP-trained facilitator is free")
QUAL_SHORT = {"clinical": "clinically trained", "cosp": "COSP-trained", "better_start": "Better Start",
              "creche": "crèche-trained"}
MAX_REASON = 300
#: ids above this cannot exist (PostgreSQL integer); checked so a huge number is a 404/422, not a 500
MAX_ID = 2**31 - 1

RULES = {
    "account": "Account",
    "qualification": "Qualification",
    "centre": "Centre",
    "availability": "Availability",
    "leave": "Leave",
    "double_booked": "Double booking",
    "travel": "Travel time",
    "facilitator_mix": "Facilitator mix",
    "facilitator_count": "Number of facilitators",
    "already_on": "Already on this session",
    "session": "Session",
}


@dataclass(frozen=True)
class Violation:
    """A broken hard rule: its code (see RULES) and a sentence saying what is wrong."""

    rule: str
    message: str

    @property
    def text(self) -> str:
        return f"{RULES.get(self.rule, self.rule)}: {self.message}"


@dataclass(frozen=True)
class Slot:
    """A session as the rules see it: when, where, which programme (times in UTC, day in London)."""

    session_id: int
    cohort_id: int
    centre_id: int
    centre_name: str
    programme_key: str
    starts_at: datetime
    ends_at: datetime
    status: str = "scheduled"
    is_published: bool = False

    @property
    def programme(self) -> Programme:
        return get_programme(self.programme_key)

    @property
    def local_start(self) -> datetime:
        return to_london(self.starts_at)

    @property
    def local_end(self) -> datetime:
        return to_london(self.ends_at)

    @property
    def day(self) -> date:
        return self.local_start.date()

    @property
    def label(self) -> str:
        return f"{self.programme.name} at {self.centre_name}"


@dataclass(frozen=True)
class Booking:
    """Where a person already is: another session they are on."""

    session_id: int
    starts_at: datetime
    ends_at: datetime
    centre_id: int
    label: str

    @property
    def day(self) -> date:
        return to_london(self.starts_at).date()


def day_label(day: date) -> str:
    """'Tue 14 Oct' (the year is added when it is not obvious from context elsewhere)."""
    return f"{day:%a} {day.day} {day:%b}"


def _span(moment_start: datetime, moment_end: datetime) -> str:
    return f"{to_london(moment_start):%H:%M}–{to_london(moment_end):%H:%M}"


# --- the hard rules ------------------------------------------------------------------------------

def person_violations(profile: StaffProfile, slot: Slot, role: str, bookings: Iterable[Booking],
                      travel_minutes: int = DEFAULT_TRAVEL_MINUTES, *, first_only: bool = False) -> list[Violation]:
    """Every rule this person would break by working this session in this role (empty: allowed).

    ``bookings`` are the person's other sessions (any days; only those near this one matter).
    With ``first_only`` it stops at the first broken rule (the auto-fill's fast path).
    """
    out: list[Violation] = []
    name = profile.name

    def add(rule: str, message: str) -> bool:
        out.append(Violation(rule, message))
        return first_only

    if not profile.is_rosterable:
        why = "is switched off" if not profile.is_enabled else f"is a {profile.role} account"
        if add("account", f"{name}'s account {why}, so they cannot be put on a rota."):
            return out
    needs = ROLE_QUALIFICATIONS[role]
    if not profile.qualifications & needs:
        if role == "creche":
            msg = f"{name} is not a trained crèche worker; crèche workers must hold the crèche qualification."
        else:
            msg = (f"{name} holds no facilitator qualification; a facilitator must be clinically trained, "
                   "a trained COSP facilitator or a Better Start worker.")
        if add("qualification", msg):
            return out
    if profile.centres and slot.centre_id not in profile.centres:
        if add("centre", f"{name} does not work at {slot.centre_name}."):
            return out
    local_start, local_end = slot.local_start, slot.local_end
    day = local_start.date()
    end_time = local_end.time() if local_end.date() == day else time(23, 59, 59)
    if not profile.available(day.weekday(), local_start.time(), end_time):
        if add("availability", f"{name} is not available on {local_start:%A}s at "
                               f"{_span(slot.starts_at, slot.ends_at)} (their weekly availability does not cover it)."):
            return out
    leave = profile.leave_on(day)
    if leave is not None:
        period = day_label(leave[0]) if leave[0] == leave[1] else f"{day_label(leave[0])} to {day_label(leave[1])}"
        if add("leave", f"{name} is on leave on {day_label(day)} ({period})."):
            return out
    travel = timedelta(minutes=travel_minutes)
    for other in bookings:
        if other.session_id == slot.session_id:
            continue
        if other.starts_at < slot.ends_at and slot.starts_at < other.ends_at:
            if add("double_booked", f"{name} is already on {other.label} on {day_label(other.day)} at "
                                    f"{_span(other.starts_at, other.ends_at)}, at the same time."):
                return out
        elif (other.centre_id != slot.centre_id and other.day == day
              and other.starts_at < slot.ends_at + travel and slot.starts_at < other.ends_at + travel):
            if add("travel", f"{name} is on {other.label} at {_span(other.starts_at, other.ends_at)} on "
                             f"{day_label(day)}: too little time to travel between centres "
                             f"({travel_minutes} minutes needed)."):
                return out
    return out


def mix_deficits(programme: Programme, facilitator_quals: list[frozenset[str]]) -> dict[str, int]:
    """For each qualification the programme requires, how many more facilitators holding it are needed."""
    out = {}
    for rule in programme.facilitator_rules:
        have = sum(1 for q in facilitator_quals if rule.qualification in q)
        if have < rule.at_least:
            out[rule.qualification] = rule.at_least - have
    return out


def mix_feasible(programme: Programme, facilitator_quals: list[frozenset[str]]) -> bool:
    """True while the places left can still meet every qualification requirement."""
    left = programme.facilitator_count - len(facilitator_quals)
    if left < 0:
        return False
    deficits = mix_deficits(programme, facilitator_quals)
    return all(d <= left for d in deficits.values())


def mix_violations(programme: Programme, facilitator_quals: list[frozenset[str]], *, name: str = "",
                   complete_only: bool = False) -> list[Violation]:
    """The facilitator mix of one session: too many, or too few places left for a required qualification.

    With ``complete_only`` (checking a finished rota) a session with empty places is not a
    violation (it is a gap, reported as such); only too many facilitators, or a full session
    without the required qualification, is.
    """
    out = []
    count = programme.facilitator_count
    if len(facilitator_quals) > count:
        out.append(Violation("facilitator_count", f"{programme.name} has {count} facilitators per session"
                                                  f"{' and this session already has them' if name else ''}."))
        return out
    left = count - len(facilitator_quals)
    if complete_only and left > 0:
        return out
    for qual, deficit in mix_deficits(programme, facilitator_quals).items():
        if deficit > left:
            label = QUALIFICATION_LABELS.get(qual, qual).split(" (")[0].lower()
            subject = f"with {name} " if name else ""
            out.append(Violation("facilitator_mix", (
                f"{programme.name} needs at least one facilitator who is {label}; {subject}the session would have "
                f"{len(facilitator_quals)} of {count} facilitators and not enough {QUAL_SHORT.get(qual, qual)}.")))
    return out


# --- loading snapshots ---------------------------------------------------------------------------

def _slot_query():
    return (sa.select(CohortSession.id, CohortSession.cohort_id, Cohort.centre_id, Centre.name, Cohort.programme_key,
                      CohortSession.starts_at, CohortSession.ends_at, CohortSession.status, Cohort.rota_published_at,
                      Cohort.status)
            .join(Cohort, Cohort.id == CohortSession.cohort_id).join(Centre, Centre.id == Cohort.centre_id))


def _slot_from_row(row) -> Slot:
    status = row[7] if row[9] == "active" else "cancelled"
    return Slot(row[0], row[1], row[2], row[3], row[4], row[5], row[6], status, row[8] is not None)


def load_slots(db: Session, session_ids: Iterable[int] | None = None, *, where=None) -> dict[int, Slot]:
    """Slots by session id, for these sessions or those matching a condition."""
    query = _slot_query()
    if session_ids is not None:
        ids = list(set(session_ids))
        if not ids:
            return {}
        query = query.where(CohortSession.id.in_(ids))
    if where is not None:
        query = query.where(where)
    return {row[0]: _slot_from_row(row) for row in db.execute(query.order_by(CohortSession.starts_at))}


def slot_of(db: Session, session: CohortSession) -> Slot:
    """The rules' view of one session."""
    return load_slots(db, [session.id])[session.id]


def load_bookings(db: Session, start: datetime, end: datetime,
                  user_ids: Iterable[int] | None = None) -> dict[int, list[Booking]]:
    """Each person's assignments to scheduled sessions overlapping [start, end], by user id."""
    query = (sa.select(RotaAssignment.user_id, CohortSession.id, CohortSession.starts_at, CohortSession.ends_at,
                       Cohort.centre_id, Centre.name, Cohort.programme_key)
             .join(CohortSession, CohortSession.id == RotaAssignment.session_id)
             .join(Cohort, Cohort.id == CohortSession.cohort_id).join(Centre, Centre.id == Cohort.centre_id)
             .where(CohortSession.status == "scheduled", Cohort.status == "active",
                    CohortSession.starts_at < end, CohortSession.ends_at > start))
    if user_ids is not None:
        query = query.where(RotaAssignment.user_id.in_(list(user_ids)))
    out: dict[int, list[Booking]] = {}
    for uid, sid, st, et, cid, cname, pkey in db.execute(query):
        out.setdefault(uid, []).append(Booking(sid, st, et, cid, f"{get_programme(pkey).name} at {cname}"))
    return out


def creche_needs(db: Session, session_ids: Iterable[int]) -> dict[int, int]:
    """Crèche workers each session needs for the children booked (the enrolment feature's ratios)."""
    from app.enrolment.creche import age_in_months, staff_needed
    from app.enrolment.models import CrecheBooking
    from app.parents.models import Child

    ids = list(set(session_ids))
    if not ids:
        return {}
    ages: dict[int, list[int]] = {sid: [] for sid in ids}
    starts = dict(db.execute(sa.select(CohortSession.id, CohortSession.starts_at).where(CohortSession.id.in_(ids))).all())
    rows = db.execute(sa.select(CrecheBooking.session_id, Child.date_of_birth)
                      .join(Child, Child.id == CrecheBooking.child_id)
                      .where(CrecheBooking.session_id.in_(ids), CrecheBooking.status == "booked"))
    for sid, dob in rows:
        if dob is not None:
            ages[sid].append(age_in_months(dob, to_london(starts[sid]).date()))
    return {sid: staff_needed(months, to_london(starts[sid]).date()) if months else 0 for sid, months in ages.items()}


def session_assignments(db: Session, session_ids: Iterable[int]) -> dict[int, list[RotaAssignment]]:
    """The assignments of each session, facilitators first."""
    ids = list(set(session_ids))
    out: dict[int, list[RotaAssignment]] = {sid: [] for sid in ids}
    if ids:
        for a in db.scalars(sa.select(RotaAssignment).where(RotaAssignment.session_id.in_(ids))
                            .order_by(RotaAssignment.role.desc(), RotaAssignment.id)):
            out[a.session_id].append(a)
    return out


# --- requirements ---------------------------------------------------------------------------------

@dataclass
class Requirement:
    """One thing a session needs, and whether the rota meets it."""

    key: str
    label: str
    needed: int
    have: int

    @property
    def met(self) -> bool:
        return self.have >= self.needed

    @property
    def gap(self) -> str | None:
        """A plain sentence for a gap, or None when met."""
        if self.met:
            return None
        short = self.needed - self.have
        if self.key == "facilitators":
            return f"Needs {short} more facilitator{'s' if short > 1 else ''}"
        if self.key == "creche":
            return f"Needs {short} more crèche worker{'s' if short > 1 else ''}"
        qual = self.key.split(":", 1)[1]
        return f"Needs a {QUAL_SHORT.get(qual, qual)} facilitator"

    def as_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "needed": self.needed, "have": self.have, "met": self.met}


def requirements_for(slot: Slot, facilitator_quals: list[frozenset[str]], creche_needed: int,
                     creche_have: int) -> list[Requirement]:
    """What a session needs: facilitators, the qualification mix, and crèche workers for the children booked."""
    programme = slot.programme
    count = programme.facilitator_count
    reqs = [Requirement("facilitators", f"{count} facilitators", count, len(facilitator_quals))]
    for rule in programme.facilitator_rules:
        have = sum(1 for q in facilitator_quals if rule.qualification in q)
        label = QUALIFICATION_LABELS.get(rule.qualification, rule.qualification).split(" (")[0]
        reqs.append(Requirement(f"qualification:{rule.qualification}", f"at least {rule.at_least}: {label.lower()}",
                                rule.at_least, have))
    if programme.creche or creche_needed or creche_have:
        reqs.append(Requirement("creche", f"{creche_needed} crèche worker{'s' if creche_needed != 1 else ''} "
                                          "for the children booked", creche_needed, creche_have))
    return reqs


@dataclass
class SessionRota:
    """A session's rota: who is on, what it needs, and whether that is met."""

    slot: Slot
    assignments: list[RotaAssignment]
    profiles: dict[int, StaffProfile]
    requirements: list[Requirement]

    @property
    def complete(self) -> bool:
        return all(r.met for r in self.requirements)

    @property
    def gaps(self) -> list[str]:
        return [r.gap for r in self.requirements if not r.met]

    def people(self, role: str) -> list[tuple[RotaAssignment, StaffProfile]]:
        return [(a, self.profiles[a.user_id]) for a in self.assignments if a.role == role]


def rotas_for(db: Session, slots: list[Slot]) -> list[SessionRota]:
    """The rota of many sessions at once, in a handful of queries."""
    ids = [s.session_id for s in slots]
    by_session = session_assignments(db, ids)
    profiles = load_profiles(db, {a.user_id for items in by_session.values() for a in items})
    needs = creche_needs(db, ids)
    out = []
    for slot in slots:
        items = by_session[slot.session_id]
        fac = [profiles[a.user_id].qualifications for a in items if a.role == "facilitator"]
        creche = sum(1 for a in items if a.role == "creche")
        needed = needs.get(slot.session_id, 0) if slot.status == "scheduled" else 0
        reqs = requirements_for(slot, fac, needed, creche) if slot.status == "scheduled" else []
        out.append(SessionRota(slot, items, profiles, reqs))
    return out


def session_rota(db: Session, session: CohortSession) -> SessionRota:
    """One session's rota."""
    return rotas_for(db, [slot_of(db, session)])[0]


# --- checking one edit ------------------------------------------------------------------------------

def check_assignment(db: Session, session: CohortSession, user_id: int, role: str, *,
                     replacing_user_id: int | None = None,
                     travel_minutes: int = DEFAULT_TRAVEL_MINUTES) -> list[Violation]:
    """Every hard rule putting this person on this session in this role would break (empty: allowed).

    ``replacing_user_id``: the person they would replace (a swap), whose place is then free.
    """
    slot = slot_of(db, session)
    if slot.status != "scheduled":
        return [Violation("session", "This session is cancelled, so nobody can be put on it.")]
    current = [a for a in session_assignments(db, [session.id])[session.id] if a.user_id != replacing_user_id]
    profiles = load_profiles(db, {user_id, *(a.user_id for a in current)})
    profile = profiles[user_id]
    if any(a.user_id == user_id for a in current):
        return [Violation("already_on", f"{profile.name} is already on this session.")]
    bookings = load_bookings(db, slot.starts_at - timedelta(days=1), slot.ends_at + timedelta(days=1),
                             [user_id]).get(user_id, [])
    out = person_violations(profile, slot, role, bookings, travel_minutes)
    if role == "facilitator":
        fac = [profiles[a.user_id].qualifications for a in current if a.role == "facilitator"]
        out += mix_violations(slot.programme, fac + [profile.qualifications], name=profile.name)
    return out


def _user(db: Session, user_id, field_name: str = "user_id") -> User:
    if isinstance(user_id, bool):
        user_id = None
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        raise ValidationFailed("Choose a member of staff.", field_name) from None
    user = db.get(User, uid) if 0 < uid <= MAX_ID else None
    if user is None:
        raise ValidationFailed("There is no member of staff with that id.", field_name)
    return user


def _force_reason(actor, reason: str | None, violations: list[Violation]) -> str | None:
    """Decide whether broken rules are overridden: only with rota.force and a reason."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise ValidationFailed(f"The reason must be {MAX_REASON} characters or fewer.", "force_reason")
    if not violations:
        return None
    if not reason:
        raise Conflict(violations[0].text, fields={"user_id": [v.text for v in violations]})
    if not can(actor, "rota.force"):
        raise PermissionDenied("Only an admin can override the rota rules.", "force_reason")
    return reason


def _notify(db: Session, session: CohortSession, user_ids: list[int], *, now: datetime, actor) -> None:
    """After publication, tell the messaging and calendar features who is affected."""
    cohort = session.cohort
    if cohort.rota_published_at is not None and session.ends_at > now and user_ids:
        events.rota_changed.send(session, now=now, actor=actor, user_ids=sorted(set(user_ids)))


def _editable(session: CohortSession) -> None:
    if session.status != "scheduled" or session.cohort.status != "active":
        raise Conflict("This session is cancelled, so its rota cannot change.", "session")


def assign(db: Session, session: CohortSession, user_id, role: str, *, now: datetime, actor=None,
           force_reason: str | None = None, travel_minutes: int = DEFAULT_TRAVEL_MINUTES) -> RotaAssignment:
    """Put a person on a session by hand, checked against every hard rule.

    A broken rule refuses the edit (Conflict naming the rule) unless an admin gives a reason.
    """
    if role not in ROTA_ROLES:
        raise ValidationFailed("Choose a role: facilitator or crèche worker.", "role")
    user = _user(db, user_id)
    _editable(session)
    violations = check_assignment(db, session, user.id, role, travel_minutes=travel_minutes)
    if any(v.rule == "already_on" for v in violations):
        raise Conflict(violations[0].text, "user_id")
    forced = _force_reason(actor, force_reason, violations)
    assignment = RotaAssignment(session_id=session.id, user_id=user.id, role=role, forced_reason=forced,
                                assigned_by_id=getattr(actor, "id", None), is_auto=False)
    db.add(assignment)
    db.flush()
    changes = {"session_id": session.id, "user_id": user.id, "role": role}
    if forced:
        changes.update(forced=True, rules=",".join(v.rule for v in violations), reason=forced)
    record(db, "rota_assigned", assignment, actor=actor, at=now, changes=changes)
    _notify(db, session, [user.id], now=now, actor=actor)
    return assignment


def _assignment(db: Session, session: CohortSession, user_id) -> RotaAssignment:
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        raise NotFound("That person is not on this session.", "user_id") from None
    if not 0 < uid <= MAX_ID:
        raise NotFound("That person is not on this session.", "user_id")
    a = db.scalar(sa.select(RotaAssignment).where(RotaAssignment.session_id == session.id,
                                                  RotaAssignment.user_id == uid))
    if a is None:
        raise NotFound("That person is not on this session.", "user_id")
    return a


def remove(db: Session, session: CohortSession, user_id, *, now: datetime, actor=None) -> None:
    """Take a person off a session."""
    assignment = _assignment(db, session, user_id)
    _editable(session)
    record(db, "rota_removed", assignment, actor=actor, at=now,
           changes={"session_id": session.id, "user_id": assignment.user_id, "role": assignment.role})
    uid = assignment.user_id
    db.delete(assignment)
    db.flush()
    _notify(db, session, [uid], now=now, actor=actor)


def swap(db: Session, session: CohortSession, old_user_id, new_user_id, *, now: datetime, actor=None,
         force_reason: str | None = None, travel_minutes: int = DEFAULT_TRAVEL_MINUTES) -> RotaAssignment:
    """Replace one person on a session by another, in the same role, checked against the hard rules."""
    assignment = _assignment(db, session, old_user_id)
    new_user = _user(db, new_user_id)
    _editable(session)
    if new_user.id == assignment.user_id:
        raise ValidationFailed("Choose a different person to swap in.", "user_id")
    violations = check_assignment(db, session, new_user.id, assignment.role, replacing_user_id=assignment.user_id,
                                  travel_minutes=travel_minutes)
    if any(v.rule == "already_on" for v in violations):
        raise Conflict(violations[0].text, "user_id")
    forced = _force_reason(actor, force_reason, violations)
    old = assignment.user_id
    assignment.user_id = new_user.id
    assignment.forced_reason = forced
    assignment.is_auto = False
    assignment.assigned_by_id = getattr(actor, "id", None)
    db.flush()
    changes = {"session_id": session.id, "user_id": [old, new_user.id], "role": assignment.role}
    if forced:
        changes.update(forced=True, rules=",".join(v.rule for v in violations), reason=forced)
    record(db, "rota_swapped", assignment, actor=actor, at=now, changes=changes)
    _notify(db, session, [old, new_user.id], now=now, actor=actor)
    return assignment


def publish(db: Session, cohort: Cohort, *, now: datetime, actor=None) -> bool:
    """Publish a cohort's rota; later changes notify the people affected. False if already published."""
    if cohort.rota_published_at is not None:
        return False
    cohort.rota_published_at = now
    record(db, "rota_published", cohort, actor=actor, at=now)
    db.flush()
    return True


def london_range(start_date: date, end_date: date) -> tuple[datetime, datetime]:
    """UTC bounds of London days start_date..end_date inclusive."""
    for name, value in (("start_date", start_date), ("end_date", end_date)):
        if not 2000 <= value.year <= 2100:
            raise ValidationFailed("Enter a date between the years 2000 and 2100.", name)
    if end_date < start_date:
        raise ValidationFailed("The end date must be on or after the start date.", "end_date")
    if (end_date - start_date).days > 400:
        raise ValidationFailed("Choose at most about a year at a time.", "end_date")
    return local_to_utc(start_date, time(0)), local_to_utc(end_date + timedelta(days=1), time(0))


def cohorts_in_range(db: Session, start_date: date, end_date: date) -> list[Cohort]:
    """Active cohorts with a scheduled session on a London day in the range."""
    lo, hi = london_range(start_date, end_date)
    ids = sa.select(CohortSession.cohort_id).where(CohortSession.starts_at >= lo, CohortSession.starts_at < hi,
                                                   CohortSession.status == "scheduled")
    return list(db.scalars(sa.select(Cohort).where(Cohort.id.in_(ids), Cohort.status == "active")
                           .order_by(Cohort.start_date, Cohort.id)))


def publish_term(db: Session, start_date: date, end_date: date, *, now: datetime, actor=None) -> list[Cohort]:
    """Publish the rota of every cohort with sessions in the range; returns those newly published."""
    return [c for c in cohorts_in_range(db, start_date, end_date) if publish(db, c, now=now, actor=actor)]


def term_slots(db: Session, start_date: date, end_date: date) -> list[Slot]:
    """Every session (scheduled or cancelled) on London days in the range, in time order."""
    lo, hi = london_range(start_date, end_date)
    return list(load_slots(db, where=sa.and_(CohortSession.starts_at >= lo, CohortSession.starts_at < hi)).values())


def my_rota(db: Session, user: User, *, now: datetime, include_drafts: bool = False,
            days_back: int = 7) -> list[tuple[Slot, RotaAssignment]]:
    """A person's own sessions from a week ago onwards: published rotas (and drafts if asked)."""
    query = (sa.select(RotaAssignment).join(CohortSession, CohortSession.id == RotaAssignment.session_id)
             .join(Cohort, Cohort.id == CohortSession.cohort_id)
             .where(RotaAssignment.user_id == user.id, CohortSession.ends_at > now - timedelta(days=days_back)))
    if not include_drafts:
        query = query.where(Cohort.rota_published_at.is_not(None))
    items = list(db.scalars(query))
    slots = load_slots(db, [a.session_id for a in items])
    pairs = [(slots[a.session_id], a) for a in items]
    return sorted(pairs, key=lambda p: p[0].starts_at)


def sessions_during(db: Session, user_id: int, start_date: date, end_date: date) -> list[Slot]:
    """The scheduled sessions a person is on between two London dates (e.g. leave just added)."""
    lo, hi = london_range(start_date, end_date)
    ids = list(db.scalars(sa.select(RotaAssignment.session_id).join(CohortSession).where(
        RotaAssignment.user_id == user_id, CohortSession.starts_at >= lo, CohortSession.starts_at < hi)))
    return [s for s in load_slots(db, ids).values() if s.status == "scheduled"]


def get_session(db: Session, session_id: int) -> CohortSession:
    """A session by id, or NotFound (also for ids too large to exist)."""
    from app.cohorts.services import get_session as _get

    if not 0 < int(session_id) <= MAX_ID:
        raise NotFound("There is no such session.", "session_id")
    return _get(db, session_id)


def get_cohort(db: Session, cohort_id: int) -> Cohort:
    """A cohort by id, or NotFound (also for ids too large to exist)."""
    from app.cohorts.services import get_cohort as _get

    if not 0 < int(cohort_id) <= MAX_ID:
        raise NotFound("There is no such cohort.", "cohort_id")
    return _get(db, cohort_id)


def week_start(day: date) -> date:
    """The Monday of a date's week."""
    return day - timedelta(days=day.weekday())


__all__ = ["Violation", "Slot", "Booking", "person_violations", "mix_violations", "check_assignment",
           "assign", "remove", "swap", "publish", "publish_term", "session_rota", "rotas_for", "my_rota"]
