"""Command-line interface: ``flask --app wsgi <command>``. Commands are thin: they call services and commit once."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.errors import DomainError
from app.extensions import db
from app.timeutil import LocalTimeError, now, parse_datetime


def _fail(message: str) -> None:
    raise click.ClickException(message)


@click.command("create-user")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["admin", "facilitator", "worker", "commissioner"]))
@click.option("--name", "full_name", default="", help="The person's name as colleagues know it.")
def create_user_command(email: str, role: str, full_name: str) -> None:
    """Create a staff account; the password is prompted for (or read from standard input's first line)."""
    from app.auth.services import create_user

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = create_user(db.session, email, password, role, full_name=full_name,
                           hash_method=current_app.config["PASSWORD_HASH_METHOD"])
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        _fail(exc.message)
    click.echo(f"Created {role} account {user.email}.")


@click.command("demo-data")
def demo_data_command() -> None:
    """Load a realistic demo: centres, staff, cohorts of both programmes, families."""
    from app.demo import load_demo

    from app.demo_data import DEMO_DOMAIN, DEMO_PASSWORD

    summary = load_demo(db.session, now())
    db.session.commit()
    if not summary:
        click.echo("The demo data is already loaded.")
    else:
        click.echo("Demo loaded: " + ", ".join(f"{v} {k}" for k, v in summary.items()))
    click.echo(f"Sign in as coordinator@{DEMO_DOMAIN} (admin), facilitator@{DEMO_DOMAIN}, worker@{DEMO_DOMAIN} "
               f"or commissioner@{DEMO_DOMAIN}; password: {DEMO_PASSWORD}")


scheduler_cli = AppGroup("scheduler", help="Background work: reminders, follow-ups, retention.")


def parse_now_option(value: str | None):
    """The moment a `--now` option names (ISO 8601; London time without an offset), or now."""
    if not value:
        return now()
    try:
        return parse_datetime(value)
    except (ValueError, LocalTimeError) as exc:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time ({exc})", param_hint="--now") from None


@scheduler_cli.command("tick")
@click.option("--now", "now_text", default=None, help="Run as of this ISO 8601 time (default: now).")
def tick_command(now_text: str | None) -> None:
    """Run one pass of all due work as of a moment, then exit."""
    from app.scheduler import tick

    results = tick(parse_now_option(now_text))
    for task, summary in results.items():
        click.echo(f"{task.split(':')[-1]}: {summary}")


@scheduler_cli.command("run")
@click.option("--interval", default=60, show_default=True, help="Seconds between ticks.")
def run_command(interval: int) -> None:
    """Run the scheduler: one tick every minute until stopped. Run exactly one per deployment or more; ticks are safe to overlap."""
    from app.scheduler import tick

    app = current_app._get_current_object()

    def job() -> None:
        with app.app_context():
            tick(now())

    scheduler = build_scheduler(job, interval)
    click.echo(f"Scheduler running: a tick every {interval}s. Ctrl-C to stop.")
    job()
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass


def build_scheduler(job, interval: int, first_run=None):
    """APScheduler as the clock: `job` every `interval` seconds, run in this process's main thread.

    Ticks run one at a time in the main thread (APScheduler's DebugExecutor), not in a pool
    thread: the process stays single-threaded, so a tick with a lot to send may fork sending
    processes (app/messaging/jobs.py). A tick that overruns is followed by one catch-up tick.
    The first run is `interval` from now unless `first_run` (a datetime) says otherwise.
    """
    from apscheduler.executors.debug import DebugExecutor
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    when = {"next_run_time": first_run} if first_run is not None else {}  # (None would add it paused)
    scheduler.add_job(job, "interval", seconds=interval, max_instances=1, coalesce=True, misfire_grace_time=None,
                      **when)
    return scheduler


def register(app: Flask) -> None:
    """Add every command to the app's CLI."""
    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(scheduler_cli)
    from importlib import import_module

    # feature commands (import-areas, backup, ...) live beside their feature
    for module_name in ("app.eligibility.cli", "app.audit.cli", "app.messaging.cli"):
        try:
            module = import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        for command in getattr(module, "COMMANDS", ()):
            app.cli.add_command(command)
