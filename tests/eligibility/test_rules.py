"""The eligibility check: area and age against the cohort's dates (services, no HTTP)."""
from datetime import date

import pytest

from app.eligibility.models import Ward, WardPostcode
from app.eligibility.services import NO_AREAS_NOTE, check_eligibility
from tests import factories


def wards(db, **areas):
    for name, postcodes in areas.items():
        ward = Ward(name=name)
        ward.postcodes = [WardPostcode(postcode=p) for p in postcodes]
        db.session.add(ward)
    db.session.flush()


def kid(name, born=None, due=None):
    return {"first_name": name, "date_of_birth": born, "due_date": due}


def test_without_any_ward_the_postcode_is_not_checked(db, now):
    parent = factories.make_parent(db.session, postcode="SE1 7PB")
    result = check_eligibility(db.session, parent, factories.make_cohort(db.session), now=now)
    assert result.eligible and NO_AREAS_NOTE in result.notes


def test_postcode_must_be_in_an_eligible_ward(db, now):
    wards(db, Stockwell=["SW9 7QD"], Coldharbour=["SE24 0AA"])
    cohort = factories.make_cohort(db.session)
    inside = check_eligibility(db.session, factories.make_parent(db.session, postcode="SW9 7QD"), cohort, now=now)
    assert inside.eligible and inside.ward == "Stockwell" and "SW9 7QD is in Stockwell ward" in inside.notes
    outside = check_eligibility(db.session, factories.make_parent(db.session, postcode="SE1 7PB"), cohort, now=now)
    assert not outside.eligible and outside.reasons == ["SE1 7PB is not in an eligible ward"]
    nowhere = check_eligibility(db.session, factories.make_parent(db.session, postcode=""), cohort, now=now)
    assert not nowhere.eligible and "No postcode is recorded" in nowhere.reasons[0]
    db.session.query(Ward).filter_by(name="Coldharbour").one().is_eligible = False
    closed = check_eligibility(db.session, factories.make_parent(db.session, postcode="SE24 0AA"), cohort, now=now)
    assert closed.reasons == ["SE24 0AA is in Coldharbour, which is not taking new families"]


# Circle of Security: 8 weeks from Tue 8 Sep 2026 (last session 27 Oct 2026), up to the 4th birthday.
@pytest.mark.parametrize("child, ok, words", [
    (kid("Kofi", born=date(2022, 10, 28)), True, "Kofi will be 46 months old at the first session"),
    (kid("Kofi", born=date(2022, 10, 27)), False, "Kofi will be 4 before the group ends"),
    (kid("Kofi", born=date(2022, 9, 5)), False, "Kofi will be 4 before the group starts"),
    (kid("Kofi", born=date(2021, 1, 1)), False, "Kofi is already 4, over the age for Circle of Security Parenting"),
    (kid("", due=date(2027, 3, 1)), True, "Expected baby: expected baby (due 01 March 2027)"),
])
def test_circle_of_security_ages(db, now, child, ok, words):
    parent = factories.make_parent(db.session, children=[child])
    result = check_eligibility(db.session, parent, factories.make_cohort(db.session), now=now)
    assert result.eligible is ok
    assert any(text.startswith(words) for text in (result.notes if ok else result.reasons)), result


# Together Time: 6 weeks from Tue 8 Sep 2026 (last 13 Oct 2026), born and under 18 months.
@pytest.mark.parametrize("child, ok, words", [
    (kid("Baby", born=date(2025, 4, 14)), True, "Baby will be 16 months old"),
    (kid("Baby", born=date(2025, 4, 13)), False, "Baby will be 18 months old before the group ends"),
    (kid("Bump", due=date(2026, 9, 8)), True, "Bump is due 08 September 2026, before the group starts"),
    (kid("Bump", due=date(2026, 9, 9)), False, "Bump is not due until 09 September 2026"),
])
def test_together_time_ages(db, now, child, ok, words):
    parent = factories.make_parent(db.session, children=[child])
    cohort = factories.make_cohort(db.session, programme_key="together_time")
    result = check_eligibility(db.session, parent, cohort, now=now)
    assert result.eligible is ok
    assert any(text.startswith(words) for text in (result.notes if ok else result.reasons)), result


def test_one_child_who_fits_is_enough_and_none_is_a_reason(db, now):
    cohort = factories.make_cohort(db.session, programme_key="together_time")
    two = factories.make_parent(db.session, children=[kid("Big", born=date(2023, 1, 1)),
                                                      kid("Small", born=date(2026, 3, 1))])
    result = check_eligibility(db.session, two, cohort, now=now)
    assert result.eligible and any(n.startswith("Big is already 18 months old") for n in result.notes)
    none = factories.make_parent(db.session, children=[])
    result = check_eligibility(db.session, none, cohort, now=now)
    assert not result.eligible and result.reasons[0].startswith("No child is recorded")


def test_a_cancelled_session_moves_the_last_date(db, now):
    cohort = factories.make_cohort(db.session)
    cohort.sessions[-1].status = "cancelled"  # the group now ends on 20 October
    parent = factories.make_parent(db.session, children=[kid("Kofi", born=date(2022, 10, 27))])
    assert check_eligibility(db.session, parent, cohort, now=now).eligible
