"""Outcome measures entered at the first and last session."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import enum_check, utcnow
from app.extensions import db

TIMEPOINTS = ("first", "last")


class OutcomeScore(db.Model):
    """A total score on one measure (named in the programme file) at the first or last session."""

    __tablename__ = "outcome_scores"
    __table_args__ = (sa.UniqueConstraint("enrolment_id", "measure", "timepoint"), enum_check("timepoint", TIMEPOINTS))

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    measure: Mapped[str] = mapped_column(sa.String(40))
    timepoint: Mapped[str] = mapped_column(sa.String(10))
    value: Mapped[float]
    entered_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<OutcomeScore e{self.enrolment_id} {self.measure} {self.timepoint}>"
