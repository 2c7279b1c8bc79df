"""Crèche places follow the plan: a cancelled session frees them, a catch-up session gets them."""
from datetime import timedelta

import sqlalchemy as sa

from app.cohorts.services import cancel_cohort, cancel_session
from app.enrolment.creche import book_children
from app.enrolment.models import CrecheBooking
from tests import factories


def _statuses(db, session_id):
    return sorted(db.session.scalars(sa.select(CrecheBooking.status).where(CrecheBooking.session_id == session_id)))


def test_cancelling_with_a_catch_up_moves_the_creche_places(db, now):
    cohort = factories.make_cohort(db.session, programme_key="circle_of_security")
    enrolment = factories.make_enrolment(db.session, cohort=cohort)
    child = enrolment.parent.children[0]
    early = cohort.sessions[0].starts_at - timedelta(days=1)
    book_children(db.session, enrolment, [child], now=early, actor=None)
    second = cohort.sessions[1]
    assert _statuses(db, second.id) == ["booked"]

    cancelled, catch_up = cancel_session(db.session, second, reason="Facilitator ill", add_catch_up=True,
                                         now=early, actor=None)
    assert _statuses(db, cancelled.id) == ["cancelled"]
    assert _statuses(db, catch_up.id) == ["booked"]
    assert _statuses(db, cohort.sessions[2].id) == ["booked"]


def test_cancelling_a_cohort_frees_every_place_still_to_come(db):
    cohort = factories.make_cohort(db.session, programme_key="circle_of_security")
    enrolment = factories.make_enrolment(db.session, cohort=cohort)
    early = cohort.sessions[0].starts_at - timedelta(days=1)
    book_children(db.session, enrolment, enrolment.parent.children, now=early, actor=None)
    cancel_cohort(db.session, cohort, reason="Building works", now=early, actor=None)
    assert set(db.session.scalars(sa.select(CrecheBooking.status))) == {"cancelled"}


def test_a_freed_creche_place_goes_to_the_first_child_waiting(db):
    from app.enrolment.creche import cancel_bookings

    centre = factories.make_centre(db.session, creche_capacity=1)
    cohort = factories.make_cohort(db.session, programme_key="circle_of_security", centre=centre)
    first = factories.make_enrolment(db.session, cohort=cohort)
    second = factories.make_enrolment(db.session, cohort=cohort)
    third = factories.make_enrolment(db.session, cohort=cohort)
    early = cohort.sessions[0].starts_at - timedelta(days=1)
    for enrolment in (first, second, third):
        book_children(db.session, enrolment, enrolment.parent.children, now=early, actor=None)
    session_id = cohort.sessions[0].id

    def status(enrolment):
        return db.session.scalar(sa.select(CrecheBooking.status).where(
            CrecheBooking.session_id == session_id, CrecheBooking.enrolment_id == enrolment.id))

    assert [status(e) for e in (first, second, third)] == ["booked", "waitlisted", "waitlisted"]
    first.status, first.withdrawal_reason = "withdrawn", "Moved away"
    cancel_bookings(db.session, first, now=early, actor=None)
    assert [status(e) for e in (first, second, third)] == ["cancelled", "booked", "waitlisted"]
