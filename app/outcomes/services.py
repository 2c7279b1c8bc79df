"""Outcome scores: totals on the programme's measures, entered by a facilitator at the first and last session."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.attendance.models import AttendanceMark
from app.audit.services import record
from app.auth.permissions import is_admin
from app.cohorts.models import Cohort, CohortSession
from app.enrolment.models import Enrolment
from app.errors import NotFound, PermissionDenied, ValidationFailed
from app.outcomes.models import OutcomeScore
from app.parents.models import Parent
from programmes import OutcomeMeasure, get_programme


def timepoint_bounds(cohort_id) -> tuple:
    """SQL for the ids of a cohort's first and last scheduled sessions (to read beside a session)."""
    other = CohortSession.__table__.alias("timepoint_session")
    held = sa.select(other.c.id).where(other.c.cohort_id == cohort_id, other.c.status == "scheduled")
    first = held.order_by(other.c.starts_at, other.c.number).limit(1).scalar_subquery()
    last = held.order_by(other.c.starts_at.desc(), other.c.number.desc()).limit(1).scalar_subquery()
    return first, last


def timepoint_from(session_id: int, status: str, first_id: int | None, last_id: int | None) -> str | None:
    """"first" for the cohort's first scheduled session, "last" for its last one, otherwise None."""
    if status != "scheduled" or first_id is None:
        return None
    if session_id == first_id:
        return "first"
    if session_id == last_id:
        return "last"
    return None


def timepoint_of(session, cs: CohortSession) -> str | None:
    """"first" for the cohort's first scheduled session, "last" for its last one, otherwise None."""
    first, last = timepoint_bounds(cs.cohort_id)
    first_id, last_id = session.execute(sa.select(first, last)).one()
    return timepoint_from(cs.id, cs.status, first_id, last_id)


def may_enter(session, cs: CohortSession, user) -> bool:
    """Admins may enter scores for any session; a facilitator for sessions of a cohort they are on the rota for."""
    if is_admin(user):
        return True
    from app.rota.models import RotaAssignment

    return bool(session.scalar(
        sa.select(sa.func.count()).select_from(RotaAssignment).join(CohortSession,
                                                                     CohortSession.id == RotaAssignment.session_id)
        .where(RotaAssignment.user_id == user.id, CohortSession.cohort_id == cs.cohort_id)))


@dataclass
class SheetRow:
    enrolment: Enrolment
    parent: Parent
    #: measure key -> stored value (or None)
    scores: dict[str, float | None]


@dataclass
class OutcomeSheet:
    session: CohortSession
    cohort: Cohort
    timepoint: str
    measures: tuple[OutcomeMeasure, ...]
    rows: list[SheetRow]


def outcome_sheet(session, session_id: int, *, actor) -> OutcomeSheet:
    """The parents of a first or last session and their scores at that point (three queries)."""
    cs = session.get(CohortSession, session_id)
    if cs is None:
        raise NotFound("No such session", "session_id")
    if actor is not None and not may_enter(session, cs, actor):
        raise PermissionDenied("You are not on the rota for this group")
    timepoint = timepoint_of(session, cs)
    if timepoint is None:
        raise ValidationFailed("Outcome scores are entered at the first and the last session of a group only",
                               "session_id")
    cohort = cs.cohort
    measures = get_programme(cohort.programme_key).outcome_measures
    has_mark = sa.exists().where(AttendanceMark.enrolment_id == Enrolment.id, AttendanceMark.session_id == cs.id)
    has_score = sa.exists().where(OutcomeScore.enrolment_id == Enrolment.id, OutcomeScore.timepoint == timepoint)
    people = session.execute(
        sa.select(Enrolment, Parent).join(Parent, Parent.id == Enrolment.parent_id)
        .where(Enrolment.cohort_id == cohort.id, sa.or_(Enrolment.status == "enrolled", has_mark, has_score))
        .order_by(Parent.last_name, Parent.first_name, Enrolment.id)).all()
    stored = {(s.enrolment_id, s.measure): s.value for s in session.scalars(
        sa.select(OutcomeScore).join(Enrolment, Enrolment.id == OutcomeScore.enrolment_id)
        .where(Enrolment.cohort_id == cohort.id, OutcomeScore.timepoint == timepoint))}
    rows = [SheetRow(e, p, {m.key: stored.get((e.id, m.key)) for m in measures}) for e, p in people]
    return OutcomeSheet(cs, cohort, timepoint, measures, rows)


def field_name(enrolment_id: int, measure: str) -> str:
    """The form field (and error key) of one parent's score on one measure."""
    return f"e{enrolment_id}_{measure}"


def parse_score(text: str | None, measure: OutcomeMeasure) -> float | None:
    """A typed score: None when blank; ValueError with a message when not a number within the measure's range."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"Enter the {measure.name} as a number, like {_fmt(measure.min)}") from None
    if not math.isfinite(value):
        raise ValueError(f"Enter the {measure.name} as a number, like {_fmt(measure.min)}")
    if not measure.min <= value <= measure.max:
        raise ValueError(f"The {measure.name} must be between {_fmt(measure.min)} and {_fmt(measure.max)}")
    return value


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def save_scores(session, sheet: OutcomeSheet, typed: dict[str, str | None], *, now: datetime, actor) -> int:
    """Store the typed scores (blank removes a score); every field is checked first. Returns how many changed.

    Raises ValidationFailed naming each bad field, and then changes nothing.
    """
    errors: dict[str, list[str]] = {}
    wanted: dict[tuple[int, str], float | None] = {}
    for row in sheet.rows:
        for m in sheet.measures:
            name = field_name(row.enrolment.id, m.key)
            try:
                wanted[(row.enrolment.id, m.key)] = parse_score(typed.get(name), m)
            except ValueError as exc:
                errors[name] = [str(exc)]
    if errors:
        raise ValidationFailed("Some scores are not valid", fields=errors)
    existing = {(s.enrolment_id, s.measure): s for s in session.scalars(
        sa.select(OutcomeScore).where(OutcomeScore.enrolment_id.in_([r.enrolment.id for r in sheet.rows] or [0]),
                                      OutcomeScore.timepoint == sheet.timepoint))}
    parents = {r.enrolment.id: r.parent.id for r in sheet.rows}
    changed = 0
    for (enrolment_id, measure), value in wanted.items():
        score = existing.get((enrolment_id, measure))
        common = {"measure": measure, "timepoint": sheet.timepoint}
        if value is None:
            if score is not None:
                record(session, "delete", score, actor=actor, parent_id=parents[enrolment_id], at=now,
                       changes={**common, "value": [score.value, None]})
                session.delete(score)
                changed += 1
        elif score is None:
            score = OutcomeScore(enrolment_id=enrolment_id, measure=measure, timepoint=sheet.timepoint, value=value,
                                 entered_by_id=getattr(actor, "id", None), entered_at=now)
            session.add(score)
            session.flush()
            record(session, "create", score, actor=actor, parent_id=parents[enrolment_id], at=now,
                   changes={**common, "value": [None, value]})
            changed += 1
        elif score.value != value:
            record(session, "update", score, actor=actor, parent_id=parents[enrolment_id], at=now,
                   changes={**common, "value": [score.value, value]})
            score.value = value
            score.entered_by_id = getattr(actor, "id", None)
            score.entered_at = now
            changed += 1
    session.flush()
    return changed
