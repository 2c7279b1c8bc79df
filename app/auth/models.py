"""Staff accounts and API tokens."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import TimestampMixin, enum_check
from app.extensions import db

ROLES = ("admin", "facilitator", "worker", "commissioner")


class User(UserMixin, TimestampMixin, db.Model):
    """A member of staff who signs in: coordinator (admin), facilitator, worker or commissioner."""

    __tablename__ = "users"
    __table_args__ = (enum_check("role", ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: sign-in name, stored lower-case
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    #: werkzeug hash (scrypt in production)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    #: one of ROLES; what it may do is decided in app/auth/permissions.py
    role: Mapped[str] = mapped_column(sa.String(20))
    #: the name colleagues know them by
    full_name: Mapped[str] = mapped_column(sa.String(120), default="")
    #: staff mobile for rota change notices (E.164)
    mobile: Mapped[Optional[str]] = mapped_column(sa.String(20))
    #: false once an account is switched off; a disabled account cannot sign in or use a token
    is_enabled: Mapped[bool] = mapped_column(default=True)
    #: set by an admin: the next sign-in must choose a new password
    must_change_password: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[Optional[datetime]]

    tokens: Mapped[list["ApiToken"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_enabled

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: hex SHA-256 of the token; the token itself is shown once and never stored
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[Optional[datetime]]

    user: Mapped[User] = relationship(back_populates="tokens")

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} user={self.user_id}>"
