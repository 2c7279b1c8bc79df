"""Request-wide protections: deny-by-default permissions, API CSRF, security headers."""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user

from app.api.core import error_response, is_api_request
from app.auth.permissions import PUBLIC, can, permission_of
from app.extensions import csrf, login_manager

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the largest id a row can have (PostgreSQL INTEGER); a bigger <int:...> in a URL names nothing
MAX_ID = 2**31 - 1
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'self'; "
       "frame-ancestors 'none'; form-action 'self'")


def required_permission(endpoint: str | None) -> str | None:
    """The permission an endpoint needs; None means nobody declared one (closed)."""
    if endpoint is None:
        return PUBLIC  # no route matched: the 404/405 handlers answer
    if endpoint == "static" or endpoint.startswith("api-docs."):
        return PUBLIC
    view = current_app.view_functions.get(endpoint)
    return permission_of(view) if view is not None else PUBLIC


#: session key of the last request's time (seconds); the same key app/auth/views.py sets at sign-in
LAST_SEEN_KEY = "gw_seen"
#: the last-seen time is rewritten at most this often (seconds): idle time is measured to within it,
#: and the session cookie is not re-signed and re-sent on every tap of a tablet
SEEN_RESOLUTION = 30
#: what an account that must change its password may still reach
PASSWORD_CHANGE_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "auth.login", "main.health", "static"})


def expire_idle_session() -> None:
    """Sign out a cookie session idle for longer than PERMANENT_SESSION_LIFETIME (shared tablets).

    Measured with the app's clock (timeutil.now), so tests can move time. The signed cookie
    also expires after the same time, so this is the server's half of the same rule.
    """
    if request.endpoint == "static" or g.get("bearer_auth") or "_user_id" not in session:
        return
    from app.timeutil import now

    moment = int(now().timestamp())
    seen = session.get(LAST_SEEN_KEY)
    limit = current_app.permanent_session_lifetime.total_seconds()
    if isinstance(seen, int) and moment - seen > limit:
        logout_user()
        session.pop(LAST_SEEN_KEY, None)
        if not is_api_request():
            flash("You were signed out because the page was left unused. Sign in again to go on.")
        return
    if not isinstance(seen, int) or moment - seen >= SEEN_RESOLUTION:
        session[LAST_SEEN_KEY] = moment  # rewrites (and so re-sends) the cookie: not on every request


def enforce_password_change():
    """An account given a temporary password may only change it (or sign out) until it does."""
    if (not current_user.is_authenticated or not getattr(current_user, "must_change_password", False)
            or g.get("bearer_auth") or request.endpoint in PASSWORD_CHANGE_ENDPOINTS
            or (request.endpoint or "").startswith("api-docs.")):
        return None
    if is_api_request():
        return error_response(403, "Your password was reset: choose a new one on the web page first.")
    return redirect(url_for("auth.change_password"))


def enforce_permissions():
    """Refuse any request the user's role does not allow, before the view runs."""
    expire_idle_session()
    permission = required_permission(request.endpoint)
    if permission is None:
        current_app.logger.error("endpoint %s declares no permission; refused", request.endpoint)
        abort(403)
    if permission == PUBLIC:
        return refuse_unstorable_input()
    if not current_user.is_authenticated:
        if is_api_request() or request.headers.get("Authorization"):
            return error_response(401, "Sign in or send a valid bearer token.")
        return login_manager.unauthorized()
    if not can(current_user, permission):
        abort(403)
    forced = enforce_password_change()
    if forced is not None:
        return forced
    if any(isinstance(v, int) and not isinstance(v, bool) and v > MAX_ID for v in (request.view_args or {}).values()):
        # /parents/99999999999999999999 must be a 404, not an overflow in the database driver
        abort(404)
    refused = refuse_unstorable_input()
    if refused is not None:
        return refused
    if is_api_request() and request.method not in SAFE_METHODS and not g.get("bearer_auth"):
        # Same-origin pages may use the session cookie, but then must send the CSRF header.
        csrf.protect()
    return None


NUL_MESSAGE = "Remove the NUL character (\\u0000): text cannot contain it."
BIG_MESSAGE = f"Numbers must be between {-MAX_ID - 1} and {MAX_ID}."


def _unstorable(value, name: str, out: dict[str, list[str]], depth: int = 0) -> None:
    """Collect fields holding what no column can store: NUL characters, integers beyond 32 bits."""
    if depth > 50:
        return
    if isinstance(value, str):
        if "\x00" in value:
            out.setdefault(name or "_schema", []).append(NUL_MESSAGE)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -MAX_ID - 1 <= value <= MAX_ID:
            out.setdefault(name or "_schema", []).append(BIG_MESSAGE)
    elif isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            if "\x00" in key:
                out.setdefault(name or "_schema", []).append(NUL_MESSAGE)
                continue
            _unstorable(item, f"{name}.{key}" if name else key, out, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _unstorable(item, name, out, depth + 1)


def refuse_unstorable_input():
    """Refuse input the database would choke on (a 500 otherwise): NUL in text, huge JSON integers.

    PostgreSQL text cannot hold U+0000 and every integer column is 32-bit, so these are
    refused up front for every route, naming the field: a 422 for the API, a 400 page for forms.
    """
    fields: dict[str, list[str]] = {}
    for key, values in request.args.lists():
        for value in values:
            _unstorable(value, key, fields)
    # Strings in the path are left to their views (a calendar token is hashed, never stored or
    # queried as typed), so each view keeps its own answer to a malformed one.
    if request.method not in SAFE_METHODS:
        if request.is_json:
            _unstorable(request.get_json(silent=True), "", fields)
        else:
            for key, values in request.form.lists():
                for value in values:
                    _unstorable(value, key, fields)
    if not fields:
        return None
    if is_api_request():
        return error_response(422, "Some fields are not valid: " + ", ".join(sorted(fields)), fields)
    abort(400)


def security_headers(response):
    """Headers every response carries; no caching of pages about families."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint != "static" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
