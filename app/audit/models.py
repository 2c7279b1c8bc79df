"""The audit trail: who changed what about a person, and when."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import db


class AuditEvent(db.Model):
    """One create, change or delete; free-text fields record only that they changed."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: create, update, delete, or a domain verb (enrol, withdraw, mark, erase, export...)
    action: Mapped[str] = mapped_column(sa.String(30))
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[Optional[int]]
    #: the parent the event is about, so a person's whole trail is one query
    parent_id: Mapped[Optional[int]] = mapped_column(index=True)
    #: {"field": [old, new]}
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.entity_type}:{self.entity_id}>"
