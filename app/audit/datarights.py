"""A parent's data rights: everything held about them (subject access), and erasure on request.

Erasure anonymises rather than deletes: the parent's and their children's rows stay, with
names, contact details and free text removed, so enrolments, attendance marks, outcome
scores and every count made from them stay as they were and past reports do not change.
What cannot be counted and only identifies them is deleted: calendar links, queued
messages and pending calendar invitations.
"""
from __future__ import annotations

from datetime import date, datetime
from importlib import import_module
from typing import Any

import sqlalchemy as sa
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.audit.services import record
from app.errors import Conflict, ValidationFailed
from app.timeutil import isoformat

EXPORT_FORMAT = "groupwork-subject-access/1"
ERASED = "(erased)"
#: column names never exported: secrets, whose value opens something
SECRET_COLUMNS = frozenset({"token_hash", "nonce", "password_hash", "provider_sid", "dedupe_key"})
#: change values in the audit trail that are personal: replaced by ERASED on erasure
PERSONAL_AUDIT_FIELDS = frozenset({"first_name", "last_name", "mobile", "email", "address", "postcode",
                                   "date_of_birth", "due_date", "collected_by", "from_number", "to_number",
                                   "body", "mobile_problem", "name", "full_name", "outcome_note", "summary",
                                   "withdrawal_reason", "eligibility_override_reason", "note", "notes"})


def _model(path: str):
    """A model class by 'module:Name', or None when that feature is not installed."""
    module_name, _, name = path.partition(":")
    try:
        return getattr(import_module(module_name), name, None)
    except ModuleNotFoundError:
        return None


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return isoformat(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, dict)):
        return value
    return str(value)


