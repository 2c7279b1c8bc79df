"""The places invariant under real concurrency: PostgreSQL, real threads, one transaction each."""
import threading

import pytest
import sqlalchemy as sa

from app.enrolment.models import Enrolment
from app.enrolment.places import enrol_or_waitlist, waiting_list
from tests import factories

pytestmark = pytest.mark.postgres_only


def test_thirty_simultaneous_enrolments_into_twelve_places(app, db, now):
    from app.cohorts.models import Cohort
    from app.parents.models import Parent

    cohort = factories.make_cohort(db.session, capacity=12)
    parent_ids = [factories.make_parent(db.session).id for _ in range(30)]
    cohort_id = cohort.id
    db.session.commit()

    start = threading.Barrier(len(parent_ids))
    errors: list[BaseException] = []

    def enrol(parent_id: int) -> None:
        from app.extensions import db as _db

        try:
            with app.app_context():
                session = _db.session
                # Wait before touching the database: a thread holding a pooled connection at the
                # barrier would starve the others of connections.
                start.wait(timeout=30)
                c = session.get(Cohort, cohort_id)
                p = session.get(Parent, parent_id)
                enrol_or_waitlist(session, c, p, referral_source="self_referral", now=now, actor=None)
                session.commit()
                session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=enrol, args=(pid,)) for pid in parent_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)

    db.session.expire_all()
    rows = db.session.execute(sa.select(Enrolment.id, Enrolment.status).where(
        Enrolment.cohort_id == cohort_id).order_by(Enrolment.id)).all()
    statuses = [s for _, s in rows]
    assert len(rows) == 30
    assert statuses.count("enrolled") == 12
    assert statuses.count("waitlisted") == 18
    # Places went to the first twelve to take the lock, the queue follows in arrival order.
    assert statuses == ["enrolled"] * 12 + ["waitlisted"] * 18
    queue = waiting_list(db.session, cohort_id)
    assert [e.id for e in queue] == [i for i, s in rows if s == "waitlisted"]
