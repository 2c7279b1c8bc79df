"""Auto-fill: propose a rota for one cohort or a whole term, never breaking a hard rule.

How it chooses, in order of what matters:

1. **Hard rules** (app/rota/services.py) are checked for every candidate with the same
   functions that check a coordinator's edit, and again over the finished rota.
2. **Continuity**: per cohort, the team of facilitators (two) who can cover the most of
   its sessions is chosen, so parents see the same faces. Where a team member cannot do a
   session, a substitute is found for that session only, preferring someone already
   working with the cohort.
3. **Fair share**: among teams covering equally well, the one adding least to the sum of
   squared loads (sessions per person), so work goes to those with fewest sessions.
   Afterwards a local search moves a whole cohort from a busy team member to a less busy
   colleague who can do all the same sessions, while that makes the loads more even.
4. **Preferred centres** break the remaining ties.

Cohorts are filled hardest first (fewest possible teams). Crèche workers are placed after
all facilitators, per session, with the same preferences. Existing assignments are kept.
What cannot be filled is listed with the reason, in plain words with the London date:
"no COSP-trained facilitator is free on Tue 14 Oct (2 on leave, 1 already booked at that time)".

This is a deterministic search of our own rather than a solver: it explains itself, needs
no extra dependency, and fills a term of 40 cohorts and 30 staff in well under a second.
"""
from __future__ import annotations

import time as _time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import combinations
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app import events
from app.audit.services import record
from app.cohorts.models import Cohort, CohortSession
from app.rota.models import RotaAssignment
from app.rota.services import (DEFAULT_TRAVEL_MINUTES, FACILITATOR_QUALIFICATIONS, QUAL_SHORT, Booking, Slot,
                               creche_needs, day_label, load_bookings, load_slots, london_range, mix_deficits,
                               mix_feasible, mix_violations, person_violations, session_assignments)
from app.staff.services import StaffProfile, load_profiles
from app.timeutil import isoformat

#: how a broken rule reads in an explanation ("2 on leave")
WHY = {
    "leave": "on leave",
    "availability": "not available at that time",
    "double_booked": "already booked at that time",
    "travel": "too little time to travel from another centre",
    "centre": "not working at {centre}",
    "account": "account switched off",
}
#: rounds of the fairness local search (each is cheap; it usually settles in two or three)
IMPROVE_ROUNDS = 6
#: fairness may bring a third face into a cohort, never a fourth
MAX_DISTINCT = 3
#: how far below the average load someone must be before a cohort gains a face for their sake
SHARE_SLACK = 3


@dataclass
class Unfilled:
    """A place auto-fill could not fill, and why."""

    session_id: int
    cohort_id: int
    starts_at: datetime
    role: str
    missing: int
    reason: str
    qualification: str | None = None

    def as_dict(self) -> dict:
        return {"session_id": self.session_id, "cohort_id": self.cohort_id, "starts_at": isoformat(self.starts_at),
                "role": self.role, "missing": self.missing, "qualification": self.qualification,
                "reason": self.reason}


@dataclass
class AutofillResult:
    """What auto-fill did, with the measures the benchmark reads."""

    made: list[RotaAssignment] = field(default_factory=list)
    unfilled: list[Unfilled] = field(default_factory=list)
    #: hard-rule violations found when re-checking the finished rota (forced edits excluded): should be []
    violations: list[str] = field(default_factory=list)
    #: user id -> sessions they are on within the range (both roles, kept and new); everyone who
    #: could be rostered is listed, so a 0 shows someone left out
    sessions_per_person: dict[int, int] = field(default_factory=dict)
    #: cohort id -> how many different facilitators it has within the range
    distinct_facilitators: dict[int, int] = field(default_factory=dict)
    sessions_considered: int = 0
    cohorts_considered: int = 0
    elapsed_seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.unfilled

    @property
    def load_spread(self) -> int:
        """Most minus fewest sessions per person (everyone who could be rostered counts, zeros too)."""
        loads = list(self.sessions_per_person.values())
        return max(loads) - min(loads) if loads else 0

    def as_dict(self) -> dict:
        return {
            "made": [{"session_id": a.session_id, "user_id": a.user_id, "role": a.role} for a in self.made],
            "unfilled": [u.as_dict() for u in self.unfilled],
            "violations": list(self.violations),
            "sessions_per_person": {str(k): v for k, v in sorted(self.sessions_per_person.items())},
            "distinct_facilitators": {str(k): v for k, v in sorted(self.distinct_facilitators.items())},
            "sessions_considered": self.sessions_considered,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
        }


