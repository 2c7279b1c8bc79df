"""Eligible areas: wards and the postcodes in each, imported from CSV."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import utcnow
from app.extensions import db


class Ward(db.Model):
    """An area the service covers (or has covered)."""

    __tablename__ = "wards"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    #: families living here are eligible; switch off to stop new enrolments from a ward
    is_eligible: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    postcodes: Mapped[list["WardPostcode"]] = relationship(back_populates="ward", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Ward {self.name!r}>"


class WardPostcode(db.Model):
    """One full postcode and the ward it falls in."""

    __tablename__ = "ward_postcodes"

    #: normalised postcode, e.g. "SW9 7QD"
    postcode: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    ward_id: Mapped[int] = mapped_column(sa.ForeignKey("wards.id", ondelete="CASCADE"), index=True)

    ward: Mapped[Ward] = relationship(back_populates="postcodes")

    def __repr__(self) -> str:
        return f"<WardPostcode {self.postcode}>"
