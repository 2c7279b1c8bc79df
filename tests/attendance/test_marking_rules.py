"""Not here only once a session is under way; apologies may come in advance."""
from datetime import timedelta

import pytest

from app.attendance.services import mark_attendance
from app.errors import ValidationFailed
from tests import factories


def test_absent_before_the_session_is_refused_but_apologies_are_taken(db):
    admin = factories.make_user(db.session, role="admin")
    enrolment = factories.make_enrolment(db.session)
    session = enrolment.cohort.sessions[2]
    three_days_before = session.starts_at - timedelta(days=3)
    with pytest.raises(ValidationFailed) as err:
        mark_attendance(db.session, session, enrolment, status="absent", client_mark_id="tap-1",
                        marked_at=three_days_before, now=three_days_before, actor=admin)
    assert "status" in err.value.fields and "apologies" in err.value.fields["status"][0]
    result = mark_attendance(db.session, session, enrolment, status="apologies", client_mark_id="tap-2",
                             marked_at=three_days_before, now=three_days_before, actor=admin)
    assert result.mark.status == "apologies"
    at_start = session.starts_at + timedelta(minutes=5)
    result = mark_attendance(db.session, session, enrolment, status="absent", client_mark_id="tap-3",
                             marked_at=at_start, now=at_start, actor=admin)
    assert result.mark.status == "absent"
