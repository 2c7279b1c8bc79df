"""Enrolments of parents into cohorts, with the waiting list, and crèche bookings."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import TimestampMixin, enum_check
from app.extensions import db
from app.parents.choices import REFERRAL_SOURCES, values

if TYPE_CHECKING:
    from app.cohorts.models import Cohort, CohortSession
    from app.parents.models import Child, Parent

ENROLMENT_STATUSES = ("enrolled", "waitlisted", "withdrawn", "transferred")
#: statuses that hold a family place
PLACE_HOLDING = ("enrolled",)
CRECHE_STATUSES = ("booked", "waitlisted", "cancelled")


class Enrolment(TimestampMixin, db.Model):
    """A parent's place (or place in the queue) in one cohort."""

    __tablename__ = "enrolments"
    __table_args__ = (
        sa.UniqueConstraint("parent_id", "cohort_id"),
        enum_check("status", ENROLMENT_STATUSES),
        enum_check("referral_source", values(REFERRAL_SOURCES)),
        sa.CheckConstraint("status <> 'withdrawn' OR withdrawal_reason IS NOT NULL", name="withdrawal_has_reason"),
        sa.Index("ix_enrolments_cohort_status", "cohort_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(sa.ForeignKey("parents.id"), index=True)
    cohort_id: Mapped[int] = mapped_column(sa.ForeignKey("cohorts.id"))
    status: Mapped[str] = mapped_column(sa.String(20))
    referral_source: Mapped[str] = mapped_column(sa.String(40), default="other")
    #: when the parent joined the waiting list; the list is served in this order
    waitlisted_at: Mapped[Optional[datetime]]
    enrolled_at: Mapped[Optional[datetime]]
    withdrawn_at: Mapped[Optional[datetime]]
    withdrawal_reason: Mapped[Optional[str]] = mapped_column(sa.String(300))
    #: the enrolment this one was transferred to (the history stays here)
    transferred_to_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("enrolments.id", ondelete="SET NULL"))
    #: a coordinator's reason for enrolling a family that failed an eligibility check
    eligibility_override_reason: Mapped[Optional[str]] = mapped_column(sa.String(300))
    eligibility_override_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)

    parent: Mapped["Parent"] = relationship()
    cohort: Mapped["Cohort"] = relationship()

    def __repr__(self) -> str:
        return f"<Enrolment {self.id} p{self.parent_id} c{self.cohort_id} {self.status}>"


class CrecheBooking(TimestampMixin, db.Model):
    """A child's crèche place at one session, and their sign-in and sign-out."""

    __tablename__ = "creche_bookings"
    __table_args__ = (
        sa.UniqueConstraint("session_id", "child_id"),
        enum_check("status", CRECHE_STATUSES),
        sa.CheckConstraint("signed_out_at IS NULL OR signed_in_at IS NOT NULL", name="in_before_out"),
        sa.Index("ix_creche_bookings_session_status", "session_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("cohort_sessions.id", ondelete="CASCADE"))
    child_id: Mapped[int] = mapped_column(sa.ForeignKey("children.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[int] = mapped_column(sa.ForeignKey("enrolments.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="booked")
    #: why a child is on the crèche waiting list (capacity, ratios)
    waitlist_reason: Mapped[Optional[str]] = mapped_column(sa.String(200))
    signed_in_at: Mapped[Optional[datetime]]
    signed_out_at: Mapped[Optional[datetime]]
    #: who collected the child at sign-out
    collected_by: Mapped[Optional[str]] = mapped_column(sa.String(120))

    session: Mapped["CohortSession"] = relationship()
    child: Mapped["Child"] = relationship()
    enrolment: Mapped[Enrolment] = relationship()

    def __repr__(self) -> str:
        return f"<CrecheBooking {self.id} s{self.session_id} child{self.child_id} {self.status}>"
