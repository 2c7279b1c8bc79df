"""Family places and the waiting list (app/enrolment/places.py)."""
from datetime import timedelta

import pytest

from app import events
from app.enrolment.places import enrol_or_waitlist, places_summary, promote_from_waitlist, waiting_list
from app.errors import Conflict, ValidationFailed
from tests import factories


def test_a_full_cohort_waitlists_in_order_and_a_freed_place_promotes_the_first(db, now):
    cohort = factories.make_cohort(db.session, capacity=2)
    parents = [factories.make_parent(db.session) for _ in range(4)]
    made = [enrol_or_waitlist(db.session, cohort, p, referral_source="gp", now=now + timedelta(minutes=i), actor=None)
            for i, p in enumerate(parents)]
    assert [e.status for e in made] == ["enrolled", "enrolled", "waitlisted", "waitlisted"]
    assert made[0].enrolled_at == now and made[2].waitlisted_at == now + timedelta(minutes=2)
    assert places_summary(db.session, cohort) == {"capacity": 2, "enrolled": 2, "waitlisted": 2, "free": 0}

    made[1].status, made[1].withdrawal_reason = "withdrawn", "moved away"
    db.session.flush()
    promoted_events = []

    def listener(sender, **kw):
        promoted_events.append(sender)

    events.enrolment_promoted.connect(listener)
    try:
        later = now + timedelta(days=1)
        promoted = promote_from_waitlist(db.session, cohort, now=later, actor=None)
    finally:
        events.enrolment_promoted.disconnect(listener)
    assert promoted == [made[2]] and promoted_events == [made[2]]
    assert made[2].status == "enrolled" and made[2].enrolled_at == later
    assert waiting_list(db.session, cohort.id) == [made[3]]
    assert promote_from_waitlist(db.session, cohort, now=later, actor=None) == []


def test_waitlist_order_is_by_time_then_arrival(db, now):
    cohort = factories.make_cohort(db.session, capacity=1)
    factories.make_enrolment(db.session, cohort=cohort)
    late = factories.make_enrolment(db.session, cohort=cohort, status="waitlisted", waitlisted_at=now)
    early = factories.make_enrolment(db.session, cohort=cohort, status="waitlisted",
                                     waitlisted_at=now - timedelta(hours=1))
    assert waiting_list(db.session, cohort.id) == [early, late]


def test_second_enrolment_of_the_same_parent_is_a_conflict(db, now):
    cohort = factories.make_cohort(db.session)
    parent = factories.make_parent(db.session)
    enrol_or_waitlist(db.session, cohort, parent, referral_source="gp", now=now)
    with pytest.raises(Conflict) as err:
        enrol_or_waitlist(db.session, cohort, parent, referral_source="gp", now=now)
    assert err.value.field == "parent_id"


def test_cancelled_and_finished_cohorts_refuse_enrolments(db, now):
    cancelled = factories.make_cohort(db.session, status="cancelled", cancel_reason="no facilitators")
    with pytest.raises(ValidationFailed) as err:
        enrol_or_waitlist(db.session, cancelled, factories.make_parent(db.session), referral_source="gp", now=now)
    assert err.value.field == "cohort_id" and "cancelled" in err.value.message

    running = factories.make_cohort(db.session)
    after_the_end = running.sessions[-1].ends_at
    with pytest.raises(ValidationFailed) as err:
        enrol_or_waitlist(db.session, running, factories.make_parent(db.session), referral_source="gp",
                          now=after_the_end)
    assert "finished" in err.value.message
    # one minute before the last session ends there is still time to join
    e = enrol_or_waitlist(db.session, running, factories.make_parent(db.session), referral_source="gp",
                          now=after_the_end - timedelta(minutes=1))
    assert e.status == "enrolled"
