"""Parents and carers, and their children (born or expected)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import TimestampMixin, enum_check
from app.extensions import db
from app.parents.choices import DEMOGRAPHIC_FIELDS, values

parent_children = sa.Table(
    "parent_children",
    db.metadata,
    sa.Column("parent_id", sa.ForeignKey("parents.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("child_id", sa.ForeignKey("children.id", ondelete="CASCADE"), primary_key=True),
)


class Parent(TimestampMixin, db.Model):
    """A parent or carer. They never sign in: they receive SMS and a calendar feed."""

    __tablename__ = "parents"
    __table_args__ = tuple(
        enum_check(name, values(choices)) for name, choices in DEMOGRAPHIC_FIELDS.items()
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(sa.String(80))
    last_name: Mapped[str] = mapped_column(sa.String(80))
    #: E.164, e.g. +447400123456; only a mobile can receive SMS
    mobile: Mapped[Optional[str]] = mapped_column(sa.String(20), index=True)
    #: set when Twilio said the number is invalid or not a mobile; a worker must fix it
    mobile_problem: Mapped[Optional[str]] = mapped_column(sa.String(200))
    email: Mapped[Optional[str]] = mapped_column(sa.String(254))
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    #: normalised UK postcode
    postcode: Mapped[str] = mapped_column(sa.String(10), default="", index=True)
    #: ISO 639-1 code (or "other") of the preferred language
    language: Mapped[str] = mapped_column(sa.String(10), default="en")
    interpreter_needed: Mapped[bool] = mapped_column(default=False)
    sms_consent: Mapped[bool] = mapped_column(default=False)
    sms_consent_at: Mapped[Optional[datetime]]
    sms_consent_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: set when the parent replied STOP (or Twilio said so); nothing is sent until START
    sms_opted_out_at: Mapped[Optional[datetime]]
    #: calendar invitations by e-mail, when the service has SMTP
    email_consent: Mapped[bool] = mapped_column(default=False)
    ethnicity: Mapped[str] = mapped_column(sa.String(40), default="not_asked")
    relationship_status: Mapped[str] = mapped_column(sa.String(40), default="not_asked")
    gender: Mapped[str] = mapped_column(sa.String(40), default="not_asked")
    age_band: Mapped[str] = mapped_column(sa.String(40), default="not_asked")
    first_time_parent: Mapped[str] = mapped_column(sa.String(40), default="not_asked")
    #: the Better Start worker who follows the family up
    worker_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: the centre the family is attached to (workers see their centres' families)
    centre_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("centres.id", ondelete="SET NULL"), index=True)
    #: set when erased on request; the row stays, anonymised, so past counts do not change
    erased_at: Mapped[Optional[datetime]]

    children: Mapped[list["Child"]] = relationship(secondary=parent_children, back_populates="carers",
                                                   order_by="Child.id")

    @property
    def can_receive_sms(self) -> bool:
        return bool(self.mobile and self.sms_consent and not self.sms_opted_out_at
                    and not self.mobile_problem and not self.erased_at)

    def __repr__(self) -> str:
        return f"<Parent {self.id}>"


class Child(TimestampMixin, db.Model):
    """A child, or an expected baby (due date instead of date of birth)."""

    __tablename__ = "children"
    __table_args__ = (
        sa.CheckConstraint("(date_of_birth IS NULL) <> (due_date IS NULL)", name="born_or_due"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(sa.String(80))
    date_of_birth: Mapped[Optional[date]]
    due_date: Mapped[Optional[date]]

    carers: Mapped[list[Parent]] = relationship(secondary=parent_children, back_populates="children")

    def __repr__(self) -> str:
        return f"<Child {self.id}>"
