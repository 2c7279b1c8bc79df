"""Secret calendar feed links, and the outbox of calendar invitations sent by e-mail."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import enum_check, utcnow
from app.extensions import db

INVITE_METHODS = ("REQUEST", "CANCEL")
INVITE_STATUSES = ("pending", "sending", "sent", "failed", "skipped")


class CalendarToken(db.Model):
    """A secret feed link for a parent, a member of staff or a cohort; only its SHA-256 is stored.

    The token in the URL is HMAC-SHA256(SECRET_KEY, "calendar:<owner>:<nonce>"), so the same
    link can be shown again to staff while the database alone (hash and nonce) opens nothing.
    """

    __tablename__ = "calendar_tokens"
    __table_args__ = (
        sa.CheckConstraint(
            "(CASE WHEN parent_id IS NULL THEN 0 ELSE 1 END + CASE WHEN user_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN cohort_id IS NULL THEN 0 ELSE 1 END) = 1", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: hex SHA-256 of the token in the URL
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: random per-link value the token is derived from (with SECRET_KEY); useless without the key
    nonce: Mapped[str] = mapped_column(sa.String(64), default="")
    parent_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("parents.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: set when staff revoked or rotated the link; the URL then answers 404
    revoked_at: Mapped[Optional[datetime]]
    #: the last time a calendar app fetched the feed (kept to the hour, to spare writes)
    last_fetched_at: Mapped[Optional[datetime]]

    @property
    def owner_kind(self) -> str:
        return "parent" if self.parent_id else "user" if self.user_id else "cohort"

    @property
    def owner_id(self) -> int:
        return self.parent_id or self.user_id or self.cohort_id  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<CalendarToken {self.id} {self.owner_kind}>"


class CalendarInvite(db.Model):
    """One e-mail invitation (iTIP REQUEST or CANCEL) for one session, waiting to be sent.

    Rows are written in the same transaction as the change that caused them and sent by the
    scheduler after commit, so a slow mail server never holds a web request or its locks.
    The message is built from the session as it is when sent, so it is never out of date.
    """

    __tablename__ = "calendar_invites"
    __table_args__ = (
        enum_check("method", INVITE_METHODS),
        enum_check("status", INVITE_STATUSES),
        sa.Index("ix_calendar_invites_status_due", "status", "send_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(sa.ForeignKey("parents.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(sa.ForeignKey("cohort_sessions.id", ondelete="CASCADE"), index=True)
    #: iTIP method: REQUEST (invite or update) or CANCEL
    method: Mapped[str] = mapped_column(sa.String(10))
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: not before this moment (pushed back after a failed attempt)
    send_after: Mapped[datetime] = mapped_column(default=utcnow)
    #: when a scheduler process claimed it; a claim older than a few minutes is taken back
    claimed_at: Mapped[Optional[datetime]]
    sent_at: Mapped[Optional[datetime]]
    attempts: Mapped[int] = mapped_column(default=0)
    #: the kind of the last failure (an exception class or SMTP code), never an address or body
    last_error: Mapped[Optional[str]] = mapped_column(sa.String(200))

    def __repr__(self) -> str:
        return f"<CalendarInvite {self.id} p{self.parent_id} s{self.session_id} {self.method} {self.status}>"
