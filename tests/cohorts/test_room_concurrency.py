"""Two coordinators booking the same room at the same moment: the room lock lets only one in (PostgreSQL)."""
import threading
from datetime import datetime

import pytest

from app.cohorts.models import Cohort
from app.errors import Conflict
from tests import factories

pytestmark = pytest.mark.postgres_only


def test_simultaneous_cohorts_in_one_room_give_one_cohort_and_conflicts(app, db, now):
    from app.centres.models import Centre, Room
    from app.cohorts.services import create_cohort

    centre = factories.make_centre(db.session)
    centre_id, room_id = centre.id, centre.rooms[0].id
    db.session.commit()
    attempts = 6
    start = threading.Barrier(attempts)
    outcomes: list[str] = []

    def book(i: int) -> None:
        from app.extensions import db as _db

        with app.app_context():
            session = _db.session
            start.wait(timeout=30)
            try:
                create_cohort(session, programme_key="together_time", centre=session.get(Centre, centre_id),
                              room=session.get(Room, room_id), first_session=datetime(2026, 10, 6, 10, i * 10),
                              now=now, actor=None)
                session.commit()
                outcomes.append("created")
            except Conflict:
                session.rollback()
                outcomes.append("conflict")
            except BaseException as exc:  # noqa: BLE001 - reported to the main thread
                session.rollback()
                outcomes.append(repr(exc))
            finally:
                session.remove()

    threads = [threading.Thread(target=book, args=(i,)) for i in range(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["conflict"] * (attempts - 1) + ["created"]
    assert db.session.query(Cohort).count() == 1
