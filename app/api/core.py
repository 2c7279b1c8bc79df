"""The JSON API's shared machinery: the error format, strict fields, London times.

Errors are always ``{"error": {"code", "message", "fields": {"<field>": ["..."]}}}``.
Outside ``/api/`` the same exceptions render the HTML error pages instead.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import marshmallow as ma
from flask import jsonify, render_template, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from app.timeutil import LocalTimeError, isoformat, parse_datetime

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
              409: "conflict", 413: "too_large", 415: "unsupported_media_type", 422: "validation_error",
              429: "too_many_requests", 500: "server_error"}


def is_api_request() -> bool:
    """True for requests to the JSON API."""
    return request.path.startswith("/api/")


def error_response(status: int, message: str, fields: dict[str, list[str]] | None = None, code: str | None = None):
    """A JSON error response in the API's one format."""
    body = {"error": {"code": code or HTTP_CODES.get(status, "error"), "message": message, "fields": fields or {}}}
    response = jsonify(body)
    response.status_code = status
    return response


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow nested messages as {"field.sub": ["..."]}."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if name == "_schema":
                name = prefix or "_schema"
            for k, v in _flatten(value, name).items():
                out.setdefault(k, []).extend(v)
    elif isinstance(messages, (list, tuple)):
        if all(isinstance(m, str) for m in messages):
            out.setdefault(prefix or "_schema", []).extend(messages)
        else:
            for item in messages:
                for k, v in _flatten(item, prefix).items():
                    out.setdefault(k, []).extend(v)
    else:
        out.setdefault(prefix or "_schema", []).append(str(messages))
    return out


def html_error(status: int, message: str | None = None):
    """Render the HTML error page for a status."""
    template = f"errors/{status}.html" if status in (400, 403, 404, 429, 500) else "errors/400.html"
    return render_template(template, message=message, status=status), status


class ErrorSchema(ma.Schema):
    class Inner(ma.Schema):
        code = ma.fields.String(required=True)
        message = ma.fields.String(required=True)
        fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.List(ma.fields.String()))

    error = ma.fields.Nested(Inner, required=True)


class GroupworkApi(Api):
    """flask-smorest's Api with our error format, and HTML errors outside /api/."""

    #: documents every error response in the one format the API really sends
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        status = error.code or 500
        if not is_api_request():
            return html_error(status)
        data = getattr(error, "data", None) or {}
        fields: dict[str, list[str]] = {}
        if "messages" in data:
            for location, msgs in data["messages"].items():
                # the location (json, query, form) is not part of the field name
                fields.update(_flatten(msgs))
        message = data.get("message") or error.description or HTTP_CODES.get(status, "error")
        if status == 422 and fields:
            message = "Some fields are not valid: " + ", ".join(sorted(fields))
        response = error_response(status, message, fields)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="groupwork"'
        return response


class StrictBoolean(ma.fields.Boolean):
    """A boolean that accepts only JSON true and false (not "1" or "yes")."""

    truthy = {True}
    falsy = {False}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


INT32_MAX = 2**31 - 1


class StrictInteger(ma.fields.Integer):
    """An integer that refuses strings, floats and booleans, and (unless told otherwise) values beyond 32 bits."""

    def __init__(self, **kwargs):
        if "validate" not in kwargs:
            kwargs["validate"] = ma.validate.Range(min=-INT32_MAX - 1, max=INT32_MAX)
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class QueryId(ma.fields.Integer):
    """A record id in a query string ("?parent_id=5"): a whole number from 1 within the database's range."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", ma.validate.Range(min=1, max=INT32_MAX))
        super().__init__(strict=False, **kwargs)


class LondonDateTime(ma.fields.Field):
    """ISO 8601 out with the London offset; in, a time without offset is London time."""

    default_error_messages = {"invalid": "Not a valid date-time: use ISO 8601, e.g. 2026-10-06T10:00."}

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {}).update({"type": "string", "format": "date-time"})
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return isoformat(value) if isinstance(value, datetime) else value

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return parse_datetime(value)
        except LocalTimeError as exc:
            raise ma.ValidationError(str(exc)) from None
        except ValueError:
            raise self.make_error("invalid") from None


class BaseSchema(ma.Schema):
    """Input schemas refuse unknown fields, so a typo is an error, not silently ignored."""

    class Meta:
        unknown = ma.RAISE
