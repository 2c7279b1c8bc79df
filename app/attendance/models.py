"""Attendance marks and facilitators' session notes."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import TimestampMixin, enum_check
from app.extensions import db

MARK_STATUSES = ("attended", "apologies", "absent")


class AttendanceMark(TimestampMixin, db.Model):
    """A parent's attendance at one session: exactly one per enrolment and session."""

    __tablename__ = "attendance_marks"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "enrolment_id"),
        enum_check("status", MARK_STATUSES),
        # the attendance report counts each enrolment's attended marks from the index alone
        sa.Index("ix_attendance_marks_enrolment_status", "enrolment_id", "status", "session_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("cohort_sessions.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    is_late: Mapped[bool] = mapped_column(default=False)
    #: the tablet's id for the mark that set this state; replaying it changes nothing
    client_mark_id: Mapped[Optional[str]] = mapped_column(sa.String(64))
    #: when the facilitator tapped (tablet clock); the later tap wins
    marked_at: Mapped[datetime]
    marked_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: true when set by closing the register rather than by a tap
    is_auto: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<AttendanceMark s{self.session_id} e{self.enrolment_id} {self.status}>"


class SessionNote(TimestampMixin, db.Model):
    """A facilitator's short note about a session; staff only."""

    __tablename__ = "session_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("cohort_sessions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        return f"<SessionNote {self.id} s{self.session_id}>"


class MarkReceipt(db.Model):
    """Every tap a tablet sent, once: replaying the same client_mark_id is recognised and changes nothing.

    A tap older than the stored mark is kept here (outcome "stale") as well as in the audit trail.
    """

    __tablename__ = "mark_receipts"
    __table_args__ = (
        sa.UniqueConstraint("client_mark_id"),
        enum_check("outcome", ("applied", "stale")),
        enum_check("status", MARK_STATUSES),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the tablet's id for one tap (a UUID)
    client_mark_id: Mapped[str] = mapped_column(sa.String(64))
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("cohort_sessions.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20))
    is_late: Mapped[bool] = mapped_column(default=False)
    #: the tablet's time of the tap
    marked_at: Mapped[datetime]
    #: when the server received it
    received_at: Mapped[datetime]
    #: applied (it set the mark) or stale (an older tap than the stored mark)
    outcome: Mapped[str] = mapped_column(sa.String(10))
    received_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<MarkReceipt {self.client_mark_id} {self.outcome}>"
