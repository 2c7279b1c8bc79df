"""Follow-ups: a named worker's task to contact a parent (after a missed session, an SMS reply...)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import TimestampMixin, enum_check
from app.extensions import db

FOLLOWUP_KINDS = ("missed_session", "sms_reply", "possible_apology", "mobile_problem", "register_overdue")
FOLLOWUP_STATUSES = ("open", "done")
OUTCOMES = ("spoke_to_parent", "left_message", "no_answer", "coming_next_week", "wants_transfer",
            "wants_withdraw", "transferred", "withdrew", "confirmed_apology", "not_an_apology", "handled")
OUTCOME_LABELS = {
    "spoke_to_parent": "Spoke to parent",
    "left_message": "Left a message",
    "no_answer": "No answer (try again)",
    "coming_next_week": "Coming next week",
    "wants_transfer": "Wants to transfer",
    "wants_withdraw": "Wants to withdraw",
    "transferred": "Transferred",
    "withdrew": "Withdrew",
    "confirmed_apology": "Apology confirmed",
    "not_an_apology": "Not an apology",
    "handled": "Dealt with",
}


class FollowUp(TimestampMixin, db.Model):
    """A task for a worker about one parent; closing it records an outcome, never closes the case."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        enum_check("kind", FOLLOWUP_KINDS),
        enum_check("status", FOLLOWUP_STATUSES),
        sa.CheckConstraint(f"outcome IS NULL OR outcome IN ({', '.join(repr(o) for o in OUTCOMES)})",
                           name="outcome_valid"),
        # exactly one follow-up per missed session, however often the register is re-marked
        sa.UniqueConstraint("enrolment_id", "session_id", "kind"),
        sa.Index("ix_follow_ups_assignee_status_due", "assigned_to_id", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    parent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("parents.id", ondelete="CASCADE"), index=True)
    enrolment_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("enrolments.id", ondelete="CASCADE"))
    session_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("cohort_sessions.id", ondelete="CASCADE"))
    #: the inbound SMS that raised it, for replies
    inbound_message_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("inbound_messages.id", ondelete="SET NULL"))
    #: the named worker who should act; empty means the coordinators' list
    assigned_to_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    due_date: Mapped[date]
    status: Mapped[str] = mapped_column(sa.String(10), default="open")
    #: raised to the coordinator (two misses in a row)
    is_escalated: Mapped[bool] = mapped_column(default=False)
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    outcome: Mapped[Optional[str]] = mapped_column(sa.String(30))
    outcome_note: Mapped[Optional[str]] = mapped_column(sa.Text)
    closed_at: Mapped[Optional[datetime]]
    closed_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)

    def __repr__(self) -> str:
        return f"<FollowUp {self.id} {self.kind} {self.status}>"
