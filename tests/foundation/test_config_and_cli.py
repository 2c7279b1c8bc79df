"""Configuration from the environment, and the command line contract (run as real processes)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]


def test_development_defaults_to_sqlite_and_console_sms():
    config = load_config({})
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///") and config["SMS_BACKEND"] == "console"


def test_postgres_urls_use_psycopg3():
    config = load_config({"DATABASE_URL": "postgres://u@db:5432/gw"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db:5432/gw"


@pytest.mark.parametrize("environ,expected", [
    ({"GROUPWORK_ENV": "production", "DATABASE_URL": "postgresql://u@h/gw"}, "SECRET_KEY must be set"),
    ({"GROUPWORK_ENV": "production", "SECRET_KEY": "s" * 40}, "DATABASE_URL must be set in production"),
    ({"DATABASE_URL": "not a url"}, "DATABASE_URL is not a database URL"),
    ({"DATABASE_URL": "mysql://u@h/db"}, "must be PostgreSQL or SQLite"),
    ({"SMS_BACKEND": "carrier-pigeon"}, "SMS_BACKEND must be console or twilio"),
])
def test_unsafe_configuration_is_refused_with_a_reason(environ, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(environ)


def _run(args, tmp_path, stdin="", **env):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "GROUPWORK_", "FLASK_"))}
    environ.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    environ.update(env)
    return subprocess.run(FLASK + args, cwd=ROOT, env=environ, input=stdin, capture_output=True, text=True, timeout=60)


def test_production_without_secret_key_stops_with_one_line(tmp_path):
    result = _run(["db", "upgrade"], tmp_path, GROUPWORK_ENV="production", DATABASE_URL="postgresql://u@127.0.0.1/x")
    assert result.returncode != 0
    assert result.stderr.strip() == "groupwork: cannot start: SECRET_KEY must be set in production (a long random string)."


def test_create_user_reads_the_password_from_stdin_and_can_sign_in(app, db):
    from app.auth.services import authenticate
    from app.timeutil import now

    runner = app.test_cli_runner()
    password = "Smoke-Test-Passw0rd-2026!"
    created = runner.invoke(args=["create-user", "Coord@Example.org", "--role", "admin"],
                            input=f"{password}\n{password}\n")
    assert created.exit_code == 0, created.output
    assert "coord@example.org" in created.output
    assert authenticate(db.session, "coord@example.org", password, now()).role == "admin"
    again = runner.invoke(args=["create-user", "coord@example.org", "--role", "admin"], input=f"{password}\n")
    assert again.exit_code != 0 and "already exists" in again.output
    weak = runner.invoke(args=["create-user", "w@example.org", "--role", "worker"], input="short\n")
    assert weak.exit_code != 0 and "at least 12 characters" in weak.output
    bad_role = runner.invoke(args=["create-user", "w@example.org", "--role", "king"], input=f"{password}\n")
    assert bad_role.exit_code == 2 and "king" in bad_role.output


def test_scheduler_tick_rejects_a_bad_now(app, db):
    result = app.test_cli_runner().invoke(args=["scheduler", "tick", "--now", "yesterday"])
    assert result.exit_code == 2 and "--now" in result.output


def test_scheduler_tick_runs_every_task_as_of_the_given_time(app, db):
    result = app.test_cli_runner().invoke(args=["scheduler", "tick", "--now", "2027-09-01T12:00"])
    assert result.exit_code == 0, result.output
    assert "send_due_messages" in result.output and "failed" not in result.output


def test_a_fresh_checkout_gets_its_sqlite_folder(tmp_path):
    from app import create_app

    target = tmp_path / "not-yet" / "instance" / "groupwork.db"
    create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}", "TESTING": True})
    assert target.parent.is_dir()


def test_the_scheduler_process_ticks_on_its_own_thread_and_keeps_ticking():
    """Ticks run in the thread that runs the scheduler (in `scheduler run`, the main thread: so sending
    may fork), never in a pool thread; and the job is scheduled, not added paused."""
    import threading
    from datetime import datetime, timezone

    from app.cli import build_scheduler

    pending = build_scheduler(lambda: None, 60).get_jobs()[0]
    assert pending.trigger.interval.total_seconds() == 60 and pending.coalesce and pending.misfire_grace_time is None
    assert not hasattr(pending, "next_run_time") or pending.next_run_time is not None  # not paused

    ran, seen = threading.Event(), []

    def job():
        seen.append(threading.current_thread())
        ran.set()

    scheduler = build_scheduler(job, 60, first_run=datetime.now(timezone.utc))  # due now: no waiting
    loop = threading.Thread(target=scheduler.start, name="scheduler-loop")
    loop.start()
    try:
        assert ran.wait(10)
    finally:
        scheduler.shutdown(wait=False)
        loop.join(10)
    assert seen == [loop]