def row_dict(row: Any, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Every column of a row, as JSON-ready values, without secrets."""
    mapper = sa_inspect(type(row))
    return {attr.key: _value(getattr(row, attr.key)) for attr in mapper.column_attrs
            if attr.key not in SECRET_COLUMNS and attr.key not in exclude}


def _children_of(db: Session, parent) -> list:
    return list(parent.children)


def _rows(db: Session, model_path: str, *where_builders) -> list:
    model = _model(model_path)
    if model is None:
        return []
    clauses = [build(model) for build in where_builders]
    return list(db.scalars(sa.select(model).where(*clauses).order_by(model.id)))


def collect(db: Session, parent) -> dict[str, list]:
    """Every row held about a parent, by kind (model instances)."""
    from app.enrolment.models import CrecheBooking, Enrolment

    enrolments = list(db.scalars(sa.select(Enrolment).where(Enrolment.parent_id == parent.id).order_by(Enrolment.id)))
    enrolment_ids = [e.id for e in enrolments]
    child_ids = [c.id for c in parent.children]
    out: dict[str, list] = {
        "children": _children_of(db, parent),
        "enrolments": enrolments,
        "creche_bookings": list(db.scalars(sa.select(CrecheBooking).where(
            sa.or_(CrecheBooking.enrolment_id.in_(enrolment_ids or [-1]), CrecheBooking.child_id.in_(child_ids or [-1]))
        ).order_by(CrecheBooking.id))),
        "attendance_marks": _rows(db, "app.attendance.models:AttendanceMark",
                                  lambda m: m.enrolment_id.in_(enrolment_ids or [-1])),
        "outcome_scores": _rows(db, "app.outcomes.models:OutcomeScore",
                                lambda m: m.enrolment_id.in_(enrolment_ids or [-1])),
        "follow_ups": _rows(db, "app.followups.models:FollowUp",
                            lambda m: sa.or_(m.parent_id == parent.id, m.enrolment_id.in_(enrolment_ids or [-1]))),
        "messages_sent": _rows(db, "app.messaging.models:OutboxMessage", lambda m: m.parent_id == parent.id),
        "messages_received": _rows(db, "app.messaging.models:InboundMessage", lambda m: m.parent_id == parent.id),
        "calendar_links": _rows(db, "app.calendar.models:CalendarToken", lambda m: m.parent_id == parent.id),
        "calendar_invites": _rows(db, "app.calendar.models:CalendarInvite", lambda m: m.parent_id == parent.id),
        "audit_trail": trail(db, parent.id),
    }
    return out


def trail(db: Session, parent_id: int) -> list[AuditEvent]:
    """The audit events about a parent (and their children), oldest first."""
    from app.parents.models import parent_children

    child_ids = sa.select(parent_children.c.child_id).where(parent_children.c.parent_id == parent_id)
    return list(db.scalars(sa.select(AuditEvent).where(sa.or_(
        AuditEvent.parent_id == parent_id,
        sa.and_(AuditEvent.entity_type == "Parent", AuditEvent.entity_id == parent_id),
        sa.and_(AuditEvent.entity_type == "Child", AuditEvent.entity_id.in_(child_ids)),
    )).order_by(AuditEvent.at, AuditEvent.id)))


def _enrolment_context(enrolment) -> dict[str, Any]:
    cohort = enrolment.cohort
    out = row_dict(enrolment)
    out["cohort"] = {"id": cohort.id, "programme": cohort.programme_key,
                     "programme_name": cohort.programme_name,
                     "centre": cohort.centre.name if cohort.centre else None,
                     "start_date": cohort.start_date.isoformat(), "status": cohort.status}
    return out


def export_parent(db: Session, parent, *, now: datetime, actor=None) -> dict[str, Any]:
    """Everything held about a parent, as JSON-ready data, and an audit event saying it was exported."""
    rows = collect(db, parent)
    actors = {}
    for event in rows["audit_trail"]:
        if event.actor_id and event.actor_id not in actors:
            from app.auth.models import User

            user = db.get(User, event.actor_id)
            actors[event.actor_id] = user.role if user else None
    data: dict[str, Any] = {
        "export": {"format": EXPORT_FORMAT, "generated_at": isoformat(now), "parent_id": parent.id,
                   "notes": ["Staff are named by role only.",
                             "Session notes are about a group session, not one family, and are not included; "
                             "ask the coordinator if a note about you may exist."]},
        "parent": row_dict(parent),
        "children": [row_dict(c) for c in rows["children"]],
        "enrolments": [_enrolment_context(e) for e in rows["enrolments"]],
    }
    for key in ("creche_bookings", "attendance_marks", "outcome_scores", "follow_ups", "messages_sent",
                "messages_received", "calendar_invites"):
        data[key] = [row_dict(r) for r in rows[key]]
    data["calendar_links"] = [row_dict(r, exclude=frozenset({"parent_id", "user_id", "cohort_id"}))
                              for r in rows["calendar_links"]]
    data["audit_trail"] = [
        {"at": isoformat(e.at), "action": e.action, "entity_type": e.entity_type, "entity_id": e.entity_id,
         "by_role": actors.get(e.actor_id), "changes": e.changes}
        for e in rows["audit_trail"]
    ]
    record(db, "export", parent, actor=actor, parent_id=parent.id, at=now)
    db.flush()
    return data


SECTION_TITLES = (
    ("children", "Children"), ("enrolments", "Groups (enrolments)"), ("attendance_marks", "Attendance"),
    ("creche_bookings", "Crèche bookings"), ("outcome_scores", "Questionnaire scores"),
    ("follow_ups", "Follow-up calls and tasks"), ("messages_sent", "Text messages sent"),
    ("messages_received", "Text messages received"), ("calendar_links", "Calendar links"),
    ("calendar_invites", "Calendar invitations"), ("audit_trail", "Record of changes"),
)


def text_summary(data: dict[str, Any]) -> str:
    """A plain-text summary of an export, readable without a computer's help."""
    lines = [f"Information held by Groupwork about parent {data['parent']['id']}",
             f"Produced {data['export']['generated_at']}", ""]

    def block(title: str, mapping: dict[str, Any]) -> None:
        lines.append(title)
        lines.append("-" * len(title))
        for key, value in mapping.items():
            if key in {"changes"} and isinstance(value, dict):
                value = "; ".join(f"{k}: {v}" for k, v in value.items())
            lines.append(f"  {key.replace('_', ' ')}: {'' if value is None else value}")
        lines.append("")

    block("About you", data["parent"])
    for key, title in SECTION_TITLES:
        items = data.get(key) or []
        lines.append(f"{title}: {len(items)}")
        lines.append("")
        for n, item in enumerate(items, 1):
            flat = {k: v for k, v in item.items() if not isinstance(v, dict) or k == "changes"}
            if isinstance(item.get("cohort"), dict):
                flat = {**{f"group {k}": v for k, v in item["cohort"].items()}, **flat}
            block(f"{title} {n}", flat)
    lines.extend(data["export"]["notes"])
    return "\n".join(lines) + "\n"


def _area_only(db: Session, postcode: str | None) -> str:
    """A postcode that keeps only the area: another postcode of the same ward, or the district (outward code).

    Reports count families by ward through the postcode, so an erased family keeps counting
    in the same ward while its own postcode is gone.
    """
    if not postcode:
        return ""
    from app.eligibility.models import WardPostcode

    ward_id = db.scalar(sa.select(WardPostcode.ward_id).where(WardPostcode.postcode == postcode))
    if ward_id is not None:
        other = db.scalar(sa.select(sa.func.min(WardPostcode.postcode)).where(
            WardPostcode.ward_id == ward_id, WardPostcode.postcode != postcode))
        if other:
            return other
    return postcode.split(" ")[0][:4]


def _first_of_month(day: date | None) -> date | None:
    return day.replace(day=1) if day else None


def erase_parent(db: Session, parent, *, reason: str, now: datetime, actor=None) -> dict[str, int]:
    """Anonymise a parent (and children no one else cares for), keeping rows so counts do not change.

    Names, contact details, the address and free text are removed; the postcode is replaced by
    the first postcode listed for the same ward (or cut to its district), dates of birth to the
    first of the month, so wards, age bands and every count stay as they were. Calendar links, queued messages and pending invitations are deleted.
    Personal values in the audit trail are replaced by "(erased)"; who did what and when stays.
    Raises ValidationFailed (reason) without a reason and Conflict (parent_id) if already erased.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the record is being erased (for example: the parent asked on 3 May).",
                               "reason")
    if len(reason) > 300:
        raise ValidationFailed("Keep the reason to 300 characters or fewer.", "reason")
    if parent.erased_at is not None:
        raise Conflict("This parent's record has already been erased.", "parent_id")
    rows = collect(db, parent)
    counts = {"children": 0, "messages_deleted": 0, "calendar_links_deleted": 0, "invites_deleted": 0,
              "notes_cleared": 0, "audit_events_scrubbed": 0}

    parent.first_name = "Erased"
    parent.last_name = "parent"
    parent.mobile = None
    parent.mobile_problem = None
    parent.email = None
    parent.address = ""
    parent.postcode = _area_only(db, parent.postcode)
    parent.sms_consent = False
    parent.email_consent = False
    parent.erased_at = now

    erased_child_ids = []
    for child in rows["children"]:
        others = [c for c in child.carers if c.id != parent.id and c.erased_at is None]
        if others:
            continue  # another carer's record still needs the child
        child.first_name = "Erased"
        child.date_of_birth = _first_of_month(child.date_of_birth)
        child.due_date = _first_of_month(child.due_date)
        erased_child_ids.append(child.id)
        counts["children"] += 1

    for enrolment in rows["enrolments"]:
        if enrolment.withdrawal_reason is not None:
            enrolment.withdrawal_reason = ERASED  # withdrawn rows must keep a reason
        if enrolment.eligibility_override_reason is not None:
            enrolment.eligibility_override_reason = ERASED
    for booking in rows["creche_bookings"]:
        booking.collected_by = None
    for follow_up in rows["follow_ups"]:
        if follow_up.outcome_note or follow_up.summary:
            counts["notes_cleared"] += 1
        follow_up.outcome_note = None
        follow_up.summary = ""
    for message in rows["messages_sent"]:
        if message.status == "queued":
            db.delete(message)
            counts["messages_deleted"] += 1
        else:
            message.body = ERASED
            message.to_number = ""
    for message in rows["messages_received"]:
        message.body = ""
        message.from_number = ""
    for link in rows["calendar_links"]:
        db.delete(link)
        counts["calendar_links_deleted"] += 1
    for invite in rows["calendar_invites"]:
        if invite.status in ("pending", "failed"):
            db.delete(invite)
            counts["invites_deleted"] += 1

    for event in rows["audit_trail"]:
        if event.entity_type == "Child" and event.entity_id not in erased_child_ids and event.parent_id != parent.id:
            continue
        scrubbed = {key: ([ERASED, ERASED] if isinstance(value, list) else ERASED)
                    if key in PERSONAL_AUDIT_FIELDS else value for key, value in (event.changes or {}).items()}
        if scrubbed != event.changes:
            event.changes = scrubbed
            counts["audit_events_scrubbed"] += 1

    record(db, "erase", parent, actor=actor, parent_id=parent.id, at=now,
           changes={"reason": reason, **{k: v for k, v in counts.items() if v}})
    db.flush()
    return counts
