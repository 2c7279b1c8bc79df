"""Two tablets syncing the same parent at the same moment: one mark, the later tap wins, no 500."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
import sqlalchemy as sa

from app.attendance.models import AttendanceMark, MarkReceipt

pytestmark = pytest.mark.postgres_only


@pytest.mark.parametrize("by_ids", [False, True], ids=["objects", "tap-by-ids"])
def test_simultaneous_first_marks_and_replays(app, db, group, during, by_ids):
    from app.attendance import services
    from app.cohorts.models import CohortSession
    from app.enrolment.models import Enrolment

    session_id, enrolment_id, user_id = group.session.id, group.enrolment.id, group.facilitator.id
    taps = [("attended", "t-1", during), ("absent", "t-2", during + timedelta(minutes=1)),
            ("attended", "t-1", during), ("absent", "t-2", during + timedelta(minutes=1))]
    barrier = Barrier(len(taps))

    def send(tap):
        status, cid, when = tap
        with app.app_context():
            from app.auth.models import User
            from app.extensions import db as _db

            s = _db.session
            cohort_session = s.get(CohortSession, session_id)
            enrolment = s.get(Enrolment, enrolment_id)
            actor = s.get(User, user_id)
            barrier.wait()
            if by_ids:  # the API's path: session, enrolment, locked mark and receipt read in one query
                result = services.tap(s, session_id, enrolment_id, status=status, client_mark_id=cid,
                                      marked_at=when, now=during + timedelta(minutes=5), actor=actor)
            else:
                result = services.mark_attendance(s, cohort_session, enrolment, status=status, client_mark_id=cid,
                                                  marked_at=when, now=during + timedelta(minutes=5), actor=actor)
            s.commit()
            outcome = result.outcome
            s.remove()
            return outcome

    with ThreadPoolExecutor(len(taps)) as pool:
        outcomes = list(pool.map(send, taps))
    db.session.expire_all()
    marks = db.session.scalars(sa.select(AttendanceMark)).all()
    assert len(marks) == 1 and marks[0].status == "absent" and marks[0].client_mark_id == "t-2"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MarkReceipt)) == 2
    assert sorted(outcomes).count("replay") >= 2, outcomes
