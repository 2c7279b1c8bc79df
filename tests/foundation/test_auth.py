"""Staff sign-in, API tokens, deny-by-default permissions, CSRF and security headers."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth.models import ApiToken
from app.auth.permissions import ROLE_PERMISSIONS, can
from app.auth.services import check_password_policy, create_user
from app.errors import Conflict, ValidationFailed
from tests import factories
from tests.conftest import TEST_PASSWORD

GENERIC_401 = "The email address or password is not right."


def test_login_page_signs_in_and_out(client, db):
    user = factories.make_user(db.session, role="worker", full_name="Amaka Obi")
    db.session.commit()
    assert client.get("/").status_code == 302
    response = client.post("/login", data={"email": user.email.upper(), "password": TEST_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Hello, Amaka Obi" in home
    assert 'href="/account/password">Change your password</a>' in home  # in the footer of every page
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("email,password", [("worker@example.org", "wrong-password"), ("nobody@example.org", TEST_PASSWORD)])
def test_wrong_password_and_unknown_user_look_the_same(client, db, email, password):
    factories.make_user(db.session, role="worker", email="worker@example.org")
    db.session.commit()
    response = client.post("/login", data={"email": email, "password": password})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The email address or password is not right" in page
    assert f'value="{email}"' in page  # what was typed is kept


def test_login_follows_only_local_next_urls(client, db):
    user = factories.make_user(db.session)
    db.session.commit()
    response = client.post("/login?next=https://evil.example/x", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/"


def test_a_disabled_account_cannot_sign_in(client, db):
    user = factories.make_user(db.session, is_enabled=False)
    db.session.commit()
    assert client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 400


def test_api_token_round_trip(app, db):
    user = factories.make_user(db.session, role="facilitator")
    db.session.commit()
    client = app.test_client()
    response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 201
    token = response.json["token"]
    assert len(token) >= 40 and db.session.query(ApiToken).one().token_hash != token
    ok = client.get("/api/v1/programmes", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert {p["key"]: p["weeks"] for p in ok.json["programmes"]} == {"together_time": 6, "circle_of_security": 8}


@pytest.mark.parametrize("body", [
    {"email": "facilitator@example.org", "password": "wrong-password"},
    {"email": "nobody@example.org", "password": TEST_PASSWORD},
])
def test_bad_credentials_get_the_same_401(app, db, body):
    factories.make_user(db.session, role="facilitator", email="facilitator@example.org")
    db.session.commit()
    response = app.test_client().post("/api/v1/auth/tokens", json=body)
    assert response.status_code == 401
    assert response.json == {"error": {"code": "unauthorized", "message": GENERIC_401, "fields": {}}}


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer ", "Basic abc", "Bearer " + "x" * 500, "Bearer \u00e9\u00e9"])
def test_malformed_tokens_get_401(app, db, header):
    response = app.test_client().get("/api/v1/programmes", headers={"Authorization": header})
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_expired_and_revoked_tokens_get_401(app, db, api_as):
    api = api_as("admin")
    assert api.get("/api/v1/programmes").status_code == 200
    row = db.session.query(ApiToken).one()
    row.expires_at = row.created_at - timedelta(seconds=1)
    db.session.commit()
    assert api.get("/api/v1/programmes").status_code == 401
    row.expires_at = row.created_at + timedelta(hours=1)
    row.revoked_at = row.created_at
    db.session.commit()
    assert api.get("/api/v1/programmes").status_code == 401


def test_token_request_validation_names_the_fields(app, db):
    client = app.test_client()
    response = client.post("/api/v1/auth/tokens", json={"email": 5})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"email", "password"}
    assert client.post("/api/v1/auth/tokens", data="not json", content_type="application/json").status_code in (400, 422)


def test_commissioner_cannot_use_operational_endpoints(api_as):
    api = api_as("commissioner")
    response = api.get("/api/v1/programmes")
    assert response.status_code == 403 and response.json["error"]["code"] == "forbidden"


def test_the_role_table_is_least_privilege():
    admin = ROLE_PERMISSIONS["admin"]
    assert all(perms <= admin for perms in ROLE_PERMISSIONS.values())
    assert ROLE_PERMISSIONS["commissioner"] == {"self", "reports.aggregate"}
    assert not can(None, "self")
    assert "parents.view" not in ROLE_PERMISSIONS["facilitator"]
    assert "register.mark" not in ROLE_PERMISSIONS["worker"]


def test_a_route_without_a_declared_permission_is_closed(app):
    from flask import Blueprint

    from app import create_app

    other = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "GROUPWORK_ENV": "testing", "TESTING": True})
    bp = Blueprint("undeclared", __name__)
    bp.add_url_rule("/undeclared", "open", lambda: "secret")
    other.register_blueprint(bp)
    assert other.test_client().get("/undeclared").status_code == 403


def test_cookie_authenticated_api_writes_need_the_csrf_header(app, client, db):
    user = factories.make_user(db.session)
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = True
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token}).status_code == 302
    # a write through the session cookie without the header is refused...
    response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 201  # public endpoint: no session needed, so no CSRF either
    refused = client.post("/logout")
    assert refused.status_code == 400  # the HTML form without its token


def test_security_headers_and_no_caching_of_pages(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in response.get_data(as_text=True)


def test_password_policy():
    with pytest.raises(ValidationFailed) as err:
        check_password_policy("short")
    assert err.value.field == "password"
    with pytest.raises(ValidationFailed):
        check_password_policy("password1234")
    check_password_policy("a long memorable passphrase")


def test_create_user_service_refuses_duplicates_and_bad_roles(db):
    create_user(db.session, "Coord@Example.org", "a long memorable passphrase", "admin", hash_method="pbkdf2:sha256:1000")
    with pytest.raises(Conflict):
        create_user(db.session, "coord@example.org", "a long memorable passphrase", "admin")
    with pytest.raises(ValidationFailed) as err:
        create_user(db.session, "x@example.org", "a long memorable passphrase", "superuser")
    assert err.value.field == "role"
