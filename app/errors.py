"""Domain errors raised by services; the web, API and CLI edges turn them into responses.

Each carries a human message and, where one field is to blame, the field's name, so an
HTML form can show it next to the field and the API can name it in a 422.
"""
from __future__ import annotations


class DomainError(Exception):
    """Base class: a rule of the service refused the request."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields: dict[str, list[str]] = dict(fields or {})
        if field:
            self.fields.setdefault(field, []).append(message)

    @property
    def field(self) -> str | None:
        return next(iter(self.fields), None)


class ValidationFailed(DomainError):
    """Input that breaks a rule (422)."""

    status = 422
    code = "validation_error"


class Conflict(DomainError):
    """The request clashes with the current state: a room clash, a stale update (409)."""

    status = 409
    code = "conflict"


class NotFound(DomainError):
    """No such thing, or not one this user may know about (404)."""

    status = 404
    code = "not_found"


class PermissionDenied(DomainError):
    """This user may not do this (403)."""

    status = 403
    code = "forbidden"
