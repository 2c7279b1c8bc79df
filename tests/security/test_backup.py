"""Backups: SQLite's online backup, a tested restore, and the PostgreSQL recipe."""
from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from app.audit.cli import PG_DUMP_RECIPE


@pytest.fixture
def sqlite_app(tmp_path):
    """An app on its own SQLite file, with its schema, as a production SQLite install would be."""
    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'live.db'}", "GROUPWORK_ENV": "testing",
                      "TESTING": True, "RATELIMIT_ENABLED": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _parent_names(app):
    from app.extensions import db
    from app.parents.models import Parent

    with app.app_context():
        names = sorted(db.session.scalars(sa.select(Parent.first_name)))
        db.session.remove()
        return names


def _add_parent(app, name):
    from app.extensions import db
    from tests import factories

    with app.app_context():
        factories.make_parent(db.session, first_name=name)
        db.session.commit()
        db.session.remove()


def test_backup_then_restore_brings_the_data_back(sqlite_app, tmp_path):
    _add_parent(sqlite_app, "Before")
    runner = sqlite_app.test_cli_runner()
    backup = tmp_path / "backups" / "groupwork.db"
    result = runner.invoke(args=["backup", str(backup)])
    assert result.exit_code == 0, result.output
    assert "Backed up to" in result.output
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT first_name FROM parents").fetchall() == [("Before",)]
    # life goes on after the backup...
    _add_parent(sqlite_app, "After")
    assert _parent_names(sqlite_app) == ["After", "Before"]
    # ...and a restore goes back to the moment of the backup
    refused = runner.invoke(args=["restore", str(backup)], input="n\n")
    assert refused.exit_code != 0 and _parent_names(sqlite_app) == ["After", "Before"]
    result = runner.invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    assert _parent_names(sqlite_app) == ["Before"]
    # the service works on the restored file
    _add_parent(sqlite_app, "Again")
    assert _parent_names(sqlite_app) == ["Again", "Before"]


def test_backup_refuses_to_overwrite_and_restore_refuses_foreign_files(sqlite_app, tmp_path):
    runner = sqlite_app.test_cli_runner()
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"")
    result = runner.invoke(args=["backup", str(existing)])
    assert result.exit_code != 0 and "already exists" in result.output
    junk = tmp_path / "junk.db"
    junk.write_text("not a database at all " * 100)
    result = runner.invoke(args=["restore", str(junk), "--yes"])
    assert result.exit_code != 0 and "not a SQLite database" in result.output
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE something (id INTEGER)")
    result = runner.invoke(args=["restore", str(other), "--yes"])
    assert result.exit_code != 0 and "not a Groupwork database" in result.output


def test_postgresql_gets_the_pg_dump_recipe(tmp_path):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://gw@127.0.0.1:1/gw", "GROUPWORK_ENV": "testing",
                      "TESTING": True})
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "x.db")])
    assert result.exit_code != 0
    assert "pg_dump --format=custom" in result.output and "pg_restore" in result.output
    assert not (tmp_path / "x.db").exists()
    assert "pg_restore --clean --if-exists" in PG_DUMP_RECIPE
