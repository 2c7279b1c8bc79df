"""What the rota needs to know about staff: qualifications, centres, availability and leave."""
from __future__ import annotations

from datetime import date, time
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import enum_check
from app.extensions import db
from programmes import QUALIFICATIONS


class StaffQualification(db.Model):
    """One qualification a member of staff holds (clinical, cosp, better_start, creche)."""

    __tablename__ = "staff_qualifications"
    __table_args__ = (enum_check("qualification", QUALIFICATIONS),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    qualification: Mapped[str] = mapped_column(sa.String(20), primary_key=True)

    def __repr__(self) -> str:
        return f"<StaffQualification {self.user_id} {self.qualification}>"


class StaffCentre(db.Model):
    """A centre a member of staff works at; workers see the families of their centres."""

    __tablename__ = "staff_centres"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True)
    #: a preferred centre is favoured by the rota auto-fill
    is_preferred: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<StaffCentre {self.user_id}@{self.centre_id}>"


class Availability(db.Model):
    """A weekly window when a member of staff can work (local time)."""

    __tablename__ = "staff_availability"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("end_time > start_time", name="window_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: 0 = Monday ... 6 = Sunday
    weekday: Mapped[int]
    start_time: Mapped[time]
    end_time: Mapped[time]

    def __repr__(self) -> str:
        return f"<Availability {self.user_id} d{self.weekday} {self.start_time}-{self.end_time}>"


class Leave(db.Model):
    """Leave or one-off unavailability, inclusive dates."""

    __tablename__ = "staff_leave"
    __table_args__ = (sa.CheckConstraint("end_date >= start_date", name="date_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")

    def __repr__(self) -> str:
        return f"<Leave {self.user_id} {self.start_date}..{self.end_date}>"


QUALIFICATION_LABELS = {
    "clinical": "Clinically trained (psychotherapist, clinical psychologist)",
    "cosp": "Trained Circle of Security Parenting facilitator",
    "better_start": "Better Start worker",
    "creche": "Crèche worker",
}
