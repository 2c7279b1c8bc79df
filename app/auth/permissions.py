"""What each role may do: the one place in the code that decides it.

Every view and API endpoint names the permission it needs with ``@requires(...)`` (or
``@public``); a request to an endpoint that names none is refused, so a new route is
closed until someone decides who may use it. Row-level scoping (a facilitator's own
sessions, a worker's own centres) lives in each feature's queries, using the helpers here.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask_login import current_user

ALL_PERMISSIONS = frozenset({
    "self",                 # own account, own rota, own calendar link
    "centres.view", "centres.manage",
    "cohorts.view", "cohorts.manage",
    "parents.view", "parents.manage",
    "enrolments.manage",
    "eligibility.override",
    "areas.manage",
    "register.view", "register.mark",
    "notes.write",
    "outcomes.enter",
    "followups.view", "followups.manage",
    "rota.view", "rota.manage", "rota.force",
    "staff.manage",
    "messages.view", "templates.manage",
    "calendar.manage",
    "reports.view",         # service reports, may include names (register grid)
    "reports.aggregate",    # aggregates only, small numbers suppressed
    "audit.view",
    "data_rights",          # subject access export, erasure, retention
})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": ALL_PERMISSIONS,
    "facilitator": frozenset({
        "self", "centres.view", "cohorts.view", "register.view", "register.mark", "notes.write",
        "outcomes.enter", "rota.view",
    }),
    "worker": frozenset({
        "self", "centres.view", "cohorts.view", "parents.view", "parents.manage", "enrolments.manage",
        "followups.view", "followups.manage", "rota.view", "messages.view", "calendar.manage",
    }),
    "commissioner": frozenset({"self", "reports.aggregate"}),
}

PUBLIC = "public"


def can(user, permission: str) -> bool:
    """True when the user's role grants the permission."""
    if permission == PUBLIC:
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return permission in ROLE_PERMISSIONS.get(user.role, frozenset())


def requires(permission: str) -> Callable:
    """Mark a view with the permission it needs; enforced before every request."""
    if permission != PUBLIC and permission not in ALL_PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            return view(*args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]
        return wrapper

    return decorate


public = requires(PUBLIC)


def permission_of(view: Callable) -> str | None:
    """The permission a view declared, if any."""
    seen = view
    while seen is not None:
        if hasattr(seen, "permission"):
            return seen.permission
        seen = getattr(seen, "__wrapped__", None)
    view_class = getattr(view, "view_class", None)
    return getattr(view_class, "permission", None)


def is_admin(user=None) -> bool:
    """True for coordinators (admins)."""
    user = user or current_user
    return bool(getattr(user, "is_authenticated", False) and user.role == "admin")
