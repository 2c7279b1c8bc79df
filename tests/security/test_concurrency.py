"""Concurrency on PostgreSQL: real threads, each request in its own app context and transaction.

50 people enrol into a 12-place cohort at once, 50 families book the last crèche places at
once, and two tablets mark the same register at once. No invariant may break (places,
crèche capacity and ratios, one mark per parent and session) and no answer may be other
than a success, a waiting-list place or a clear 409.
"""
from __future__ import annotations

import threading
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from tests import factories
from tests.conftest import TEST_PASSWORD

pytestmark = pytest.mark.postgres_only

THREADS = 50


def _token(app, user) -> str:
    response = app.test_client().post("/api/v1/auth/tokens", json={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 201, response.json
    return response.json["token"]


def _together(jobs) -> list:
    """Run the callables in threads released at the same moment; returns their results (or exceptions)."""
    start = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        try:
            start.wait(timeout=30)
            results[i] = job()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread is stuck (deadlock?)"
    return results


def _eligible(db, postcode="SW9 7QD"):
    from app.eligibility.models import Ward, WardPostcode

    if db.session.get(WardPostcode, postcode) is None:
        ward = Ward(name=f"Ward {uuid.uuid4().hex[:6]}")
        ward.postcodes.append(WardPostcode(postcode=postcode))
        db.session.add(ward)


def test_fifty_enrolments_at_once_into_twelve_places(app, db, clock):
    from app.enrolment.models import Enrolment

    if not any(r.rule == "/api/v1/cohorts/<int:cohort_id>/enrolments" for r in app.url_map.iter_rules()):
        pytest.skip("the enrolment API is not in the app yet")
    _eligible(db)
    worker = factories.make_user(db.session, role="worker")
    cohort = factories.make_cohort(db.session, capacity=12)
    parent_ids = [factories.make_parent(db.session, worker_id=worker.id).id for _ in range(THREADS)]
    db.session.commit()
    cohort_id = cohort.id  # plain values only in the threads: no ORM object crosses into them
    token = _token(app, worker)

    def enrol(parent_id):
        def job():
            response = app.test_client().post(
                f"/api/v1/cohorts/{cohort_id}/enrolments", headers={"Authorization": f"Bearer {token}"},
                json={"parent_id": parent_id, "referral_source": "self_referral"})
            return response.status_code, response.json
        return job

    results = _together([enrol(pid) for pid in parent_ids])
    crashes = [r for r in results if isinstance(r, BaseException)]
    assert not crashes, crashes[:3]
    statuses = sorted({code for code, _ in results})
    assert set(statuses) <= {201, 409}, [r for r in results if r[0] not in (201, 409)][:3]
    created = [body for code, body in results if code == 201]
    assert sum(b["status"] == "enrolled" for b in created) == 12
    db.session.expire_all()
    counts = dict(db.session.execute(sa.select(Enrolment.status, sa.func.count()).where(
        Enrolment.cohort_id == cohort_id).group_by(Enrolment.status)).all())
    assert counts.get("enrolled") == 12
    assert counts.get("enrolled", 0) + counts.get("waitlisted", 0) == len(created)


def test_fifty_families_book_the_last_creche_places_at_once(app, db, now):
    """Crèche capacity 10 but one crèche worker for babies under two: 3 places per session, never more."""
    from app.cohorts.models import Cohort
    from app.enrolment.creche import book_children
    from app.enrolment.models import CrecheBooking, Enrolment
    from app.rota.models import RotaAssignment

    centre = factories.make_centre(db.session, creche_capacity=10)
    cohort = factories.make_cohort(db.session, centre=centre, capacity=THREADS)
    crèche_worker = factories.make_user(db.session, role="facilitator", qualifications=("creche",))
    for s in cohort.sessions:
        db.session.add(RotaAssignment(session_id=s.id, user_id=crèche_worker.id, role="creche"))
    enrolment_ids = []
    for i in range(THREADS):
        parent = factories.make_parent(db.session, children=[{"first_name": f"Baby{i}",
                                                              "date_of_birth": date(2026, 3, 1)}])
        enrolment_ids.append(factories.make_enrolment(db.session, cohort=cohort, parent=parent).id)
    db.session.commit()

    def book(enrolment_id):
        def job():
            from app.extensions import db as _db

            with app.app_context():
                session = _db.session
                try:
                    enrolment = session.get(Enrolment, enrolment_id)
                    made = book_children(session, enrolment, list(enrolment.parent.children), now=now, actor=None)
                    session.commit()
                    return [b.status for b in made]
                finally:
                    session.remove()
        return job

    results = _together([book(eid) for eid in enrolment_ids])
    crashes = [r for r in results if isinstance(r, BaseException)]
    assert not crashes, crashes[:3]
    db.session.expire_all()
    per_session = db.session.execute(sa.select(CrecheBooking.session_id, CrecheBooking.status, sa.func.count())
                                     .group_by(CrecheBooking.session_id, CrecheBooking.status)).all()
    booked = {sid: n for sid, status, n in per_session if status == "booked"}
    waiting = {sid: n for sid, status, n in per_session if status == "waitlisted"}
    sessions = db.session.scalars(sa.select(Cohort).where(Cohort.id == cohort.id)).one().sessions
    future = [s.id for s in sessions if s.starts_at > now]
    assert future and all(booked.get(sid) == 3 for sid in future), booked
    assert all(booked.get(sid, 0) + waiting.get(sid, 0) == THREADS for sid in future)


def test_two_tablets_mark_the_same_register_at_once(app, db, clock):
    from app.attendance.models import AttendanceMark
    from app.rota.models import RotaAssignment

    rule = "/api/v1/sessions/<int:session_id>/attendance/<int:enrolment_id>"
    if not any(r.rule == rule for r in app.url_map.iter_rules()):
        pytest.skip("the attendance API is not in the app yet")
    cohort = factories.make_cohort(db.session, capacity=12)
    session = cohort.sessions[0]
    tablets = [factories.make_user(db.session, role="facilitator", qualifications=("cosp",)) for _ in range(2)]
    for user in tablets:
        db.session.add(RotaAssignment(session_id=session.id, user_id=user.id, role="facilitator"))
    enrolment_ids = [factories.make_enrolment(db.session, cohort=cohort).id for _ in range(10)]
    db.session.commit()
    session_id = session.id
    clock.set(session.starts_at + timedelta(minutes=20))
    tokens = [_token(app, user) for user in tablets]
    statuses = ("attended", "apologies", "absent")
    base = session.starts_at

    jobs, latest = [], {}
    for n in range(THREADS):
        eid = enrolment_ids[n % len(enrolment_ids)]
        status = statuses[n % 3]
        marked_at = base + timedelta(seconds=n)
        latest[eid] = status  # the tap with the latest marked_at wins
        body = {"status": status, "client_mark_id": f"tap-{n}", "marked_at": marked_at.isoformat()}
        token = tokens[n % 2]

        def job(eid=eid, body=body, token=token):
            response = app.test_client().put(f"/api/v1/sessions/{session_id}/attendance/{eid}",
                                              headers={"Authorization": f"Bearer {token}"}, json=body)
            return response.status_code, response.json
        jobs.append(job)
    # and every tap is sent twice, as a tablet retrying after a lost answer would
    jobs = jobs + list(jobs)
    results = _together(jobs)
    crashes = [r for r in results if isinstance(r, BaseException)]
    assert not crashes, crashes[:3]
    bad = [r for r in results if r[0] not in (200, 201, 409)]
    assert not bad, bad[:3]
    db.session.expire_all()
    marks = db.session.execute(sa.select(AttendanceMark.enrolment_id, AttendanceMark.status).where(
        AttendanceMark.session_id == session.id)).all()
    assert len(marks) == len(enrolment_ids)  # exactly one mark per parent and session
    assert dict(marks) == latest
