"""The declarative base, the naming convention and the column types every model shares."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """An aware datetime stored in UTC.

    PostgreSQL keeps it as ``timestamptz``; SQLite has no time zones, so the value is
    stored as naive UTC and made aware again on the way out. Naive values are refused:
    a naive time is a bug waiting for the next clock change.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; attach a time zone first")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Base class of every model."""

    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    """Creation and last-change times."""

    #: when the row was created (UTC)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: when the row last changed (UTC)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def enum_check(column: str, values: "tuple[str, ...] | list[str]", name: str | None = None) -> sa.CheckConstraint:
    """A CHECK constraint keeping a string column to a fixed set of values."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=name or f"{column}_valid")


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """SQLite enforces foreign keys (ON DELETE CASCADE / SET NULL, references) only when asked, per connection."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()
