"""The shared factories build valid rows on both databases (the schema's constraints accept them)."""
from tests import factories


def test_factories_build_a_family_enrolled_in_a_cohort(db):
    enrolment = factories.make_enrolment(db.session)
    db.session.commit()
    assert enrolment.cohort.sessions and len(enrolment.cohort.sessions) == 8
    assert enrolment.parent.children[0].date_of_birth is not None
    # 10:00 London on 8 September 2026 (BST) is 09:00 UTC
    assert enrolment.cohort.sessions[0].starts_at.hour == 9


def test_the_database_enforces_references_on_both_databases(db):
    """A mark for a session that does not exist is refused by the database itself (SQLite included)."""
    from datetime import datetime, timezone

    import pytest
    import sqlalchemy as sa
    from sqlalchemy.exc import IntegrityError

    from app.attendance.models import AttendanceMark

    moment = datetime(2026, 9, 8, 9, 0, tzinfo=timezone.utc)
    with pytest.raises(IntegrityError):
        db.session.execute(sa.insert(AttendanceMark).values(
            session_id=987654, enrolment_id=987654, status="attended", is_late=False, marked_at=moment,
            is_auto=False, created_at=moment, updated_at=moment))
        db.session.flush()
    db.session.rollback()
