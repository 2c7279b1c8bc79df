"""The SMS outbox, inbound replies and editable templates."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import TimestampMixin, enum_check, utcnow
from app.extensions import db

MESSAGE_KINDS = ("confirmation", "reminder", "session_moved", "session_cancelled", "session_added",
                 "cohort_cancelled", "missed_you", "rota_changed", "waitlisted", "waitlist_promoted")
#: kinds sent to parents (rota_changed goes to staff)
PARENT_KINDS = tuple(k for k in MESSAGE_KINDS if k != "rota_changed")
#: statuses a message can still leave from; "sending" is in flight and never cancelled
PENDING_STATUSES = ("queued",)
MESSAGE_STATUSES = ("queued", "sending", "sent", "delivered", "failed", "undelivered", "cancelled")
#: delivery only moves forward: a late "sent" never overwrites "delivered"
STATUS_RANK = {"queued": 0, "sending": 1, "sent": 2, "delivered": 4, "failed": 3, "undelivered": 3, "cancelled": 5}


class OutboxMessage(TimestampMixin, db.Model):
    """One SMS to send: computed from the schedule, claimed and sent by the scheduler tick."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        enum_check("kind", MESSAGE_KINDS),
        enum_check("status", MESSAGE_STATUSES),
        # a duplicate reminder is impossible: one row per purpose (kind, recipient, session, time)
        sa.UniqueConstraint("dedupe_key"),
        sa.Index("ix_outbox_messages_due", "status", "send_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    parent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("parents.id", ondelete="CASCADE"), index=True)
    #: staff recipient (rota notices)
    user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    cohort_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="CASCADE"))
    session_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("cohort_sessions.id", ondelete="CASCADE"))
    enrolment_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("enrolments.id", ondelete="CASCADE"))
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    to_number: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.Text)
    #: not before this instant (quiet hours already applied)
    send_after: Mapped[datetime]
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    #: what makes this message unique, e.g. "reminder:s12:p4:2d"
    dedupe_key: Mapped[str] = mapped_column(sa.String(120))
    provider_sid: Mapped[Optional[str]] = mapped_column(sa.String(64), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[Optional[str]] = mapped_column(sa.String(300))
    #: when a tick claimed it (status "sending"); used to reconcile after a crash
    claimed_at: Mapped[Optional[datetime]]
    #: retry not before this instant (backoff after 429)
    retry_after: Mapped[Optional[datetime]]
    sent_at: Mapped[Optional[datetime]]
    delivered_at: Mapped[Optional[datetime]]

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.kind} {self.status}>"


class InboundMessage(db.Model):
    """An SMS a parent (or anyone) sent to the service number."""

    __tablename__ = "inbound_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_sid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    from_number: Mapped[str] = mapped_column(sa.String(20), index=True)
    body: Mapped[str] = mapped_column(sa.Text, default="")
    #: the parent whose mobile it came from; empty for unknown numbers (the coordinator sees those)
    parent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("parents.id", ondelete="SET NULL"), index=True)
    #: stop, start, apology or message
    intent: Mapped[str] = mapped_column(sa.String(20), default="message")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<InboundMessage {self.id} {self.intent}>"


class SmsTemplate(TimestampMixin, db.Model):
    """The wording of one kind of message in one language, editable by coordinators."""

    __tablename__ = "sms_templates"
    __table_args__ = (sa.UniqueConstraint("kind", "language"), enum_check("kind", MESSAGE_KINDS))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    language: Mapped[str] = mapped_column(sa.String(10))
    body: Mapped[str] = mapped_column(sa.Text)
    updated_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<SmsTemplate {self.kind}/{self.language}>"
