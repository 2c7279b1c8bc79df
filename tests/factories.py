"""Test factories: make_<thing>(session, **overrides) with realistic defaults. They flush, never commit.

Add a factory for your feature here (append; keep each small), or in tests/<feature>/ if only it uses it.
"""
from __future__ import annotations

import itertools
from datetime import date, time

from werkzeug.security import generate_password_hash

_seq = itertools.count(1)
_PASSWORD_HASH = None


def _password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        from tests.conftest import TEST_PASSWORD

        _PASSWORD_HASH = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:1000")
    return _PASSWORD_HASH


def make_user(session, role: str = "admin", qualifications: tuple[str, ...] = (), centres=(), **overrides):
    """A staff member who can sign in with tests.conftest.TEST_PASSWORD."""
    from app.auth.models import User
    from app.staff.models import StaffCentre, StaffQualification

    n = next(_seq)
    values = {"email": f"{role}{n}@example.org", "role": role, "full_name": f"{role.title()} {n}",
              "password_hash": _password_hash()}
    values.update(overrides)
    user = User(**values)
    session.add(user)
    session.flush()
    for q in qualifications:
        session.add(StaffQualification(user_id=user.id, qualification=q))
    for c in centres:
        session.add(StaffCentre(user_id=user.id, centre_id=c.id))
    session.flush()
    return user


def make_centre(session, rooms: tuple[str, ...] = ("Main hall",), **overrides):
    """A children's centre with rooms."""
    from app.centres.models import Centre, Room

    n = next(_seq)
    values = {"name": f"Centre {n}", "address": f"{n} High Street, London", "postcode": "SW9 7QD",
              "ward": "Stockwell", "creche_capacity": 12}
    values.update(overrides)
    centre = Centre(**values)
    centre.rooms = [Room(name=r) for r in rooms]
    session.add(centre)
    session.flush()
    return centre


def make_parent(session, children: list[dict] | None = None, **overrides):
    """A parent with SMS consent and (by default) one child aged about a year."""
    from app.parents.models import Child, Parent

    n = next(_seq)
    values = {"first_name": f"Parent{n}", "last_name": "Test", "mobile": f"+4474{n:08d}", "postcode": "SW9 7QD",
              "language": "en", "sms_consent": True}
    values.update(overrides)
    parent = Parent(**values)
    for spec in children if children is not None else [{"first_name": f"Child{n}", "date_of_birth": date(2025, 9, 1)}]:
        parent.children.append(Child(**spec))
    session.add(parent)
    session.flush()
    return parent


def make_cohort(session, programme_key: str = "circle_of_security", centre=None, start_date: date = date(2026, 9, 8),
                start_time: time = time(10, 0), capacity: int = 10, **overrides):
    """A cohort with plain weekly sessions (no holiday logic: use the cohorts service to test that)."""
    from datetime import datetime as _dt, timedelta

    from app.cohorts.models import Cohort, CohortSession
    from app.timeutil import local_to_utc
    from programmes import get_programme

    programme = get_programme(programme_key)
    centre = centre or make_centre(session)
    values = {"programme_key": programme_key, "centre_id": centre.id, "room_id": centre.rooms[0].id,
              "start_date": start_date, "start_time": start_time, "duration_minutes": programme.session_minutes,
              "capacity": capacity}
    values.update(overrides)
    cohort = Cohort(**values)
    session.add(cohort)
    session.flush()
    for week in range(programme.weeks):
        starts = local_to_utc(start_date + timedelta(weeks=week), start_time)
        session.add(CohortSession(cohort_id=cohort.id, number=week + 1, room_id=cohort.room_id, starts_at=starts,
                                  ends_at=starts + timedelta(minutes=cohort.duration_minutes)))
    session.flush()
    session.refresh(cohort)
    return cohort


def make_enrolment(session, cohort=None, parent=None, status: str = "enrolled", **overrides):
    """An enrolment written directly (use the enrolment service to test its rules)."""
    from app.enrolment.models import Enrolment
    from app.timeutil import now as _now

    cohort = cohort or make_cohort(session)
    parent = parent or make_parent(session)
    values = {"cohort_id": cohort.id, "parent_id": parent.id, "status": status, "referral_source": "better_start"}
    if status == "enrolled":
        values["enrolled_at"] = _now()
    if status == "waitlisted":
        values["waitlisted_at"] = _now()
    values.update(overrides)
    enrolment = Enrolment(**values)
    session.add(enrolment)
    session.flush()
    return enrolment


def make_rota_assignment(session, cohort_session, user, role: str = "facilitator", **overrides):
    """Put a member of staff on a session's rota (written directly)."""
    from app.rota.models import RotaAssignment

    assignment = RotaAssignment(session_id=cohort_session.id, user_id=user.id, role=role, **overrides)
    session.add(assignment)
    session.flush()
    return assignment


def make_creche_booking(session, cohort_session, enrolment, child=None, status: str = "booked", **overrides):
    """A crèche place for a child at one session (written directly; the enrolment service checks ratios)."""
    from app.enrolment.models import CrecheBooking

    child = child or enrolment.parent.children[0]
    booking = CrecheBooking(session_id=cohort_session.id, child_id=child.id, enrolment_id=enrolment.id,
                            status=status, **overrides)
    session.add(booking)
    session.flush()
    return booking


def make_availability(session, user, weekdays=range(5), start=time(8, 0), end=time(18, 0)):
    """Weekly availability windows for a member of staff (default: weekdays 08:00-18:00)."""
    from app.staff.models import Availability

    for weekday in weekdays:
        session.add(Availability(user_id=user.id, weekday=weekday, start_time=start, end_time=end))
    session.flush()
    return user


def make_leave(session, user, start_date: date, end_date: date | None = None, reason: str = "Annual leave"):
    """Leave for a member of staff, inclusive dates."""
    from app.staff.models import Leave

    leave = Leave(user_id=user.id, start_date=start_date, end_date=end_date or start_date, reason=reason)
    session.add(leave)
    session.flush()
    return leave


def make_mark(session, cohort_session, enrolment, status: str = "attended", **overrides):
    """An attendance mark written directly (use the attendance service to test its rules)."""
    from app.attendance.models import AttendanceMark

    values = {"session_id": cohort_session.id, "enrolment_id": enrolment.id, "status": status,
              "marked_at": cohort_session.starts_at}
    values.update(overrides)
    mark = AttendanceMark(**values)
    session.add(mark)
    session.flush()
    return mark


def make_score(session, enrolment, measure: str, timepoint: str, value: float, **overrides):
    """An outcome score (a measure's total at the first or last session) written directly."""
    from app.outcomes.models import OutcomeScore

    score = OutcomeScore(enrolment_id=enrolment.id, measure=measure, timepoint=timepoint, value=value, **overrides)
    session.add(score)
    session.flush()
    return score
