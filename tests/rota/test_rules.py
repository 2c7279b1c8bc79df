"""Each hard rule of the rota, checked on hand edits (app/rota/services.py)."""
from datetime import date, time, timedelta

import pytest

from app import events
from app.audit.models import AuditEvent
from app.errors import Conflict, PermissionDenied, ValidationFailed
from app.rota import services
from tests import factories

TUE = date(2026, 9, 8)  # first session of the default cohort: Tue 8 Sep 2026, 10:00-12:00 London


def staff(db, quals=("cosp",), *, centres=(), role="facilitator", **kw):
    user = factories.make_user(db.session, role=role, qualifications=quals, centres=centres, **kw)
    factories.make_availability(db.session, user)
    return user


def codes(violations):
    return [v.rule for v in violations]


@pytest.fixture
def cosp(db):
    """A Circle of Security cohort: 8 Tuesdays from 8 Sep 2026, 10:00-12:00."""
    return factories.make_cohort(db.session, "circle_of_security")


def test_a_qualified_free_person_breaks_no_rule(db, cosp):
    person = staff(db)
    assert services.check_assignment(db.session, cosp.sessions[0], person.id, "facilitator") == []


def test_facilitator_needs_a_facilitator_qualification_and_creche_worker_the_creche_one(db, cosp):
    creche_only = staff(db, ("creche",))
    facilitator = staff(db, ("clinical",))
    v = services.check_assignment(db.session, cosp.sessions[0], creche_only.id, "facilitator")
    assert codes(v) == ["qualification"] and "no facilitator qualification" in v[0].message
    v = services.check_assignment(db.session, cosp.sessions[0], facilitator.id, "creche")
    assert codes(v) == ["qualification"] and "not a trained crèche worker" in v[0].message
    assert services.check_assignment(db.session, cosp.sessions[0], creche_only.id, "creche") == []


def test_the_mix_needs_a_cosp_facilitator_for_circle_of_security(db, cosp):
    session = cosp.sessions[0]
    first, second = staff(db, ("clinical",)), staff(db, ("better_start",))
    # one non-COSP facilitator alone still leaves a place for a COSP one
    assert services.check_assignment(db.session, session, first.id, "facilitator") == []
    factories.make_rota_assignment(db.session, session, first)
    v = services.check_assignment(db.session, session, second.id, "facilitator")
    assert codes(v) == ["facilitator_mix"]
    assert "Circle of Security Parenting needs at least one facilitator who is trained circle of security" in v[0].message
    assert services.check_assignment(db.session, session, staff(db, ("cosp",)).id, "facilitator") == []


def test_the_mix_needs_a_clinical_facilitator_for_together_time_and_no_third_facilitator(db):
    cohort = factories.make_cohort(db.session, "together_time")
    session = cohort.sessions[0]
    a, b = staff(db, ("cosp",)), staff(db, ("clinical",))
    factories.make_rota_assignment(db.session, session, a)
    assert codes(services.check_assignment(db.session, session, staff(db, ("cosp",)).id, "facilitator")) == [
        "facilitator_mix"]
    factories.make_rota_assignment(db.session, session, b)
    v = services.check_assignment(db.session, session, staff(db, ("clinical",)).id, "facilitator")
    assert codes(v) == ["facilitator_count"]


def test_availability_is_a_weekly_window_in_london_time(db, cosp):
    # 10:00-12:00 London is 09:00-11:00 UTC in September: a UTC-minded check would get this wrong
    person = factories.make_user(db.session, role="facilitator", qualifications=("cosp",))
    factories.make_availability(db.session, person, weekdays=[1], start=time(9, 30), end=time(11, 30))
    v = services.check_assignment(db.session, cosp.sessions[0], person.id, "facilitator")
    assert codes(v) == ["availability"]
    assert "not available on Tuesdays at 10:00–12:00" in v[0].message
    # two touching windows together cover it
    factories.make_availability(db.session, person, weekdays=[1], start=time(11, 30), end=time(12, 0))
    assert services.check_assignment(db.session, cosp.sessions[0], person.id, "facilitator") == []
    # the session after the clocks go back (27 Oct) is still 10:00 London
    late = next(s for s in cosp.sessions if s.starts_at.date() > date(2026, 10, 25))
    assert services.check_assignment(db.session, late, person.id, "facilitator") == []