class Planner:
    """The search itself: plain data in, (session, user, role) proposals and explanations out."""

    def __init__(self, slots: list[Slot], profiles: dict[int, StaffProfile], existing: dict[int, list[tuple[int, str]]],
                 bookings: dict[int, list[Booking]], creche_needed: dict[int, int], *,
                 travel_minutes: int = DEFAULT_TRAVEL_MINUTES):
        self.slots = {s.session_id: s for s in slots}
        self.profiles = profiles
        self.travel = travel_minutes
        #: session id -> {user id: role}, kept and new
        self.on: dict[int, dict[int, str]] = {s.session_id: dict(existing.get(s.session_id, ())) for s in slots}
        #: user id -> day -> bookings
        self.bookings: dict[int, dict[date, list[Booking]]] = {}
        for uid, items in bookings.items():
            for b in items:
                self.bookings.setdefault(uid, {}).setdefault(b.day, []).append(b)
        self.creche_needed = creche_needed
        #: sessions per person between the first and last session being filled, kept and new
        self.load: Counter[int] = Counter()
        if slots:
            lo, hi = min(s.starts_at for s in slots), max(s.ends_at for s in slots)
            for uid, items in bookings.items():
                self.load[uid] = len({b.session_id for b in items if lo <= b.starts_at < hi})
        self.new: list[tuple[int, int, str]] = []
        self.unfilled: list[Unfilled] = []
        rosterable = [p for p in profiles.values() if p.is_rosterable]
        self.fac_pool = sorted(p.user_id for p in rosterable if p.qualifications & FACILITATOR_QUALIFICATIONS)
        self.creche_pool = sorted(p.user_id for p in rosterable if "creche" in p.qualifications)

    # -- rule checks over the current state --

    def near(self, uid: int, day: date) -> list[Booking]:
        days = self.bookings.get(uid)
        if not days:
            return []
        return [*days.get(day - timedelta(days=1), ()), *days.get(day, ()), *days.get(day + timedelta(days=1), ())]

    def why_not(self, uid: int, slot: Slot, role: str, first_only: bool = True):
        if uid in self.on[slot.session_id]:
            return ["already_on"]
        return person_violations(self.profiles[uid], slot, role, self.near(uid, slot.day), self.travel,
                                 first_only=first_only)

    def free(self, uid: int, slot: Slot, role: str) -> bool:
        return not self.why_not(uid, slot, role)

    def fac_quals(self, sid: int, without: int | None = None) -> list[frozenset[str]]:
        return [self.profiles[u].qualifications for u, r in self.on[sid].items() if r == "facilitator" and u != without]

    def place(self, sid: int, uid: int, role: str) -> None:
        slot = self.slots[sid]
        self.on[sid][uid] = role
        b = Booking(sid, slot.starts_at, slot.ends_at, slot.centre_id, slot.label)
        self.bookings.setdefault(uid, {}).setdefault(b.day, []).append(b)
        self.load[uid] += 1
        self.new.append((sid, uid, role))

    def unplace(self, sid: int, uid: int) -> None:
        slot = self.slots[sid]
        del self.on[sid][uid]
        day = slot.day
        self.bookings[uid][day] = [b for b in self.bookings[uid][day] if b.session_id != sid]
        self.load[uid] -= 1
        self.new.remove((sid, uid, "facilitator"))

    def pref(self, uid: int, slot: Slot) -> int:
        return 1 if slot.centre_id in self.profiles[uid].preferred_centres else 0

    # -- facilitators --

    def _best_subset(self, slot: Slot, team: Iterable[int], cands: set[int], left: int) -> tuple[int, ...]:
        """The largest part of the team that can do this session while the mix stays possible."""
        base = self.fac_quals(slot.session_id)
        usable = [u for u in team if u in cands]
        for size in range(min(left, len(usable)), 0, -1):
            for combo in combinations(usable, size):
                if mix_feasible(slot.programme, base + [self.profiles[u].qualifications for u in combo]):
                    return combo
        return ()

    def fill_cohort_facilitators(self, sids: list[int]) -> None:
        slots = [self.slots[s] for s in sids]
        need = {s.session_id: s.programme.facilitator_count - len(self.fac_quals(s.session_id)) for s in slots}
        todo = [s for s in slots if need[s.session_id] > 0]
        if not todo:
            return
        cands = {s.session_id: {u for u in self.fac_pool if self.free(u, s, "facilitator")} for s in todo}
        pool = sorted(set().union(*cands.values()))
        already = Counter(u for s in slots for u, r in self.on[s.session_id].items() if r == "facilitator")
        size = min(max(need.values()), len(pool))
        best_key, best_team = None, ()
        for team in combinations(pool, size) if size else ():
            placed = Counter()
            covered = 0
            for s in todo:
                combo = self._best_subset(s, team, cands[s.session_id], need[s.session_id])
                covered += len(combo)
                placed.update(combo)
            fair = sum((self.load[u] + n) ** 2 - self.load[u] ** 2 for u, n in placed.items())
            key = (covered, sum(1 for u in team if already[u]), -fair,
                   sum(self.pref(u, slots[0]) for u in team), tuple(-u for u in team))
            if best_key is None or key > best_key:
                best_key, best_team = key, team
        used = Counter(already)
        for s in todo:
            sid = s.session_id
            for u in self._best_subset(s, best_team, cands[sid], need[sid]):
                self.place(sid, u, "facilitator")
                used[u] += 1
            self._fill_rest(s, used)

    def _fill_rest(self, slot: Slot, used: Counter) -> None:
        """Fill the session's remaining facilitator places with the best substitutes."""
        sid = slot.session_id
        left = slot.programme.facilitator_count - len(self.fac_quals(sid))
        if left <= 0:
            return
        cands = [u for u in self.fac_pool if self.free(u, slot, "facilitator")]
        cands.sort(key=lambda u: (-used[u], self.load[u], -self.pref(u, slot), u))
        base = self.fac_quals(sid)
        # The best dozen, plus the best few holding each qualification still missing, is plenty
        # to find a valid mix without trying every combination of the whole staff list.
        short = cands[:12]
        for qual in mix_deficits(slot.programme, base):
            short += [u for u in cands if qual in self.profiles[u].qualifications and u not in short][:4]
        cands = short
        for size in range(min(left, len(cands)), 0, -1):
            for combo in combinations(cands, size):
                if mix_feasible(slot.programme, base + [self.profiles[u].qualifications for u in combo]):
                    for u in combo:
                        self.place(sid, u, "facilitator")
                        used[u] += 1
                    return

    def improve_fairness(self, cohort_sessions: dict[int, list[int]]) -> None:
        """Hand a whole cohort's sessions from a busy person to a less busy one who can do them all."""
        auto = {(sid, uid) for sid, uid, role in self.new if role == "facilitator"}
        for _ in range(IMPROVE_ROUNDS):
            changed = False
            for cid, sids in cohort_sessions.items():
                members = Counter(uid for sid in sids for uid, r in self.on[sid].items()
                                  if r == "facilitator" and (sid, uid) in auto)
                for p, n in sorted(members.items(), key=lambda kv: -self.load[kv[0]]):
                    theirs = [sid for sid in sids if (sid, p) in auto and self.on[sid].get(p) == "facilitator"]
                    n = len(theirs)
                    if not n:
                        continue
                    best = None
                    for q in self.fac_pool:
                        if q == p or self.load[q] + n >= self.load[p]:
                            continue
                        if any(q in self.on[sid] for sid in sids):
                            continue  # already on the cohort: would add a face, not swap one
                        if all(self._can_replace(sid, p, q) for sid in theirs):
                            key = (self.load[q], -self.pref(q, self.slots[theirs[0]]), q)
                            if best is None or key < best[0]:
                                best = (key, q)
                    if best:
                        q = best[1]
                        for sid in theirs:
                            self.unplace(sid, p)
                            self.place(sid, q, "facilitator")
                            auto.discard((sid, p))
                            auto.add((sid, q))
                        changed = True
            if not changed:
                break
        self._share_cohorts(cohort_sessions, auto)

    def _share_cohorts(self, cohort_sessions: dict[int, list[int]], auto: set[tuple[int, int]]) -> None:
        """Last resort for fairness: someone left with far fewer sessions (say, on leave one week, so
        never able to take a whole cohort) takes over most of a busy colleague's sessions in a cohort.
        This costs a familiar face, so only while the cohort keeps at most MAX_DISTINCT facilitators
        and the newcomer does at least half of what they take over from."""
        if not self.fac_pool:
            return
        for _ in range(IMPROVE_ROUNDS):
            changed = False
            mean = sum(self.load[u] for u in self.fac_pool) / len(self.fac_pool)
            for cid, sids in cohort_sessions.items():
                faces = {u for sid in sids for u, r in self.on[sid].items() if r == "facilitator"}
                members = Counter(uid for sid in sids for uid, r in self.on[sid].items()
                                  if r == "facilitator" and (sid, uid) in auto)
                for p in sorted(members, key=lambda u: -self.load[u]):
                    theirs = [sid for sid in sids if (sid, p) in auto and self.on[sid].get(p) == "facilitator"]
                    best = None
                    if self.load[p] <= mean:
                        continue
                    for q in self.fac_pool:
                        # only for someone clearly short of work: a face is worth more than a session or two
                        if q == p or self.load[q] > mean - SHARE_SLACK or (
                                q not in faces and len(faces) >= MAX_DISTINCT):
                            continue
                        movable = [sid for sid in theirs if self._can_replace(sid, p, q)]
                        k = len(movable)
                        if not k or 2 * k < len(theirs) or self.load[q] + k >= self.load[p]:
                            continue
                        gain = self.load[p] ** 2 + self.load[q] ** 2 - (self.load[p] - k) ** 2 - (self.load[q] + k) ** 2
                        key = (gain, q in faces, -q)
                        if best is None or key > best[0]:
                            best = (key, q, movable)
                    if best:
                        _key, q, movable = best
                        for sid in movable:
                            self.unplace(sid, p)
                            self.place(sid, q, "facilitator")
                            auto.discard((sid, p))
                            auto.add((sid, q))
                        faces.add(q)
                        changed = True
                        break  # the cohort's faces changed: look at it afresh next round
            if not changed:
                return

    def _can_replace(self, sid: int, p: int, q: int) -> bool:
        slot = self.slots[sid]
        if not self.free(q, slot, "facilitator"):
            return False
        quals = self.fac_quals(sid, without=p) + [self.profiles[q].qualifications]
        return mix_feasible(slot.programme, quals) and len(mix_deficits(slot.programme, quals)) <= len(
            mix_deficits(slot.programme, self.fac_quals(sid)))

    # -- crèche --

    def fill_creche(self, sids: list[int]) -> None:
        used: Counter[int] = Counter(u for sid in sids for u, r in self.on[sid].items() if r == "creche")
        for sid in sids:
            slot = self.slots[sid]
            have = sum(1 for r in self.on[sid].values() if r == "creche")
            short = self.creche_needed.get(sid, 0) - have
            if short <= 0:
                continue
            cands = [u for u in self.creche_pool if self.free(u, slot, "creche")]
            cands.sort(key=lambda u: (-used[u], self.load[u], -self.pref(u, slot), u))
            for u in cands[:short]:
                self.place(sid, u, "creche")
                used[u] += 1

    # -- explanations --

    def explain_gaps(self, sids: list[int]) -> None:
        for sid in sids:
            slot = self.slots[sid]
            programme = slot.programme
            quals = self.fac_quals(sid)
            left = programme.facilitator_count - len(quals)
            if left > 0:
                deficits = mix_deficits(programme, quals)
                for qual, n in deficits.items():
                    self.unfilled.append(Unfilled(sid, slot.cohort_id, slot.starts_at, "facilitator", n,
                                                  self._reason(slot, "facilitator", qual), qual))
                rest = left - sum(deficits.values())
                if rest > 0:
                    self.unfilled.append(Unfilled(sid, slot.cohort_id, slot.starts_at, "facilitator", rest,
                                                  self._reason(slot, "facilitator", None)))
            short = self.creche_needed.get(sid, 0) - sum(1 for r in self.on[sid].values() if r == "creche")
            if short > 0:
                self.unfilled.append(Unfilled(sid, slot.cohort_id, slot.starts_at, "creche", short,
                                              self._reason(slot, "creche", "creche")))

    def _reason(self, slot: Slot, role: str, qual: str | None) -> str:
        if role == "creche":
            label, pool = "crèche worker", self.creche_pool
        elif qual:
            label = f"{QUAL_SHORT.get(qual, qual)} facilitator"
            pool = [u for u in self.fac_pool if qual in self.profiles[u].qualifications]
        else:
            label, pool = "other facilitator", self.fac_pool
        when = day_label(slot.day)
        if not pool:
            return f"no {label} is on the staff list for {slot.label} on {when}"
        why: Counter[str] = Counter()
        for u in pool:
            if u in self.on[slot.session_id]:
                continue
            broken = self.why_not(u, slot, role)
            rule = broken[0].rule if broken else "mix"
            why[rule] += 1
        parts = []
        for rule, n in why.most_common():
            if rule == "mix":
                parts.append(f"{n} free but would leave no place for the required qualification")
            else:
                parts.append(f"{n} {WHY.get(rule, rule).format(centre=slot.centre_name)}")
        detail = f" ({', '.join(parts)})" if parts else ""
        return f"no {label} is free on {when} at {slot.local_start:%H:%M}{detail}"


