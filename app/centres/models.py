"""Children's centres, their rooms and closure days."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import TimestampMixin
from app.extensions import db


class Centre(TimestampMixin, db.Model):
    """A children's centre where groups run."""

    __tablename__ = "centres"
    __table_args__ = (sa.CheckConstraint("creche_capacity >= 0", name="creche_capacity_nonneg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    #: normalised UK postcode, e.g. "SW9 7QD"
    postcode: Mapped[str] = mapped_column(sa.String(10), default="")
    ward: Mapped[str] = mapped_column(sa.String(80), default="")
    #: most children the crèche can hold at once, whatever the staffing
    creche_capacity: Mapped[int] = mapped_column(default=0)

    rooms: Mapped[list["Room"]] = relationship(back_populates="centre", cascade="all, delete-orphan",
                                               order_by="Room.name")
    closures: Mapped[list["ClosureDay"]] = relationship(back_populates="centre", cascade="all, delete-orphan",
                                                        order_by="ClosureDay.closure_date")

    def __repr__(self) -> str:
        return f"<Centre {self.id} {self.name!r}>"


class Room(db.Model):
    """A room in a centre; two cohorts never hold one at the same time."""

    __tablename__ = "rooms"
    __table_args__ = (sa.UniqueConstraint("centre_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))

    centre: Mapped[Centre] = relationship(back_populates="rooms")

    def __repr__(self) -> str:
        return f"<Room {self.id} {self.name!r}>"


class ClosureDay(db.Model):
    """A day a centre is shut (training, works, Christmas); sessions skip it."""

    __tablename__ = "closure_days"
    __table_args__ = (sa.UniqueConstraint("centre_id", "closure_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(sa.ForeignKey("centres.id", ondelete="CASCADE"), index=True)
    closure_date: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")

    centre: Mapped[Centre] = relationship(back_populates="closures")

    def __repr__(self) -> str:
        return f"<ClosureDay {self.centre_id} {self.closure_date}>"
