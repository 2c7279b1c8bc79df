"""Secret calendar feed links."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import utcnow
from app.extensions import db


class CalendarToken(db.Model):
    """A secret feed link for a parent, a member of staff or a cohort; only its SHA-256 is stored."""

    __tablename__ = "calendar_tokens"
    __table_args__ = (
        sa.CheckConstraint(
            "(CASE WHEN parent_id IS NULL THEN 0 ELSE 1 END + CASE WHEN user_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN cohort_id IS NULL THEN 0 ELSE 1 END) = 1", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: hex SHA-256 of the token in the URL
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    parent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("parents.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[Optional[datetime]]

    def __repr__(self) -> str:
        return f"<CalendarToken {self.id}>"
