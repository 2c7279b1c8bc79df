"""Test fixtures: a fresh app and database (SQLite, or PostgreSQL with TEST_DATABASE_URL), clients, a clock.

Each pytest process (and each xdist worker) gets its own database: a SQLite file in a
temporary folder, or a PostgreSQL database created for the run and dropped after it.
Tables are emptied after every test, so tests never see each other's rows.
"""
from __future__ import annotations

import os
import re
import threading
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from tests import factories

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
TEST_PASSWORD = "Correct-Horse-Battery-9"


def _postgres_database(base_url: str) -> tuple[str, callable]:
    """Create a throwaway database on the server in base_url; return its URL and a dropper."""
    from app.config import normalise_database_url

    url = sa.engine.make_url(normalise_database_url(base_url))
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        reason = f"PostgreSQL at {url.host}:{url.port} is not reachable ({exc.orig.__class__.__name__})"
        if IN_CI:
            pytest.exit(f"CI requires PostgreSQL: {reason}", returncode=3)
        pytest.skip(f"{reason}; start it to run the PostgreSQL pass", allow_module_level=True)
    name = f"gw_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
                {"n": name})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """The URL of this test process's own, empty database."""
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    if base:
        url, drop = _postgres_database(base)
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as on a real server.

    Without this, requests would reuse the test's app context: `g` (and the signed-in user
    Flask-Login keeps there) and the database session would leak from one request to the next.
    Commit what a request should see.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url):
    """The application, with the schema created once for the session."""
    os.environ.setdefault("GROUPWORK_ENV", "testing")
    from app import create_app
    from app.extensions import db

    application = create_app({
        "TESTING": True,
        "GROUPWORK_ENV": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "PUBLIC_BASE_URL": "https://groupwork.test",
        "SMS_BACKEND": "console",
        "SERVER_NAME": None,
    })
    application.test_client_class = IsolatedClient
    with application.app_context():
        db.create_all()
        # every engine in this process (tests may build their own app on the same database)
        if not sa.event.contains(sa.engine.Engine, "before_cursor_execute", _track_writes):
            sa.event.listen(sa.engine.Engine, "before_cursor_execute", _track_writes)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


_WRITE = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|COPY)\s+\"?(\w+)", re.IGNORECASE)
_written: set[str] = set()


def _track_writes(conn, cursor, statement, parameters, context, executemany):
    """Remember which tables a test wrote to, so only those are emptied afterwards."""
    match = _WRITE.match(statement)
    if match:
        _written.add(match.group(1))


def _empty_all_tables(db) -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        for table in tables:
            # Only tables written to can hold rows; DELETE (children first) is cheaper than TRUNCATE here.
            if table.name in _written or conn.dialect.name == "sqlite":
                conn.execute(table.delete())
    _written.clear()


@pytest.fixture
def db(app):
    """The database session inside an app context; every table is emptied afterwards."""
    from app.extensions import db as _db

    ctx = app.app_context()
    ctx.push()
    saved = dict(app.config)
    try:
        yield _db
    finally:
        _db.session.rollback()
        _db.session.remove()
        _empty_all_tables(_db)
        app.config.clear()
        app.config.update(saved)
        ctx.pop()


@pytest.fixture
def now():
    """A fixed 'now' for services: Tuesday 1 September 2026, 09:00 UTC (10:00 in London)."""
    return datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock(app, db, now):
    """Fix the app's clock (timeutil.now) for web and API tests; set .now to move it."""

    class Clock:
        def __init__(self, moment):
            self.set(moment)

        def set(self, moment):
            self.now = moment
            app.config["FIXED_NOW"] = moment

    return Clock(now)


@pytest.fixture
def client(app, db):
    """A test client for the HTML pages."""
    return app.test_client()


def login(client, user, password: str = TEST_PASSWORD):
    """Sign a user in through the real login form."""
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.data[:500]
    return response


@pytest.fixture
def login_as(client, db):
    """login_as(role or user): create (if needed) and sign in a user; returns the user."""

    def _login(who="admin", **kwargs):
        user = factories.make_user(db.session, role=who, **kwargs) if isinstance(who, str) else who
        db.session.commit()
        login(client, user)
        return user

    return _login


class ApiClient:
    """JSON calls with a bearer token."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers=None):
        h = dict(headers or {})
        if self.token:
            h.setdefault("Authorization", f"Bearer {self.token}")
        return h

    def get(self, path, **kw):
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(path, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, path, json=None, **kw):
        return self.client.put(path, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, path, json=None, **kw):
        return self.client.patch(path, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path, **kw):
        return self.client.delete(path, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def api_as(app, db):
    """api_as(role or user) -> ApiClient authenticated with a real token from POST /api/v1/auth/tokens."""

    def _api(who="admin", **kwargs):
        user = factories.make_user(db.session, role=who, **kwargs) if isinstance(who, str) else who
        db.session.commit()
        client = app.test_client()
        response = client.post("/api/v1/auth/tokens", json={"email": user.email, "password": TEST_PASSWORD})
        assert response.status_code == 201, response.json
        api = ApiClient(client, response.json["token"])
        api.user = user
        return api

    return _api


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]


# Browser tests: the app served on 127.0.0.1 by a real HTTP server, driven in Debian's Chromium.
@pytest.fixture
def live_server(app, db):
    """The app served over HTTP on a free loopback port for the duration of a test."""
    app.config["WTF_CSRF_ENABLED"] = True  # the real pages, with real CSRF
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    class Live:
        url = f"http://127.0.0.1:{server.server_port}"

    try:
        yield Live
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser profile (cookies, storage, service workers) per test, tablet-sized."""
    ctx = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    """A new tab."""
    p = context.new_page()
    p.set_default_timeout(10_000)
    yield p
    p.close()




def pytest_collection_modifyitems(config, items):
    """PostgreSQL-only tests run in the PostgreSQL pass; browser tests need Debian's Chromium."""
    on_postgres = bool(os.environ.get("TEST_DATABASE_URL", "").strip())
    pg_skip = pytest.mark.skip(reason="needs PostgreSQL: runs in the PostgreSQL pass (TEST_DATABASE_URL)")
    have_chromium = os.path.exists(CHROMIUM)
    browser_skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    for item in items:
        if "postgres_only" in item.keywords and not on_postgres:
            item.add_marker(pg_skip)
        if "browser" in item.keywords and not have_chromium:
            if IN_CI:
                raise pytest.UsageError(f"CI requires Chromium at {CHROMIUM} for browser tests")
            item.add_marker(browser_skip)
