"""Who works each session: facilitators and crèche workers."""
from __future__ import annotations

from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import TimestampMixin, enum_check
from app.extensions import db

ROTA_ROLES = ("facilitator", "creche")


class RotaAssignment(TimestampMixin, db.Model):
    """One person on one session, in one role; nobody twice on a session."""

    __tablename__ = "rota_assignments"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "user_id"),
        enum_check("role", ROTA_ROLES),
        sa.Index("ix_rota_assignments_user", "user_id", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("cohort_sessions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(20))
    #: an admin's reason for overriding a hard rule
    forced_reason: Mapped[Optional[str]] = mapped_column(sa.String(300))
    assigned_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: proposed by auto-fill rather than chosen by a person
    is_auto: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<RotaAssignment s{self.session_id} u{self.user_id} {self.role}>"
