"""A Circle of Security cohort that has started, with a facilitator on the first sessions' rota."""
from datetime import datetime, timedelta, timezone

import pytest

from tests.factories import make_cohort, make_enrolment, make_parent, make_rota_assignment, make_user


class Setup:
    pass


@pytest.fixture
def group(db):
    """Cohort (8 sessions from Tue 8 Sep 2026 10:00), a worker's parent enrolled, a facilitator on every session."""
    s = Setup()
    s.worker = make_user(db.session, role="worker")
    s.facilitator = make_user(db.session, role="facilitator")
    s.admin = make_user(db.session, role="admin")
    s.cohort = make_cohort(db.session)
    s.sessions = s.cohort.sessions
    s.session = s.sessions[0]
    s.parent = make_parent(db.session, worker_id=s.worker.id, first_name="Ama")
    s.enrolment = make_enrolment(db.session, cohort=s.cohort, parent=s.parent)
    for cs in s.sessions:
        make_rota_assignment(db.session, cs, s.facilitator)
    db.session.commit()
    return s


@pytest.fixture
def during():
    """Ten minutes into the first session (Tue 8 Sep 2026 10:10 London = 09:10 UTC)."""
    return datetime(2026, 9, 8, 9, 10, tzinfo=timezone.utc)


def at(base, minutes):
    return base + timedelta(minutes=minutes)
