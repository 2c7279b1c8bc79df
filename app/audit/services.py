"""Recording the audit trail. Every change to a person's record goes through record() or record_changes()."""
from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any, Iterable

import sqlalchemy as sa
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent

#: free-text fields: the trail records that they changed, never what they say
FREE_TEXT_FIELDS = frozenset({"body", "outcome_note", "note", "notes", "withdrawal_reason", "reason",
                              "cancel_reason", "eligibility_override_reason", "summary"})


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def record(db: Session, action: str, entity: Any, *, actor=None, parent_id: int | None = None,
           changes: dict[str, Any] | None = None, at: datetime | None = None) -> AuditEvent:
    """Add one audit event about a model instance (flushes nothing; the caller's commit keeps it)."""
    event = AuditEvent(
        action=action,
        entity_type=type(entity).__name__ if not isinstance(entity, str) else entity,
        entity_id=getattr(entity, "id", None),
        actor_id=getattr(actor, "id", actor if isinstance(actor, int) else None),
        parent_id=parent_id,
        changes={k: [_plain(v[0]), _plain(v[1])] if isinstance(v, (list, tuple)) and len(v) == 2 else _plain(v)
                 for k, v in (changes or {}).items()},
    )
    if at is not None:
        event.at = at
    db.add(event)
    return event


def record_now(db: Session, action: str, entity: Any, *, actor=None, parent_id: int | None = None,
               changes: dict[str, Any] | None = None, at: datetime) -> None:
    """What record() adds, written at once with one prebuilt INSERT (no flush): for the busiest paths."""
    db.connection().execute(_insert_statement(), {
        "at": at, "actor_id": getattr(actor, "id", actor if isinstance(actor, int) else None), "action": action,
        "entity_type": type(entity).__name__ if not isinstance(entity, str) else entity,
        "entity_id": getattr(entity, "id", None), "parent_id": parent_id,
        "changes": {k: [_plain(v[0]), _plain(v[1])] if isinstance(v, (list, tuple)) and len(v) == 2 else _plain(v)
                    for k, v in (changes or {}).items()}})


@cache
def _insert_statement() -> sa.Insert:
    table = AuditEvent.__table__
    return table.insert().values({c: sa.bindparam(c.key, type_=c.type) for c in table.c if c.key != "id"})


def changes_between(entity: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Field -> [old, new] for the values that differ from the instance's, as record_changes() gives them."""
    out: dict[str, list[Any]] = {}
    for key, new in values.items():
        old = getattr(entity, key)
        if old == new:
            continue
        out[key] = ["(changed)", "(changed)"] if key in FREE_TEXT_FIELDS else [_plain(old), _plain(new)]
    return out


def pending_changes(entity: Any, fields: Iterable[str] | None = None) -> dict[str, list[Any]]:
    """Field -> [old, new] for an instance's unflushed attribute changes (free text: [\"changed\"])."""
    state = inspect(entity)
    out: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        if fields is not None and attr.key not in fields:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        if attr.key in FREE_TEXT_FIELDS:
            out[attr.key] = ["(changed)", "(changed)"]
        else:
            out[attr.key] = [_plain(old), _plain(new)]
    return out


def record_changes(db: Session, entity: Any, *, actor=None, parent_id: int | None = None,
                   at: datetime | None = None, action: str = "update") -> AuditEvent | None:
    """Audit an instance's pending changes, if any; call before flush."""
    changes = pending_changes(entity)
    if not changes:
        return None
    return record(db, action, entity, actor=actor, parent_id=parent_id, changes=changes, at=at)
