"""Template filters and the navigation shown to each role."""
from __future__ import annotations

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from markupsafe import Markup

from app.auth.permissions import can
from app.fragments import CSRF_PLACEHOLDER, FragmentCache, with_csrf
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
    """The navigation for the signed-in user.

    It depends only on the role, the section of the current page and where the app is mounted,
    so it is worked out once per combination and kept on the app (every page shows it).
    """
    if not current_user.is_authenticated:
        return []
    endpoint = request.endpoint or ""
    key = (current_user.role, endpoint.split(".")[0] + "." if endpoint else "", request.script_root)
    cache = current_app.extensions.setdefault("groupwork_nav", {})
    items = cache.get(key)
    if items is None:
        items = cache[key] = _nav_items()
    return items


def _nav_items() -> list[dict]:
    items = []
    for text, endpoint, permission in NAVIGATION:
        if endpoint in current_app.view_functions and can(current_user, permission):
            prefix = endpoint.split(".")[0] + "."
            active = bool(request.endpoint and request.endpoint.startswith(prefix))
            items.append({"text": text, "href": url_for(endpoint), "active": active, "current": active})
    return items


#: the rendered header navigation, per role, section and mount point (see app/fragments.py)
NAVIGATION_HTML = FragmentCache(max_entries=256)


def service_navigation(service_name: str, service_url: str, items: list[dict], signed_in: bool) -> Markup:
    """The header's service navigation, rendered once per combination of what it shows."""
    from flask_wtf.csrf import generate_csrf

    logout_url = url_for("auth.logout") if signed_in else ""
    key = (service_name, service_url, tuple((i["text"], i["href"], i["active"]) for i in items), signed_in, logout_url)

    def render() -> str:
        macro = current_app.jinja_env.get_template("_service_navigation.html").module.service_navigation
        return macro(service_name, service_url, items, signed_in, logout_url, CSRF_PLACEHOLDER)

    text = NAVIGATION_HTML.get_or_render(key, render)
    return with_csrf(text, generate_csrf()) if signed_in else Markup(text)


def static_url(filename: str) -> str:
    """url_for("static", filename=...) worked out once per file and mount point (every page links several)."""
    cache = current_app.extensions.setdefault("groupwork_static_urls", {})
    key = (filename, request.script_root)
    url = cache.get(key)
    if url is None:
        url = cache[key] = url_for("static", filename=filename)
    return url


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.add_template_filter(lambda d, fmt="%a %d %b %Y, %H:%M": format_local(d, fmt) if d else "", "london")
    app.add_template_filter(lambda d: d.strftime("%a %d %b %Y") if d else "", "day")
    app.add_template_filter(isoformat, "iso")
    from app.parents.phones import display_mobile

    app.add_template_filter(display_mobile, "mobile")
    app.context_processor(lambda: {"nav_items": nav_items(), "can": lambda p: can(current_user, p)})
    app.add_template_global(service_navigation, "service_navigation")
    app.add_template_global(static_url, "static_url")
