"""Enrol, transfer and withdraw (services, no HTTP): eligibility and overrides, crèche, history, events."""
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app import events
from app.audit.models import AuditEvent
from app.cohorts.services import change_capacity
from app.eligibility.models import Ward, WardPostcode
from app.enrolment.models import CrecheBooking, Enrolment
from app.enrolment.services import cohorts_to_join, enrol, transfer, withdraw
from app.errors import Conflict, ValidationFailed
from tests import factories


@contextmanager
def listening(signal):
    heard = []

    def listener(sender, **kw):
        heard.append((sender, kw))

    signal.connect(listener)
    try:
        yield heard
    finally:
        signal.disconnect(listener)


def stockwell(db):
    ward = Ward(name="Stockwell")
    ward.postcodes = [WardPostcode(postcode="SW9 7QD")]
    db.session.add(ward)
    db.session.flush()


def two_children(db, **kw):
    return factories.make_parent(db.session, children=[{"first_name": "Kofi", "date_of_birth": date(2024, 6, 1)},
                                                       {"first_name": "Esi", "date_of_birth": date(2025, 12, 1)}], **kw)


def test_enrol_with_one_child_in_the_creche(db, now):
    cohort = factories.make_cohort(db.session)
    parent = two_children(db)
    worker = factories.make_user(db.session, role="worker")
    with listening(events.enrolment_created) as heard:
        outcome = enrol(db.session, cohort, parent, referral_source="midwifery",
                        creche_child_ids=[parent.children[1].id], now=now, actor=worker)
    enrolment = outcome.enrolment
    assert enrolment.status == "enrolled" and enrolment.referral_source == "midwifery"
    assert outcome.eligibility.eligible
    assert heard == [(enrolment, {"now": now, "actor": worker})]
    assert len(outcome.bookings) == 8 and {b.child_id for b in outcome.bookings} == {parent.children[1].id}
    assert all(b.status == "booked" for b in outcome.bookings)
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "Enrolment",
                                                         AuditEvent.action == "create")).parent_id == parent.id


def test_a_full_cohort_waitlists(db, now):
    cohort = factories.make_cohort(db.session, capacity=1)
    factories.make_enrolment(db.session, cohort=cohort)
    outcome = enrol(db.session, cohort, two_children(db), referral_source="gp", now=now)
    assert outcome.enrolment.status == "waitlisted"


@pytest.mark.parametrize("kwargs, field", [
    ({"referral_source": "friend"}, "referral_source"),
    ({"referral_source": None}, "referral_source"),
    ({"referral_source": "gp", "creche_child_ids": [999]}, "creche_child_ids"),
    ({"referral_source": "gp", "creche_child_ids": ["1"]}, "creche_child_ids"),
])
def test_bad_input_names_the_field(db, now, kwargs, field):
    with pytest.raises(ValidationFailed) as err:
        enrol(db.session, factories.make_cohort(db.session), two_children(db), now=now, **kwargs)
    assert field in err.value.fields


def test_no_creche_in_together_time(db, now):
    parent = factories.make_parent(db.session, children=[{"first_name": "B", "date_of_birth": date(2026, 3, 1)}])
    with pytest.raises(ValidationFailed) as err:
        enrol(db.session, factories.make_cohort(db.session, programme_key="together_time"), parent,
              referral_source="gp", creche_child_ids=[parent.children[0].id], now=now)
    assert err.value.field == "creche_child_ids" and "has no crèche" in err.value.message


def test_same_parent_twice_cancelled_and_finished_cohorts(db, now):
    cohort = factories.make_cohort(db.session)
    parent = two_children(db)
    enrol(db.session, cohort, parent, referral_source="gp", now=now)
    with pytest.raises(ValidationFailed) as err:
        enrol(db.session, cohort, parent, referral_source="gp", now=now)
    assert err.value.fields == {"parent_id": ["This parent already has a place in this cohort"]}
    cancelled = factories.make_cohort(db.session, status="cancelled", cancel_reason="x")
    with pytest.raises(ValidationFailed) as err:
        enrol(db.session, cancelled, parent, referral_source="gp", now=now)
    assert err.value.field == "cohort_id" and "cancelled" in err.value.message
    finished = factories.make_cohort(db.session, start_date=date(2026, 5, 5))
    with pytest.raises(ValidationFailed) as err:
        enrol(db.session, finished, parent, referral_source="gp", now=now)
    assert err.value.field == "cohort_id" and "finished" in err.value.message