# --- the database side --------------------------------------------------------------------------

def _run(db: Session, slots: list[Slot], *, now: datetime, actor, travel_minutes: int,
         audit_entity, audit_changes: dict | None = None) -> AutofillResult:
    started = _time.perf_counter()
    result = AutofillResult()
    slots = [s for s in slots if s.status == "scheduled" and s.starts_at > now]
    result.sessions_considered = len(slots)
    if not slots:
        result.elapsed_seconds = _time.perf_counter() - started
        return result
    lo = min(s.starts_at for s in slots) - timedelta(days=1)
    hi = max(s.ends_at for s in slots) + timedelta(days=1)
    ids = [s.session_id for s in slots]
    current = session_assignments(db, ids)
    existing = {sid: [(a.user_id, a.role) for a in items] for sid, items in current.items()}
    bookings = load_bookings(db, lo, hi)
    profiles = load_profiles(db)
    extra = {u for items in existing.values() for u, _ in items} | set(bookings)
    missing = extra - set(profiles)
    if missing:
        profiles.update(load_profiles(db, missing))
    planner = Planner(slots, profiles, existing, bookings, creche_needs(db, ids), travel_minutes=travel_minutes)

    by_cohort: dict[int, list[int]] = {}
    for s in slots:
        by_cohort.setdefault(s.cohort_id, []).append(s.session_id)
    result.cohorts_considered = len(by_cohort)

    # Hardest cohorts first: those with the fewest people able to do their sessions.
    def difficulty(cid: int):
        sids = by_cohort[cid]
        able = [sum(1 for u in planner.fac_pool if planner.free(u, planner.slots[sid], "facilitator")) for sid in sids]
        return (min(able), sum(able), planner.slots[sids[0]].starts_at, cid)

    order = sorted(by_cohort, key=difficulty)
    for cid in order:
        planner.fill_cohort_facilitators(by_cohort[cid])
    planner.improve_fairness(by_cohort)
    for cid in order:
        planner.fill_creche(by_cohort[cid])
    planner.explain_gaps(ids)

    made = []
    for sid, uid, role in planner.new:
        a = RotaAssignment(session_id=sid, user_id=uid, role=role, is_auto=True,
                           assigned_by_id=getattr(actor, "id", None))
        db.add(a)
        made.append(a)
    db.flush()
    result.made = made
    result.unfilled = sorted(planner.unfilled, key=lambda u: (u.starts_at, u.session_id, u.role))
    if made:
        record(db, "rota_autofilled", audit_entity, actor=actor, at=now,
               changes={**(audit_changes or {}), "assignments": len(made),
                        "unfilled": sum(u.missing for u in result.unfilled)})
        _notify_published(db, planner, now=now, actor=actor)
    result.violations = verify(planner, current)
    result.sessions_per_person = {u: planner.load[u] for u in sorted({*planner.fac_pool, *planner.creche_pool,
                                                                        *(u for u, n in planner.load.items() if n)})}
    result.distinct_facilitators = {
        cid: len({u for sid in sids for u, r in planner.on[sid].items() if r == "facilitator"})
        for cid, sids in by_cohort.items()}
    result.elapsed_seconds = _time.perf_counter() - started
    return result


