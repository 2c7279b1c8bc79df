"""The migrations create exactly the models' schema, on SQLite and on PostgreSQL."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.conftest import _postgres_database


@pytest.fixture
def empty_database_url(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    if base:
        url, drop = _postgres_database(base)
        yield url
        drop()
    else:
        yield f"sqlite:///{tmp_path / 'migrate.db'}"


def test_upgrade_on_an_empty_database_matches_the_models(empty_database_url):
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url, "GROUPWORK_ENV": "testing", "TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
            tables = set(sa.inspect(conn).get_table_names())
        db.engine.dispose()
    assert diff == []
    assert set(db.metadata.tables) <= tables and "alembic_version" in tables


def test_constraints_hold_in_the_database(db):
    """One mark per enrolment and session, one enrolment per parent and cohort, statuses checked."""
    from app.attendance.models import AttendanceMark
    from app.enrolment.models import Enrolment
    from app.timeutil import now
    from tests import factories

    enrolment = factories.make_enrolment(db.session)
    session_id = enrolment.cohort.sessions[0].id
    db.session.commit()

    db.session.add(Enrolment(cohort_id=enrolment.cohort_id, parent_id=enrolment.parent_id, status="enrolled"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()

    for _ in range(2):
        db.session.add(AttendanceMark(session_id=session_id, enrolment_id=enrolment.id, status="attended",
                                      marked_at=now()))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()

    db.session.add(AttendanceMark(session_id=session_id, enrolment_id=enrolment.id, status="maybe", marked_at=now()))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()

    enrolment = db.session.get(Enrolment, enrolment.id)
    enrolment.status = "withdrawn"  # without a reason
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_times_round_trip_as_aware_utc(db):
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from app.cohorts.models import CohortSession
    from tests import factories

    cohort = factories.make_cohort(db.session)
    s = cohort.sessions[0]
    s.starts_at = datetime(2026, 10, 27, 10, 0, tzinfo=ZoneInfo("Europe/London"))
    s.ends_at = datetime(2026, 10, 27, 12, 0, tzinfo=ZoneInfo("Europe/London"))
    db.session.commit()
    db.session.expire_all()
    s = db.session.get(CohortSession, s.id)
    assert s.starts_at == datetime(2026, 10, 27, 10, 0, tzinfo=timezone.utc)
    assert s.starts_at.tzinfo is not None and s.starts_at.utcoffset().total_seconds() == 0
    with pytest.raises(sa.exc.StatementError):
        s.starts_at = datetime(2026, 10, 27, 10, 0)  # naive: refused
        db.session.flush()
    db.session.rollback()