def test_ineligible_family_needs_a_coordinator_override_with_a_reason(db, now):
    stockwell(db)
    cohort = factories.make_cohort(db.session)
    parent = two_children(db, postcode="SE1 7PB")
    worker = factories.make_user(db.session, role="worker")
    admin = factories.make_user(db.session, role="admin")
    with pytest.raises(ValidationFailed) as err:
        enrol(db.session, cohort, parent, referral_source="gp", now=now, actor=worker)
    assert err.value.fields == {"eligibility": ["SE1 7PB is not in an eligible ward"]}
    assert "a coordinator can enrol them with a reason" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        enrol(db.session, cohort, parent, referral_source="gp", override_reason="moving in", now=now, actor=worker)
    assert err.value.field == "eligibility_override_reason"
    with pytest.raises(ValidationFailed) as err:
        enrol(db.session, cohort, parent, referral_source="gp", override_reason="   ", now=now, actor=admin)
    assert err.value.field == "eligibility"
    outcome = enrol(db.session, cohort, parent, referral_source="gp", override_reason="Moving to Stockwell in May",
                    now=now, actor=admin)
    assert outcome.enrolment.eligibility_override_reason == "Moving to Stockwell in May"
    assert outcome.enrolment.eligibility_override_by_id == admin.id
    assert outcome.eligibility.reasons == ["SE1 7PB is not in an eligible ward"]
    audit = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "eligibility_override"))
    assert audit.actor_id == admin.id and "Moving" not in str(audit.changes)  # free text is not copied


def test_withdraw_needs_a_reason_frees_the_place_and_promotes(db, now):
    cohort = factories.make_cohort(db.session, capacity=1)
    first = enrol(db.session, cohort, two_children(db), referral_source="gp",
                  creche_child_ids=[], now=now).enrolment
    queued = enrol(db.session, cohort, two_children(db), referral_source="gp", now=now).enrolment
    with pytest.raises(ValidationFailed) as err:
        withdraw(db.session, first, reason="  ", now=now)
    assert err.value.field == "reason" and first.status == "enrolled"
    later = now + timedelta(days=1)
    with listening(events.enrolment_withdrawn) as withdrawn, listening(events.enrolment_promoted) as promoted:
        withdraw(db.session, first, reason="Started work", now=later)
    assert first.status == "withdrawn" and first.withdrawal_reason == "Started work" and first.withdrawn_at == later
    assert withdrawn[0][0] is first and withdrawn[0][1]["reason"] == "Started work"
    assert queued.status == "enrolled" and [s for s, _ in promoted] == [queued]
    with pytest.raises(ValidationFailed) as err:
        withdraw(db.session, first, reason="again", now=later)
    assert err.value.field == "status"
    with pytest.raises(Conflict):
        withdraw(db.session, queued, reason="x", now=later, version=queued.version - 1)


def test_a_family_given_a_place_from_the_waiting_list_gets_its_creche_places(db, now):
    cohort = factories.make_cohort(db.session, capacity=1)
    enrol(db.session, cohort, two_children(db), referral_source="gp", now=now)
    parent = two_children(db)
    queued = enrol(db.session, cohort, parent, referral_source="gp", creche_child_ids=[parent.children[0].id],
                   now=now)
    assert queued.enrolment.status == "waitlisted" and {b.status for b in queued.bookings} == {"waitlisted"}
    change_capacity(db.session, cohort, 2, now=now)
    assert queued.enrolment.status == "enrolled"
    bookings = db.session.scalars(sa.select(CrecheBooking).where(CrecheBooking.enrolment_id == queued.enrolment.id))
    assert {(b.status, b.waitlist_reason) for b in bookings} == {("booked", None)}


def test_withdrawal_cancels_future_creche_places(db, now):
    cohort = factories.make_cohort(db.session)
    parent = two_children(db)
    enrolment = enrol(db.session, cohort, parent, referral_source="gp", creche_child_ids=[parent.children[0].id],
                      now=now).enrolment
    withdraw(db.session, enrolment, reason="Moved away", now=now)
    statuses = db.session.scalars(sa.select(CrecheBooking.status).where(CrecheBooking.enrolment_id == enrolment.id))
    assert set(statuses) == {"cancelled"}


