"""A small, complete world of rows for walking every route: one of everything, every role in scope.

Each role's user is attached to the rows the way the service scopes access: the facilitator
is on the rota of every session, the worker works at the centre and is the family's worker
and the follow-up's assignee. So a 403 for a role the permission table allows is a bug, not
a scoping side effect. URL parameters are filled from ``ids`` by name.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

from tests import factories

ROLES = ("admin", "facilitator", "worker", "commissioner")


@dataclass
class World:
    users: dict[str, object]
    ids: dict[str, object] = field(default_factory=dict)


def _maybe(module: str, name: str):
    from importlib import import_module

    try:
        return getattr(import_module(module), name)
    except (ModuleNotFoundError, AttributeError):
        return None


def build_world(session, *, parent_overrides: dict | None = None) -> World:
    """Create one of everything and commit it."""
    from app.centres.models import ClosureDay
    from app.rota.models import RotaAssignment

    centre = factories.make_centre(session, creche_capacity=12)
    users = {
        "admin": factories.make_user(session, role="admin"),
        "facilitator": factories.make_user(session, role="facilitator", qualifications=("clinical", "cosp"),
                                           centres=[centre]),
        "worker": factories.make_user(session, role="worker", qualifications=("better_start",), centres=[centre]),
        "commissioner": factories.make_user(session, role="commissioner"),
    }
    spare = factories.make_user(session, role="facilitator", qualifications=("cosp",), centres=[centre])
    cohort = factories.make_cohort(session, centre=centre, capacity=10)
    parent = factories.make_parent(session, worker_id=users["worker"].id, centre_id=centre.id,
                                   **(parent_overrides or {}))
    child = parent.children[0]
    enrolment = factories.make_enrolment(session, cohort=cohort, parent=parent)
    first = cohort.sessions[0]
    for s in cohort.sessions:
        session.add(RotaAssignment(session_id=s.id, user_id=users["facilitator"].id, role="facilitator"))
    closure = ClosureDay(centre_id=centre.id, closure_date=date(2026, 12, 24), reason="Christmas Eve")
    session.add(closure)
    from app.enrolment.models import CrecheBooking

    booking = CrecheBooking(session_id=first.id, child_id=child.id, enrolment_id=enrolment.id, status="booked")
    session.add(booking)
    ids: dict[str, object] = {
        "centre_id": centre.id, "cohort_id": cohort.id, "session_id": first.id, "parent_id": parent.id,
        "child_id": child.id, "enrolment_id": enrolment.id, "closure_id": None, "booking_id": None,
        "user_id": spare.id, "room_id": centre.rooms[0].id, "token": "1", "filename": "css/app.css",
    }
    FollowUp = _maybe("app.followups.models", "FollowUp")
    if FollowUp is not None:
        followup = FollowUp(kind="missed_session", parent_id=parent.id, enrolment_id=enrolment.id,
                            session_id=first.id, assigned_to_id=users["worker"].id,
                            due_date=date(2026, 9, 9), summary="Missed session 1")
        session.add(followup)
        session.flush()
        ids["followup_id"] = ids["follow_up_id"] = followup.id
    Outbox = _maybe("app.messaging.models", "OutboxMessage")
    if Outbox is not None:
        message = Outbox(kind="reminder", parent_id=parent.id, cohort_id=cohort.id, session_id=first.id,
                         enrolment_id=enrolment.id, to_number=parent.mobile or "+447400000000",
                         body="Reminder: your group is on Tuesday.", send_after=datetime(2026, 9, 7, 9, tzinfo=timezone.utc),
                         dedupe_key=f"test:{parent.id}")
        session.add(message)
        session.flush()
        ids["message_id"] = message.id
    Token = _maybe("app.calendar.models", "CalendarToken")
    if Token is not None:
        token = Token(token_hash=hashlib.sha256(f"world-{parent.id}".encode()).hexdigest(), parent_id=parent.id)
        session.add(token)
    Score = _maybe("app.outcomes.models", "OutcomeScore")
    if Score is not None:
        session.add(Score(enrolment_id=enrolment.id, measure="mors", timepoint="first", value=30))
    session.flush()
    ids["closure_id"] = closure.id
    ids["booking_id"] = booking.id
    session.commit()
    return World(users=users, ids=ids)


_NOUNS = {"parents": "parent_id", "cohorts": "cohort_id", "sessions": "session_id", "enrolments": "enrolment_id",
          "centres": "centre_id", "closures": "closure_id", "users": "user_id", "staff": "user_id",
          "follow-ups": "followup_id", "followups": "followup_id", "children": "child_id", "creche": "booking_id",
          "messages": "message_id", "rooms": "room_id"}


def fill(rule, ids: dict[str, object]) -> str:
    """A URL for the rule with every parameter taken from real rows (1 when nothing fits)."""
    values = {}
    segments = [s for s in rule.rule.split("/") if s]
    for name in rule.arguments:
        value = ids.get(name)
        if value is None and name == "id":
            # /things/<int:id>: the noun before the parameter says which row
            for i, seg in enumerate(segments):
                if f"<" in seg and re.search(rf"\b{name}>", seg) and i:
                    value = ids.get(_NOUNS.get(segments[i - 1], ""))
        if value is None and name.endswith("_id"):
            value = ids.get(name.replace("_", "")) or ids.get(name[:-3] + "_id")
        values[name] = 1 if value is None else value
    return rule.build(values, append_unknown=False)[1]


def methods(rule) -> list[str]:
    """The methods to try on a rule, GET first."""
    ms = sorted(rule.methods - {"HEAD", "OPTIONS"})
    return sorted(ms, key=lambda m: (m != "GET", m))


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def day(n: int) -> date:
    return date(2026, 9, 1) + timedelta(days=n)
