"""Commands for data rights and resilience: backup, restore, retention, export-parent, erase-parent."""
from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from app.cli import parse_now_option
from app.errors import DomainError
from app.extensions import db
from app.timeutil import isoformat, now

PG_DUMP_RECIPE = """\
This database is PostgreSQL: back it up with PostgreSQL's own tools, which take a consistent
snapshot while the service runs:

  pg_dump --format=custom --no-owner --file=groupwork-$(date +%Y%m%d-%H%M).dump "$DATABASE_URL"

and restore into an empty database (stop the web and scheduler processes first):

  pg_restore --clean --if-exists --no-owner --dbname="$DATABASE_URL" groupwork-YYYYMMDD-HHMM.dump

(DATABASE_URL in the postgresql://user:password@host:5432/name form; keep dumps encrypted and off the
server, as they hold every family's record.)
"""


def _sqlite_path() -> Path:
    """The file of the configured SQLite database, or a ClickException for anything else."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise click.ClickException("backup and restore work on SQLite only.\n\n" + PG_DUMP_RECIPE)
    if not url.database or url.database == ":memory:":
        raise click.ClickException("The database is in memory: there is nothing on disk to back up.")
    return Path(url.database)


def _check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not a sound SQLite database of this service."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{path} is not a SQLite database ({exc}).") from None
    if ok != "ok":
        raise click.ClickException(f"{path} failed SQLite's integrity check: {ok}")
    if not {"users", "parents", "audit_events"} <= tables:
        raise click.ClickException(f"{path} is not a Groupwork database (its tables are missing).")


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Copy the SQLite database to PATH while the service runs (SQLite's online backup)."""
    source_path = _sqlite_path()
    if path.exists():
        raise click.ClickException(f"{path} already exists; choose a new file name.")
    path.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source_path, timeout=30)
    dst = sqlite3.connect(path)
    try:
        with dst:
            src.backup(dst, pages=1024)  # copies in steps, so writers are not held up
    finally:
        dst.close()
        src.close()
    _check_sqlite_file(path)
    click.echo(f"Backed up to {path} ({path.stat().st_size} bytes).")


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path: Path, yes: bool) -> None:
    """Replace the SQLite database with the backup at PATH. Stop the web and scheduler processes first."""
    target = _sqlite_path()
    _check_sqlite_file(path)
    if not yes:
        click.confirm(f"Replace everything in {target} with {path}?", abort=True)
    db.session.remove()
    db.engine.dispose()  # no pooled connection may keep the old pages
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    dst = sqlite3.connect(target, timeout=30)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()
    click.echo(f"Restored {target} from {path}.")


@click.command("retention")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="List what would be listed and erased; change nothing.")
@click.option("--now", "now_text", default=None, help="Act as of this ISO 8601 time (default: now).")
def retention_command(dry_run: bool, now_text: str | None) -> None:
    """Apply the retention rule: list families inactive for RETENTION_YEARS, erase them after the notice period."""
    from app.audit.jobs import apply_retention, retention_plan

    moment = parse_now_option(now_text)
    years = current_app.config.get("RETENTION_YEARS", 7)
    if dry_run:
        plan = retention_plan(db.session, moment)
        db.session.rollback()
        click.echo(f"Families with no activity for {years} years, as of {isoformat(moment)}: {len(plan)}")
        words = {"list": "will be listed; erased after", "wait": "listed; erased after", "erase": "will be erased now"}
        for item in plan:
            when = "" if item.action == "erase" else f" {item.erase_after.date()}"
            click.echo(f"  parent {item.parent_id}: last activity {item.last_activity.date()}, "
                       f"{words[item.action]}{when}")
        click.echo("Dry run: nothing was changed.")
        return
    click.echo(apply_retention(db.session, moment))


def _parent(parent_id: int):
    from app.parents.models import Parent

    parent = db.session.get(Parent, parent_id)
    if parent is None:
        raise click.ClickException(f"There is no parent {parent_id}.")
    return parent


@click.command("export-parent")
@with_appcontext
@click.argument("parent_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["json", "text"]), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def export_parent_command(parent_id: int, fmt: str, output: Path | None) -> None:
    """Everything held about a parent (subject access request), as JSON or a readable text summary."""
    from app.audit.datarights import export_parent, text_summary

    data = export_parent(db.session, _parent(parent_id), now=now(), actor=None)
    db.session.commit()
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n" if fmt == "json" else text_summary(data)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}.", err=True)


@click.command("erase-parent")
@with_appcontext
@click.argument("parent_id", type=int)
@click.option("--reason", required=True, help="Why (e.g. 'request by phone 3 May 2027'); no personal details.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_parent_command(parent_id: int, reason: str, yes: bool) -> None:
    """Erase a parent's personal data on request, keeping anonymous counts."""
    from app.audit.datarights import erase_parent

    parent = _parent(parent_id)
    if not yes:
        click.confirm(f"Erase the personal data of parent {parent_id}? This cannot be undone.", abort=True)
    try:
        counts = erase_parent(db.session, parent, reason=reason, now=now(), actor=None)
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"Erased parent {parent_id}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in counts.items()))


COMMANDS = [backup_command, restore_command, retention_command, export_parent_command, erase_parent_command]