def test_transfer_keeps_history_moves_creche_and_promotes(db, now):
    centre = factories.make_centre(db.session)
    autumn = factories.make_cohort(db.session, centre=centre, capacity=1)
    spring = factories.make_cohort(db.session, centre=centre, start_date=date(2027, 1, 12), start_time=autumn.start_time,
                                   room_id=centre.rooms[0].id)
    parent = two_children(db)
    old = enrol(db.session, autumn, parent, referral_source="health_visiting",
                creche_child_ids=[parent.children[0].id], now=now).enrolment
    waiting = enrol(db.session, autumn, two_children(db), referral_source="gp", now=now).enrolment
    with listening(events.enrolment_transferred) as heard, listening(events.enrolment_created) as created:
        outcome = transfer(db.session, old, spring, now=now)
    new = outcome.enrolment
    assert old.status == "transferred" and old.transferred_to_id == new.id
    assert new.cohort_id == spring.id and new.status == "enrolled" and new.referral_source == "health_visiting"
    assert heard == [(old, {"new_enrolment": new, "now": now, "actor": None})] and created == []
    assert waiting.status == "enrolled"  # the freed place went to the waiting list
    assert {b.child_id for b in outcome.bookings} == {parent.children[0].id} and len(outcome.bookings) == 8
    old_bookings = db.session.scalars(sa.select(CrecheBooking.status).where(CrecheBooking.enrolment_id == old.id))
    assert set(old_bookings) == {"cancelled"}
    assert db.session.scalar(sa.select(sa.func.count(Enrolment.id)).where(Enrolment.parent_id == parent.id)) == 2


def test_transfer_only_to_a_later_open_cohort(db, now):
    centre = factories.make_centre(db.session, rooms=("A", "B", "C"))
    current = factories.make_cohort(db.session, centre=centre, start_date=date(2026, 9, 15))
    earlier = factories.make_cohort(db.session, centre=centre, start_date=date(2026, 9, 8), room_id=centre.rooms[1].id)
    cancelled = factories.make_cohort(db.session, centre=centre, start_date=date(2027, 1, 5), status="cancelled",
                                      cancel_reason="x", room_id=centre.rooms[2].id)
    enrolment = enrol(db.session, current, two_children(db), referral_source="gp", now=now).enrolment
    for target, words in [(current, "different cohort"), (earlier, "starts after this one"), (cancelled, "cancelled")]:
        with pytest.raises(ValidationFailed) as err:
            transfer(db.session, enrolment, target, now=now)
        assert err.value.field == "transfer_to_cohort_id" and words in err.value.message
    assert enrolment.status == "enrolled"


def test_transfer_rechecks_age_and_carries_an_override(db, now):
    stockwell(db)
    admin = factories.make_user(db.session, role="admin")
    centre = factories.make_centre(db.session)
    autumn = factories.make_cohort(db.session, centre=centre)
    next_year = factories.make_cohort(db.session, centre=centre, start_date=date(2027, 9, 7))
    parent = factories.make_parent(db.session, postcode="SE1 7PB",
                                   children=[{"first_name": "Kofi", "date_of_birth": date(2023, 10, 1)}])
    enrolment = enrol(db.session, autumn, parent, referral_source="gp", override_reason="Family in temporary housing",
                      now=now, actor=admin).enrolment
    worker = factories.make_user(db.session, role="worker")
    with pytest.raises(ValidationFailed) as err:  # Kofi turns 4 in October 2027
        transfer(db.session, enrolment, next_year, now=now, actor=worker)
    assert err.value.fields["eligibility"] == ["SE1 7PB is not in an eligible ward",
                                               "Kofi will be 4 before the group ends"]
    soon = factories.make_cohort(db.session, centre=centre, start_date=date(2026, 11, 3))
    new = transfer(db.session, enrolment, soon, now=now, actor=worker).enrolment
    assert new.eligibility_override_reason == "Family in temporary housing"
    assert new.eligibility_override_by_id == admin.id


def test_cohorts_near_the_family_come_first(db, now):
    here = factories.make_centre(db.session, ward="Coldharbour")
    mine = factories.make_centre(db.session, ward="Oval")
    far = factories.make_centre(db.session, ward="Vassall")
    early_far = factories.make_cohort(db.session, centre=far, start_date=date(2026, 9, 8))
    full_here = factories.make_cohort(db.session, centre=here, start_date=date(2026, 9, 9), capacity=1)
    factories.make_enrolment(db.session, cohort=full_here)
    late_here = factories.make_cohort(db.session, centre=here, start_date=date(2026, 10, 7))
    at_mine = factories.make_cohort(db.session, centre=mine, start_date=date(2026, 9, 10))
    factories.make_cohort(db.session, centre=far, start_date=date(2026, 3, 3))  # finished
    choices = cohorts_to_join(db.session, now=now, ward="coldharbour", centre_ids=[mine.id])
    assert [c.cohort for c in choices] == [late_here, full_here, at_mine, early_far]
    assert choices[1].places["free"] == 0 and choices[0].same_ward