def test_someone_on_leave_that_day_is_refused(db, cosp):
    person = staff(db)
    factories.make_leave(db.session, person, TUE - timedelta(days=1), TUE)
    v = services.check_assignment(db.session, cosp.sessions[0], person.id, "facilitator")
    assert codes(v) == ["leave"] and "on leave on Tue 8 Sep" in v[0].message
    assert services.check_assignment(db.session, cosp.sessions[1], person.id, "facilitator") == []


def test_nobody_is_in_two_places_at_once(db, cosp):
    person = staff(db, ("cosp", "clinical"))
    other = factories.make_cohort(db.session, "together_time", start_time=time(11, 0))
    factories.make_rota_assignment(db.session, other.sessions[0], person)
    v = services.check_assignment(db.session, cosp.sessions[0], person.id, "facilitator")
    assert codes(v) == ["double_booked"] and "at the same time" in v[0].message


def test_travel_time_between_two_centres_but_back_to_back_at_one_centre(db, cosp):
    person = staff(db, ("cosp", "clinical"))
    # the COSP session ends 12:00 at its centre; 12:15 elsewhere is too soon, 12:30 is fine
    elsewhere = factories.make_cohort(db.session, "together_time", start_time=time(12, 15))
    factories.make_rota_assignment(db.session, elsewhere.sessions[0], person)
    v = services.check_assignment(db.session, cosp.sessions[0], person.id, "facilitator")
    assert codes(v) == ["travel"] and "30 minutes needed" in v[0].message
    assert services.check_assignment(db.session, cosp.sessions[0], person.id, "facilitator", travel_minutes=15) == []
    # same centre, straight after: fine
    person2 = staff(db, ("cosp", "clinical"))
    same = factories.make_cohort(db.session, "together_time", centre=cosp.centre, start_time=time(12, 0),
                                 room_id=cosp.room_id)
    factories.make_rota_assignment(db.session, same.sessions[0], person2)
    assert services.check_assignment(db.session, cosp.sessions[0], person2.id, "facilitator") == []


def test_someone_who_works_at_named_centres_is_only_rostered_there(db, cosp):
    elsewhere = factories.make_centre(db.session)
    person = staff(db, centres=[elsewhere])
    v = services.check_assignment(db.session, cosp.sessions[0], person.id, "facilitator")
    assert codes(v) == ["centre"]


def test_switched_off_accounts_and_commissioners_are_never_rostered(db, cosp):
    off = staff(db, is_enabled=False)
    funder = staff(db, role="commissioner")
    assert codes(services.check_assignment(db.session, cosp.sessions[0], off.id, "facilitator")) == ["account"]
    assert codes(services.check_assignment(db.session, cosp.sessions[0], funder.id, "facilitator")) == ["account"]


def test_assign_refuses_with_the_rule_named_and_changes_nothing(db, cosp, now):
    person = staff(db)
    factories.make_leave(db.session, person, TUE)
    with pytest.raises(Conflict) as err:
        services.assign(db.session, cosp.sessions[0], person.id, "facilitator", now=now, actor=None)
    assert err.value.fields["user_id"][0].startswith("Leave: ")
    assert services.session_rota(db.session, cosp.sessions[0]).assignments == []


def test_bad_input_is_a_validation_error_naming_the_field(db, cosp, now):
    person = staff(db)
    with pytest.raises(ValidationFailed) as err:
        services.assign(db.session, cosp.sessions[0], 99999, "facilitator", now=now, actor=None)
    assert err.value.field == "user_id"
    with pytest.raises(ValidationFailed) as err:
        services.assign(db.session, cosp.sessions[0], person.id, "cook", now=now, actor=None)
    assert err.value.field == "role"