def verify(planner: Planner, current: dict[int, list[RotaAssignment]]) -> list[str]:
    """Re-check the finished rota against every hard rule, as plain sentences (forced edits excluded)."""
    forced = {(a.session_id, a.user_id) for items in current.values() for a in items if a.forced_reason}
    out = []
    for sid, people in planner.on.items():
        slot = planner.slots[sid]
        for uid, role in people.items():
            if (sid, uid) in forced:
                continue
            others = [b for b in planner.near(uid, slot.day) if b.session_id != sid]
            for v in person_violations(planner.profiles[uid], slot, role, others, planner.travel):
                out.append(f"{day_label(slot.day)} session {sid}: {v.text}")
        if not any((sid, u) in forced for u in people):
            for v in mix_violations(slot.programme, planner.fac_quals(sid), complete_only=True):
                out.append(f"{day_label(slot.day)} session {sid}: {v.text}")
    return out


def _notify_published(db: Session, planner: Planner, *, now: datetime, actor) -> None:
    by_session: dict[int, list[int]] = {}
    for sid, uid, _role in planner.new:
        if planner.slots[sid].is_published:
            by_session.setdefault(sid, []).append(uid)
    if not by_session:
        return
    for session in db.scalars(sa.select(CohortSession).where(CohortSession.id.in_(list(by_session)))):
        events.rota_changed.send(session, now=now, actor=actor, user_ids=sorted(by_session[session.id]))


def autofill_cohort(db: Session, cohort: Cohort, *, now: datetime, actor=None,
                    travel_minutes: int = DEFAULT_TRAVEL_MINUTES) -> AutofillResult:
    """Propose the rota for a cohort's sessions still to come, keeping what is already assigned."""
    slots = list(load_slots(db, where=CohortSession.cohort_id == cohort.id).values())
    return _run(db, slots, now=now, actor=actor, travel_minutes=travel_minutes, audit_entity=cohort)


def autofill_term(db: Session, start_date: date, end_date: date, *, now: datetime, actor=None,
                  travel_minutes: int = DEFAULT_TRAVEL_MINUTES) -> AutofillResult:
    """Propose the rota for every cohort's sessions on London days start_date..end_date (inclusive)."""
    if not isinstance(start_date, date):
        from app.errors import ValidationFailed

        raise ValidationFailed("Enter the first date.", "start_date")
    lo, hi = london_range(start_date, end_date)
    slots = list(load_slots(db, where=sa.and_(CohortSession.starts_at >= lo, CohortSession.starts_at < hi)).values())
    return _run(db, slots, now=now, actor=actor, travel_minutes=travel_minutes, audit_entity="Rota",
                audit_changes={"start_date": start_date, "end_date": end_date})
