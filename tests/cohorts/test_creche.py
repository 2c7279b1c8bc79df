"""Crèche ratios and bookings (app/enrolment/creche.py)."""
from datetime import date, timedelta

import pytest

from app.enrolment.creche import age_in_months, book_children, creche_summary, staff_needed
from app.errors import ValidationFailed
from app.rota.models import RotaAssignment
from tests import factories

DAY = date(2026, 9, 8)


@pytest.mark.parametrize("ages, workers", [
    ([], 0),
    ([6, 12, 20], 1),                 # three babies: 1:3
    ([6, 12, 20, 23], 2),             # a fourth baby needs a second worker
    ([24, 30, 35, 26, 28], 1),        # five two-year-olds: 1:5
    ([24] * 15, 3),                   # exact fractions: 15/5 is 3, not 4
    ([36, 40, 47] * 2 + [38, 39], 1),  # eight aged 3 and over: 1:8
    ([36] * 9, 2),
    ([10] + [40] * 5, 1),             # 1/3 + 5/8 < 1: one worker
    ([10, 25, 40], 1),                # 1/3 + 1/5 + 1/8
    ([10, 11, 25, 26, 40, 41], 2),    # 2/3 + 2/5 + 2/8 > 1
    ([10, 11, 12, 25], 2),            # three babies fill a worker; the two-year-old needs another
])
def test_staff_needed_for_mixed_ages(ages, workers):
    assert staff_needed(ages, DAY) == workers


def test_ages_are_taken_on_the_session_date():
    assert age_in_months(date(2024, 9, 9), date(2026, 9, 8)) == 23
    assert age_in_months(date(2024, 9, 8), date(2026, 9, 8)) == 24
    born = date(2024, 9, 9)

    class Kid:
        date_of_birth = born

    # three children who are 23 months old need one worker; a day later they are two-year-olds
    assert staff_needed([Kid(), Kid(), Kid(), Kid()], date(2026, 9, 8)) == 2
    assert staff_needed([Kid(), Kid(), Kid(), Kid()], date(2026, 9, 9)) == 1


def _family(db, *dobs):
    return factories.make_parent(db.session, children=[{"first_name": f"C{i}", "date_of_birth": d}
                                                       for i, d in enumerate(dobs)])


def test_booking_every_future_session_up_to_the_centre_capacity(db, now):
    centre = factories.make_centre(db.session, creche_capacity=2)
    cohort = factories.make_cohort(db.session, centre=centre)
    first = _family(db, date(2025, 1, 1), date(2023, 1, 1))
    second = _family(db, date(2024, 6, 1))
    e1 = factories.make_enrolment(db.session, cohort=cohort, parent=first)
    e2 = factories.make_enrolment(db.session, cohort=cohort, parent=second)
    bookings = book_children(db.session, e1, first.children, now=now)
    assert len(bookings) == 16 and {b.status for b in bookings} == {"booked"}
    later = book_children(db.session, e2, second.children, now=now)
    assert len(later) == 8 and {b.status for b in later} == {"waitlisted"}
    assert "full" in later[0].waitlist_reason
    summary = creche_summary(db.session, cohort.sessions[0])
    assert summary["booked"] == 2 and summary["waitlisted"] == 1
    assert summary["by_age"] == {"under_2": 1, "two": 0, "three_plus": 1}
    assert summary["workers_needed"] == 1
    # booking again changes nothing
    assert book_children(db.session, e1, first.children, now=now) == []


def test_past_sessions_are_not_booked(db, now):
    cohort = factories.make_cohort(db.session)
    family = _family(db, date(2025, 1, 1))
    e = factories.make_enrolment(db.session, cohort=cohort, parent=family)
    after_third = cohort.sessions[2].starts_at + timedelta(minutes=1)
    assert len(book_children(db.session, e, family.children, now=after_third)) == 5


def test_rota_workers_limit_bookings_by_ratio(db, now):
    centre = factories.make_centre(db.session, creche_capacity=10)
    cohort = factories.make_cohort(db.session, centre=centre)
    worker = factories.make_user(db.session, role="facilitator", qualifications=("creche",))
    first_session = cohort.sessions[0]
    db.session.add(RotaAssignment(session_id=first_session.id, user_id=worker.id, role="creche"))
    db.session.flush()
    babies = _family(db, date(2025, 3, 1), date(2025, 4, 1), date(2025, 5, 1), date(2025, 6, 1))
    e = factories.make_enrolment(db.session, cohort=cohort, parent=babies)
    bookings = book_children(db.session, e, babies.children, now=now)
    at_first = [b for b in bookings if b.session_id == first_session.id]
    assert [b.status for b in at_first] == ["booked", "booked", "booked", "waitlisted"]
    assert "crèche workers" in at_first[3].waitlist_reason and "needs 2" in at_first[3].waitlist_reason
    # sessions with nobody on the rota yet are limited by capacity only
    assert all(b.status == "booked" for b in bookings if b.session_id != first_session.id)
    summary = creche_summary(db.session, first_session)
    assert summary["workers_needed"] == 1 and summary["workers_on_rota"] == 1


def test_no_creche_for_together_time_or_for_other_peoples_children(db, now):
    tt = factories.make_cohort(db.session, programme_key="together_time")
    family = _family(db, date(2025, 1, 1))
    with pytest.raises(ValidationFailed) as err:
        book_children(db.session, factories.make_enrolment(db.session, cohort=tt, parent=family),
                      family.children, now=now)
    assert err.value.field == "creche_child_ids"
    cosp = factories.make_cohort(db.session)
    other = _family(db, date(2025, 2, 1))
    with pytest.raises(ValidationFailed):
        book_children(db.session, factories.make_enrolment(db.session, cohort=cosp, parent=family),
                      other.children, now=now)