def test_only_an_admin_with_a_reason_can_force(db, cosp, now):
    person = staff(db)
    factories.make_leave(db.session, person, TUE)
    worker = factories.make_user(db.session, role="worker")
    admin = factories.make_user(db.session, role="admin")
    with pytest.raises(PermissionDenied):
        services.assign(db.session, cosp.sessions[0], person.id, "facilitator", now=now, actor=worker,
                        force_reason="covering")
    a = services.assign(db.session, cosp.sessions[0], person.id, "facilitator", now=now, actor=admin,
                        force_reason="Came back from leave early")
    assert a.forced_reason == "Came back from leave early" and a.assigned_by_id == admin.id
    audit = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "rota_assigned")).one()
    assert audit.changes["forced"] is True and audit.changes["rules"] == "leave"


def test_swap_checks_the_newcomer_in_the_place_of_the_one_leaving(db, cosp, now):
    session = cosp.sessions[0]
    a, b = staff(db, ("cosp",)), staff(db, ("clinical",))
    factories.make_rota_assignment(db.session, session, a)
    factories.make_rota_assignment(db.session, session, b)
    # swapping the only COSP facilitator for a non-COSP one breaks the mix
    with pytest.raises(Conflict) as err:
        services.swap(db.session, session, a.id, staff(db, ("better_start",)).id, now=now, actor=None)
    assert "Facilitator mix" in err.value.message
    c = staff(db, ("cosp",))
    services.swap(db.session, session, a.id, c.id, now=now, actor=None)
    assert sorted(x.user_id for x in services.session_rota(db.session, session).assignments) == sorted([b.id, c.id])


def test_changes_after_publication_emit_rota_changed(db, cosp, now):
    session = cosp.sessions[0]
    a, b = staff(db), staff(db)
    seen = []

    def listener(sender, **kw):
        seen.append((sender.id, kw["user_ids"], kw["now"]))

    events.rota_changed.connect(listener)
    try:
        services.assign(db.session, session, a.id, "facilitator", now=now, actor=None)
        assert seen == []  # a draft rota changes quietly
        assert services.publish(db.session, cosp, now=now, actor=None) is True
        services.swap(db.session, session, a.id, b.id, now=now, actor=None)
        services.remove(db.session, session, b.id, now=now, actor=None)
    finally:
        events.rota_changed.disconnect(listener)
    assert seen == [(session.id, sorted([a.id, b.id]), now), (session.id, [b.id], now)]
    assert cosp.rota_published_at == now


def test_requirements_count_creche_workers_for_the_children_booked(db, cosp, now):
    session = cosp.sessions[0]
    # three babies need one worker; a fourth needs a second
    for _ in range(4):
        parent = factories.make_parent(db.session, children=[{"first_name": "B", "date_of_birth": date(2026, 1, 1)}])
        enrolment = factories.make_enrolment(db.session, cohort=cosp, parent=parent)
        factories.make_creche_booking(db.session, session, enrolment)
    rota = services.session_rota(db.session, session)
    creche = next(r for r in rota.requirements if r.key == "creche")
    assert (creche.needed, creche.have, creche.met) == (2, 0, False)
    assert "Needs 2 more crèche workers" in rota.gaps
    assert "Needs a COSP-trained facilitator" in rota.gaps


def test_a_published_swap_queues_a_notice_for_both_people(db, cosp, now):
    """End to end with the messaging feature: the event becomes outbox rows for the staff affected."""
    from app.messaging.models import OutboxMessage

    session = cosp.sessions[0]
    a, b = staff(db, mobile="+447700900001"), staff(db, mobile="+447700900002")
    services.assign(db.session, session, a.id, "facilitator", now=now, actor=None)
    services.publish(db.session, cosp, now=now, actor=None)
    services.swap(db.session, session, a.id, b.id, now=now, actor=None)
    rows = list(db.session.scalars(db.select(OutboxMessage).where(OutboxMessage.kind == "rota_changed")))
    assert sorted(r.user_id for r in rows) == sorted([a.id, b.id])
    assert all(r.session_id == session.id for r in rows)
