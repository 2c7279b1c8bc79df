"""Cohorts of a programme at a centre, their sessions, and the record of schedule changes."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import TimestampMixin, enum_check, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.centres.models import Centre, Room

COHORT_STATUSES = ("active", "cancelled")
SESSION_STATUSES = ("scheduled", "cancelled")
CHANGE_KINDS = ("created", "moved", "cancelled", "catch_up_added", "cohort_cancelled", "room_changed")


class Cohort(TimestampMixin, db.Model):
    """One run of a programme at a centre: a weekly series of sessions with family places."""

    __tablename__ = "cohorts"
    __table_args__ = (
        enum_check("status", COHORT_STATUSES),
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: key of a file in programmes/
    programme_key: Mapped[str] = mapped_column(sa.String(40), index=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id"), index=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id"), index=True)
    #: the first session's London date and wall-clock time; later weeks keep the same local time
    start_date: Mapped[date]
    start_time: Mapped[time]
    duration_minutes: Mapped[int]
    #: family places
    capacity: Mapped[int]
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    cancel_reason: Mapped[Optional[str]] = mapped_column(sa.String(300))
    #: when the coordinator published the rota; later changes notify the staff affected
    rota_published_at: Mapped[Optional[datetime]]
    #: bumped on every change, for optimistic concurrency (409 on a stale update)
    version: Mapped[int] = mapped_column(default=1)

    centre: Mapped["Centre"] = relationship()
    room: Mapped["Room"] = relationship()
    sessions: Mapped[list["CohortSession"]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan", order_by="CohortSession.starts_at")

    @property
    def programme(self):
        from programmes import get_programme

        return get_programme(self.programme_key)

    @property
    def programme_name(self) -> str:
        """The programme's name, or its key if its file has gone since."""
        from programmes import programme_name

        return programme_name(self.programme_key)

    def __repr__(self) -> str:
        return f"<Cohort {self.id} {self.programme_key} {self.start_date}>"


class CohortSession(db.Model):
    """One weekly meeting of a cohort."""

    __tablename__ = "cohort_sessions"
    __table_args__ = (
        enum_check("status", SESSION_STATUSES),
        sa.CheckConstraint("ends_at > starts_at", name="time_order"),
        sa.UniqueConstraint("cohort_id", "number"),
        sa.Index("ix_cohort_sessions_room_time", "room_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    #: 1-based position in the series (catch-up sessions continue the numbering)
    number: Mapped[int]
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("rooms.id"))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(20), default="scheduled")
    cancel_reason: Mapped[Optional[str]] = mapped_column(sa.String(300))
    is_catch_up: Mapped[bool] = mapped_column(default=False)
    #: iCalendar SEQUENCE: goes up whenever the time or status changes
    sequence: Mapped[int] = mapped_column(default=0)
    #: when a facilitator confirmed the register; unmarked parents then count as not here
    register_closed_at: Mapped[Optional[datetime]]
    register_closed_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: set once the "register still open" flag has been raised
    register_overdue_flagged_at: Mapped[Optional[datetime]]

    cohort: Mapped[Cohort] = relationship(back_populates="sessions")
    room: Mapped["Room"] = relationship()

    def __repr__(self) -> str:
        return f"<CohortSession {self.id} c{self.cohort_id}#{self.number} {self.status}>"


class ScheduleChange(db.Model):
    """A change to the plan, kept for the record and as the hook for notices.

    The messaging and calendar features act on rows whose ``notified_at`` is empty;
    scheduling code never sends anything itself.
    """

    __tablename__ = "schedule_changes"
    __table_args__ = (enum_check("kind", CHANGE_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("cohort_sessions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(30))
    old_starts_at: Mapped[Optional[datetime]]
    new_starts_at: Mapped[Optional[datetime]]
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    by_user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the notices for this change were queued
    notified_at: Mapped[Optional[datetime]] = mapped_column(index=True)

    def __repr__(self) -> str:
        return f"<ScheduleChange {self.id} {self.kind}>"
