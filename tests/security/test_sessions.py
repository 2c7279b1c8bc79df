"""Sign-in protections: per-account throttling, idle sign-out, cookies, passwords, admin reset."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth import throttle
from app.auth.models import ApiToken, User
from app.auth.services import COMMON_PASSWORDS, check_password_policy, is_common_password
from app.config import load_config
from app.errors import ValidationFailed
from tests import factories
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def throttled(app, db, clock):
    """Per-account throttling switched on (the test app has the limiter off), with a clean store."""
    app.config.update(LOGIN_THROTTLE_ENABLED=True, LOGIN_ACCOUNT_LIMIT=10, LOGIN_ACCOUNT_WINDOW_MINUTES=15)
    throttle.storage().reset()
    yield clock
    throttle.storage().reset()


def _fail_login(client, email, n):
    for _ in range(n):
        response = client.post("/login", data={"email": email, "password": "not-the-password"})
        assert response.status_code == 400


def test_ten_wrong_passwords_pause_the_account_for_fifteen_minutes(app, client, db, throttled):
    user = factories.make_user(db.session, role="worker")
    db.session.commit()
    _fail_login(client, user.email, 10)
    # even the right password is refused while the account is paused, with a clear message
    response = client.post("/login", data={"email": user.email.upper(), "password": TEST_PASSWORD})
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Too many wrong passwords for this account" in page and "15 minutes" in page
    assert int(response.headers["Retry-After"]) == 900
    assert f'value="{user.email.upper()}"' in page  # what was typed is kept
    api = app.test_client().post("/api/v1/auth/tokens", json={"email": user.email, "password": TEST_PASSWORD})
    assert api.status_code == 429 and api.json["error"]["code"] == "too_many_requests"
    # another account is not affected
    other = factories.make_user(db.session, role="worker")
    db.session.commit()
    assert client.post("/login", data={"email": other.email, "password": TEST_PASSWORD}).status_code == 302
    # a quarter of an hour later the account can sign in again
    throttled.set(throttled.now + timedelta(minutes=14))
    assert app.test_client().post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 429
    throttled.set(throttled.now + timedelta(minutes=2))
    assert app.test_client().post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 302


def test_api_failures_count_towards_the_same_account_limit(app, db, throttled):
    user = factories.make_user(db.session, role="facilitator")
    db.session.commit()
    client = app.test_client()
    for _ in range(5):
        assert client.post("/api/v1/auth/tokens", json={"email": user.email, "password": "nope-nope"}).status_code == 401
    _fail_login(client, user.email, 5)
    response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert "Too many wrong passwords" in response.json["error"]["message"]


def test_unknown_accounts_are_throttled_the_same_way(client, db, throttled):
    _fail_login(client, "nobody@example.org", 10)
    response = client.post("/login", data={"email": "nobody@example.org", "password": "whatever-it-is"})
    assert response.status_code == 429  # the answer does not tell whether the account exists


def test_a_successful_sign_in_clears_earlier_failures(client, db, throttled):
    user = factories.make_user(db.session)
    db.session.commit()
    _fail_login(client, user.email, 9)
    assert client.post("/login", data={"email": user.email, "password": TEST_PASSWORD}).status_code == 302
    assert throttle.failures(user.email, throttled.now) == 0


def test_the_store_keeps_no_sign_in_names(db, throttled):
    throttle.record_failure("Someone@Example.org", throttled.now)
    keys = throttle._keys("someone@example.org", throttled.now, 15)
    assert all("someone" not in k.lower() for k in keys)
    assert throttle.failures("SOMEONE@example.org ", throttled.now) == 1


def test_addresses_are_limited_by_flask_limiter_too(tmp_path):
    """With the limiter on (as in production), one address gets 429 after 20 sign-in posts a minute."""
    from app import create_app
    from app.extensions import db as _db, limiter

    # Flask-Limiter keeps `enabled` on the one shared Limiter object: put it back afterwards.
    was_enabled = limiter.enabled
    try:
        other = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'limit.db'}",
                            "GROUPWORK_ENV": "testing", "TESTING": True, "WTF_CSRF_ENABLED": False,
                            "RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
                            "LOGIN_THROTTLE_ENABLED": False})
        with other.app_context():
            _db.create_all()
        client = other.test_client()
        statuses = [client.post("/login", data={"email": f"x{i}@example.org", "password": "wrong-password"}).status_code
                    for i in range(21)]
        assert statuses[:20] == [400] * 20 and statuses[20] == 429
        api = [client.post("/api/v1/auth/tokens", json={"email": f"y{i}@example.org", "password": "wrong-password"})
               for i in range(21)]
        assert api[-1].status_code == 429 and api[-1].json["error"]["code"] == "too_many_requests"
        with other.app_context():
            _db.engine.dispose()
    finally:
        limiter.enabled = was_enabled
        limiter.reset()


def test_idle_sessions_end_after_fifteen_minutes(app, client, db, clock, login_as):
    login_as("worker")
    assert client.get("/").status_code == 200
    clock.set(clock.now + timedelta(minutes=14, seconds=59))
    assert client.get("/").status_code == 200  # each request restarts the idle time
    clock.set(clock.now + timedelta(minutes=15, seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.get("/").status_code == 302  # really signed out, not just redirected once
    assert "signed out because the page was left unused" in client.get("/login").get_data(as_text=True)


def test_idle_api_calls_with_the_cookie_get_401(app, client, db, clock, login_as):
    login_as("admin")
    clock.set(clock.now + timedelta(minutes=16))
    response = client.get("/api/v1/programmes")
    assert response.status_code == 401


def test_bearer_tokens_are_not_subject_to_the_idle_rule(app, db, clock, api_as):
    api = api_as("admin")
    clock.set(clock.now + timedelta(minutes=30))
    assert api.get("/api/v1/programmes").status_code == 200


def test_session_cookie_is_httponly_samesite_and_secure_over_https(app, client, db):
    user = factories.make_user(db.session)
    db.session.commit()
    app.config["SESSION_COOKIE_SECURE"] = True
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert response.headers.get("Strict-Transport-Security", "").startswith("max-age=")
    production = load_config({"GROUPWORK_ENV": "production", "SECRET_KEY": "x" * 40,
                              "DATABASE_URL": "postgresql://gw@db.example/gw"})
    assert production["SESSION_COOKIE_SECURE"] and production["SESSION_COOKIE_HTTPONLY"]
    assert production["SESSION_COOKIE_SAMESITE"] == "Lax" and production["REMEMBER_COOKIE_HTTPONLY"]
    assert production["PERMANENT_SESSION_LIFETIME"] == 15 * 60


def test_every_response_carries_the_security_headers(client, db, login_as):
    login_as("admin")
    for path in ("/", "/login", "/api/v1/openapi.json", "/no-such-page"):
        response = client.get(path)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"], path
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"], path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"


# --- passwords ------------------------------------------------------------------------------------

def test_the_common_password_list_has_hundreds_of_entries():
    assert len(COMMON_PASSWORDS) >= 300


@pytest.mark.parametrize("password", [
    "password1234", "Password1234!", "monkey123456", "!!liverpool2024", "Sunshine-2026!", "qwertyuiopas",
    "1234567890123", "iloveyou2026", "tigger tigger", "aaaaaaaaaaaaaaaa", "Groupwork2026", "abcdefghijklm",
])
def test_common_passwords_are_refused(password):
    assert is_common_password(password)
    with pytest.raises(ValidationFailed) as err:
        check_password_policy(password)
    assert err.value.field == "password"


@pytest.mark.parametrize("password", ["a long memorable passphrase", TEST_PASSWORD, "blue-kettle-morning",
                                      "837261940583", "Dw7#kq9!Lp2@"])
def test_good_passwords_pass(password):
    check_password_policy(password)


def test_short_passwords_are_refused():
    with pytest.raises(ValidationFailed, match="at least 12"):
        check_password_policy("Xk9#mQ2!")


# --- an admin resets a colleague's password -------------------------------------------------------

def test_admin_reset_gives_a_temporary_password_that_must_be_changed(app, client, db, clock, login_as):
    colleague = factories.make_user(db.session, role="facilitator")
    db.session.commit()
    colleague_api = app.test_client()
    old_token = colleague_api.post("/api/v1/auth/tokens",
                                   json={"email": colleague.email, "password": TEST_PASSWORD}).json["token"]
    login_as("admin")
    url = f"/users/{colleague.id}/password-reset"
    assert "Reset a password" in client.get(url).get_data(as_text=True)
    refused = client.post(url, data={})
    assert refused.status_code == 400 and "Confirm that you will pass the temporary password on" in refused.get_data(
        as_text=True)
    done = client.post(url, data={"confirm": "y"})
    assert done.status_code == 200
    page = done.get_data(as_text=True)
    temporary = page.split('id="temporary-password">')[1].split("<")[0].strip()
    assert len(temporary) >= 12
    assert done.headers["Cache-Control"] == "no-store"
    db.session.expire_all()
    assert db.session.get(User, colleague.id).must_change_password
    # the old password and the old API token no longer work
    assert colleague_api.get("/api/v1/programmes", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    other = app.test_client()
    assert other.post("/login", data={"email": colleague.email, "password": TEST_PASSWORD}).status_code == 400
    # the temporary one signs in, but only to the change-password page
    signed = other.post("/login", data={"email": colleague.email, "password": temporary})
    assert signed.status_code == 302 and signed.headers["Location"].startswith("/account/password")
    blocked = other.get("/sessions/mine")
    assert blocked.status_code == 302 and blocked.headers["Location"].startswith("/account/password")
    assert other.get("/api/v1/programmes").status_code == 403
    token_refused = app.test_client().post("/api/v1/auth/tokens", json={"email": colleague.email, "password": temporary})
    assert token_refused.status_code == 403
    # choosing a new password frees the account
    weak = other.post("/account/password", data={"current_password": temporary, "new_password": "password1234",
                                                 "confirm_password": "password1234"})
    assert weak.status_code == 400 and "too common" in weak.get_data(as_text=True)
    changed = other.post("/account/password", data={"current_password": temporary,
                                                    "new_password": "a brand new passphrase",
                                                    "confirm_password": "a brand new passphrase"})
    assert changed.status_code == 302
    assert other.get("/").status_code == 200
    db.session.expire_all()
    assert not db.session.get(User, colleague.id).must_change_password
    from app.audit.models import AuditEvent

    actions = [e.action for e in db.session.query(AuditEvent).filter_by(entity_type="User", entity_id=colleague.id)
               .order_by(AuditEvent.id)]
    assert actions == ["password_reset", "password_change"]
    assert db.session.query(ApiToken).filter(ApiToken.revoked_at.is_(None), ApiToken.user_id == colleague.id).count() == 0


def test_only_admins_can_reset_and_not_their_own(client, db, login_as):
    admin = login_as("admin")
    response = client.post(f"/users/{admin.id}/password-reset", data={"confirm": "y"})
    assert response.status_code == 400 and "Change your password" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(User, admin.id).must_change_password
    assert client.get("/users/999999/password-reset").status_code == 404


def test_worker_cannot_reset_passwords(client, db, login_as):
    colleague = factories.make_user(db.session, role="facilitator")
    db.session.commit()
    login_as("worker")
    assert client.post(f"/users/{colleague.id}/password-reset", data={"confirm": "y"}).status_code == 403


def test_change_password_checks_the_current_one_and_the_match(client, db, login_as):
    login_as("worker")
    wrong = client.post("/account/password", data={"current_password": "not it at all", "new_password": "x" * 3,
                                                   "confirm_password": "y" * 3})
    page = wrong.get_data(as_text=True)
    assert wrong.status_code == 400 and "The two new passwords are not the same" in page
    wrong = client.post("/account/password", data={"current_password": "not it at all",
                                                   "new_password": "a brand new passphrase",
                                                   "confirm_password": "a brand new passphrase"})
    assert wrong.status_code == 400 and "Your current password is not right" in wrong.get_data(as_text=True)


def test_the_session_cookie_is_only_rewritten_when_the_last_seen_time_moves(app, client, db, clock, login_as):
    login_as("admin")
    client.get("/")
    clock.set(clock.now + timedelta(seconds=5))
    assert "Set-Cookie" not in client.get("/").headers  # a quick second request: nothing to re-send
    clock.set(clock.now + timedelta(seconds=40))
    assert "session=" in client.get("/").headers.get("Set-Cookie", "")  # the idle clock restarts
    clock.set(clock.now + timedelta(minutes=14, seconds=50))
    assert client.get("/").status_code == 200
