"""Template filters and the navigation shown to each role."""
from __future__ import annotations

from flask import Flask, g, request, url_for
from flask_login import current_user

from app.auth.permissions import can
from app.timeutil import format_local, isoformat

#: (label, endpoint, permission): shown when the endpoint exists and the role may use it
NAVIGATION = (
    ("Home", "main.home", "self"),
    ("Cohorts", "cohorts.list", "cohorts.view"),
    ("Families", "parents.list", "parents.view"),
    ("Follow-ups", "followups.list", "followups.view"),
    ("My sessions", "attendance.mine", "register.view"),
    ("My rota", "rota.mine", "rota.view"),
    ("Rota", "rota.term", "rota.manage"),
    ("My calendar", "calendar.mine", "self"),
    ("Centres", "centres.list", "centres.manage"),
    ("Staff", "staff.list", "staff.manage"),
    ("Messages", "messaging.overview", "templates.manage"),
    ("Reports", "reports.index", "reports.aggregate"),
    ("Retention", "audit.retention", "data_rights"),
)


def nav_items() -> list[dict]:
    """The navigation for the signed-in user (worked out once per request and user).

    Context processors run for every template rendered, and each form field of GOV.UK Frontend
    WTF is a template of its own, so a page with forms would otherwise build it many times.
    """
    if not current_user.is_authenticated:
        return []
    key = (current_user.get_id(), current_user.role, request.endpoint)
    cached = g.get("_nav_items")
    if cached is not None and cached[0] == key:
        return cached[1]
    items = _nav_items()
    g._nav_items = (key, items)
    return items


def _nav_items() -> list[dict]:
    from flask import current_app

    items = []
    for text, endpoint, permission in NAVIGATION:
        if endpoint in current_app.view_functions and can(current_user, permission):
            prefix = endpoint.split(".")[0] + "."
            active = bool(request.endpoint and request.endpoint.startswith(prefix))
            items.append({"text": text, "href": url_for(endpoint), "active": active, "current": active})
    return items


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.add_template_filter(lambda d, fmt="%a %d %b %Y, %H:%M": format_local(d, fmt) if d else "", "london")
    app.add_template_filter(lambda d: d.strftime("%a %d %b %Y") if d else "", "day")
    app.add_template_filter(isoformat, "iso")
    from app.parents.phones import display_mobile

    app.add_template_filter(display_mobile, "mobile")
    app.context_processor(lambda: {"nav_items": nav_items(), "can": lambda p: can(current_user, p)})
