"""The role matrix: every URL rule of the app, for every role and for anonymous visitors.

Generic on purpose: it walks ``app.url_map``, so a route added later is covered (and a route
without a declared permission fails). For each rule and method:

- anonymous: a 302 to /login for pages, a 401 for /api/ (public routes: anything but a 500);
- a role whose permissions (app/auth/permissions.ROLE_PERMISSIONS) lack the route's
  declared permission (app.security.required_permission): 403;
- a role that has it: never 401 or 403 (the world puts every role in scope of every row),
  never a 5xx, with GET for GET rules and a harmless empty body for writes;
- every HTML page served has no inline <script> and no on*= attributes (the CSP forbids them).
"""
from __future__ import annotations

import pytest

from app.auth.permissions import PUBLIC, ROLE_PERMISSIONS
from app.security import required_permission
from tests.conftest import TEST_PASSWORD
from tests.security.htmlcheck import csp_problems
from tests.security.world import ROLES, build_world, fill, is_api, methods

SKIP_ENDPOINTS = {"static"}


def all_rules(app):
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint not in SKIP_ENDPOINTS), key=lambda r: r.rule)


def test_every_route_declares_a_permission(app):
    with app.test_request_context():
        undeclared = [f"{r.rule} ({r.endpoint})" for r in app.url_map.iter_rules()
                      if required_permission(r.endpoint) is None]
    assert not undeclared, "routes without @requires(...) or @public: " + ", ".join(undeclared)


def test_every_declared_permission_is_in_the_table(app):
    from app.auth.permissions import ALL_PERMISSIONS

    with app.test_request_context():
        used = {required_permission(r.endpoint) for r in app.url_map.iter_rules()}
    assert used - {PUBLIC, None} <= ALL_PERMISSIONS


class _Crash:
    """Stands in for the response when the view raised (TESTING propagates exceptions): a 500."""

    status_code = 500
    mimetype = "text/plain"
    headers: dict = {}

    def __init__(self, exc: BaseException):
        self.exc = exc

    def get_data(self, as_text=False):
        return f"{type(self.exc).__name__}: {self.exc}"


def _request(client, method: str, path: str, token: str | None = None):
    try:
        return _send(client, method, path, token)
    except Exception as exc:  # noqa: BLE001 - reported as a 500 with the route, the walk goes on
        return _Crash(exc)


def _send(client, method: str, path: str, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(path, headers=headers)
    if is_api(path):
        return client.open(path, method=method, json={}, headers=headers)
    return client.open(path, method=method, data={}, headers=headers)


def _signed_in(app, user):
    client = app.test_client()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.data[:300]
    return client


def _token(app, user) -> str:
    response = app.test_client().post("/api/v1/auth/tokens", json={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 201, response.json
    return response.json["token"]


def _check_html(response, where: str, problems: list[str]) -> None:
    if response.mimetype == "text/html":
        for problem in csp_problems(response.get_data(as_text=True)):
            problems.append(f"{where}: {problem}")


def test_anonymous_visitors_are_sent_to_sign_in(app, db, clock):
    world = build_world(db.session)
    client = app.test_client()
    failures, html_problems = [], []
    with app.test_request_context():
        permissions = {r.endpoint: required_permission(r.endpoint) for r in app.url_map.iter_rules()}
    for rule in all_rules(app):
        path = fill(rule, world.ids)
        for method in methods(rule):
            response = _request(client, method, path)
            where = f"{method} {path} ({rule.endpoint})"
            status = response.status_code
            _check_html(response, where, html_problems)
            if status >= 500:
                failures.append(f"{where}: {status}")
            elif permissions[rule.endpoint] == PUBLIC:
                continue
            elif is_api(path):
                if status != 401:
                    failures.append(f"{where}: expected 401, got {status}")
            elif status != 302 or not response.headers["Location"].startswith("/login"):
                failures.append(f"{where}: expected a redirect to /login, got {status} {response.headers.get('Location')}")
    assert not failures, "\n".join(failures)
    assert not html_problems, "\n".join(html_problems)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_table_says(app, db, clock, role):
    world = build_world(db.session)
    user = world.users[role]
    granted = ROLE_PERMISSIONS[role]
    token = _token(app, user)
    browser = _signed_in(app, user)
    with app.test_request_context():
        permissions = {r.endpoint: required_permission(r.endpoint) for r in app.url_map.iter_rules()}
    failures, html_problems = [], []
    walked = 0
    for rule in all_rules(app):
        path = fill(rule, world.ids)
        permission = permissions[rule.endpoint]
        allowed = permission == PUBLIC or permission in granted
        for method in methods(rule):
            client = browser
            if method != "GET" and not is_api(path):
                client = _signed_in(app, user)  # a write may sign out (POST /logout) or change the session
            response = _request(client, method, path, token if is_api(path) else None)
            walked += 1
            status = response.status_code
            where = f"{role} {method} {path} ({rule.endpoint}, needs {permission})"
            _check_html(response, where, html_problems)
            if status >= 500:
                failures.append(f"{where}: {status} {response.get_data(as_text=True)[:200]!r}")
            elif not allowed and status != 403:
                failures.append(f"{where}: not allowed, expected 403, got {status}")
            elif allowed and permission != PUBLIC and status in (401, 403):
                # (a public route may refuse for its own reasons, e.g. an unsigned webhook)
                failures.append(f"{where}: allowed, but got {status} {response.get_data(as_text=True)[:200]!r}")
    assert walked > 0
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)
    assert not html_problems, "\n".join(html_problems)
