"""Cohort pages: list with filters, the cohort page, and forms that keep what was typed on error."""
from datetime import date

import pytest

from app.centres.models import ClosureDay
from app.cohorts.models import Cohort
from app.rota.models import RotaAssignment
from tests import factories


@pytest.fixture
def admin(login_as, clock):
    return login_as("admin")


def _form(room_id, **overrides):
    data = {"programme": "circle_of_security", "room_id": str(room_id), "start_date": ["6", "10", "2026"],
            "start_time": "10:00", "duration_minutes": "", "capacity": ""}
    data.update(overrides)
    return data


def test_create_a_cohort_from_the_form(client, db, admin):
    centre = factories.make_centre(db.session, name="Oak Centre", rooms=("Main hall",))
    db.session.commit()
    page = client.get("/cohorts/new")
    assert page.status_code == 200 and "Oak Centre: Main hall" in page.text
    r = client.post("/cohorts/new", data=_form(centre.rooms[0].id, capacity="9"))
    assert r.status_code == 302, r.text[:3000]
    cohort = db.session.query(Cohort).one()
    assert cohort.capacity == 9 and len(cohort.sessions) == 8
    shown = client.get(r.headers["Location"])
    assert shown.status_code == 200
    assert "Circle of Security Parenting" in shown.text and "Tue 06 Oct 2026, 10:00" in shown.text
    assert "0 crèche workers needed" in shown.text


@pytest.mark.parametrize("overrides, message, kept", [
    ({"start_date": ["25", "12", "2026"], "capacity": "7"}, "Christmas Day", ['value="25"', 'value="7"']),
    ({"start_time": "25:61", "capacity": "7"}, "24-hour clock", ['value="25:61"', 'value="7"']),
    ({"start_date": ["28", "3", "2027"], "start_time": "01:30"}, "does not exist", ['value="01:30"', 'value="28"']),
    ({"start_date": ["31", "2", "2027"]}, "real date", ['value="31"']),
    ({"capacity": "lots"}, "whole number", ['value="lots"']),
    ({"capacity": "0"}, "1 to 100", ['value="0"']),
    ({"start_date": ["17", "11", "2026"], "duration_minutes": "100"}, "Staff training", ['value="100"']),
])
def test_errors_are_shown_beside_the_field_and_input_is_kept(client, db, admin, overrides, message, kept):
    centre = factories.make_centre(db.session)
    db.session.add(ClosureDay(centre_id=centre.id, closure_date=date(2026, 11, 17), reason="Staff training"))
    db.session.commit()
    r = client.post("/cohorts/new", data=_form(centre.rooms[0].id, **overrides))
    assert r.status_code == 400
    assert message in r.text
    assert "govuk-error-summary" in r.text and "govuk-error-message" in r.text
    for fragment in kept:
        assert fragment in r.text
    assert f'value="{centre.rooms[0].id}" selected' in r.text
    assert db.session.query(Cohort).count() == 0


def test_room_clash_on_the_form_is_a_409_naming_the_cohort(client, db, admin):
    first = factories.make_cohort(db.session, start_date=date(2026, 10, 6))
    db.session.commit()
    r = client.post("/cohorts/new", data=_form(first.room_id, programme="together_time", start_time="11:00"))
    assert r.status_code == 409
    assert f"cohort {first.id}" in r.text and 'value="11:00"' in r.text


def test_cohort_page_shows_places_waiting_list_and_creche_workers(client, db, admin, now):
    centre = factories.make_centre(db.session, creche_capacity=10)
    cohort = factories.make_cohort(db.session, centre=centre, capacity=1)
    parent = factories.make_parent(db.session, first_name="Amina", children=[
        {"first_name": "Baby", "date_of_birth": date(2025, 9, 1)}, {"first_name": "Tod", "date_of_birth": date(2024, 5, 1)}])
    enrolment = factories.make_enrolment(db.session, cohort=cohort, parent=parent)
    factories.make_enrolment(db.session, cohort=cohort, status="waitlisted",
                             parent=factories.make_parent(db.session, first_name="Bisi"))
    from app.enrolment.creche import book_children

    book_children(db.session, enrolment, parent.children, now=now)
    worker = factories.make_user(db.session, role="facilitator", qualifications=("creche",))
    db.session.add(RotaAssignment(session_id=cohort.sessions[0].id, user_id=worker.id, role="creche"))
    db.session.commit()
    r = client.get(f"/cohorts/{cohort.id}")
    assert r.status_code == 200
    assert "1 of 1 taken" in r.text and "1 waiting" in r.text
    assert "Amina" in r.text and "Bisi" in r.text
    assert "2 of 10 booked" in r.text and "Under 2: 1; Aged 2: 1" in r.text
    assert "1 crèche worker needed" in r.text and "1 on the rota" in r.text


def test_facilitators_see_the_cohort_but_not_family_names(client, db, login_as, clock):
    cohort = factories.make_cohort(db.session)
    factories.make_enrolment(db.session, cohort=cohort, parent=factories.make_parent(db.session, first_name="Amina"))
    db.session.commit()
    login_as("facilitator")
    r = client.get(f"/cohorts/{cohort.id}")
    assert r.status_code == 200 and "Amina" not in r.text and "Family 1" in r.text
    assert "Move" not in r.text
    assert client.get("/cohorts/new").status_code == 403
    assert client.get(f"/sessions/{cohort.sessions[0].id}/move").status_code == 403


def test_list_filters(client, db, admin):
    oak = factories.make_centre(db.session, name="Oak Centre")
    elm = factories.make_centre(db.session, name="Elm Centre")
    factories.make_cohort(db.session, centre=oak, programme_key="together_time")
    factories.make_cohort(db.session, centre=elm, start_date=date(2027, 1, 12))
    db.session.commit()
    everything = client.get("/cohorts")
    assert everything.status_code == 200 and "2 cohorts" in everything.text
    assert "Autumn 2026" in everything.text and "Spring 2027" in everything.text
    only_tt = client.get("/cohorts?programme=together_time")
    assert "1 cohort" in only_tt.text and "Oak Centre" in only_tt.text and "Elm Centre, " not in only_tt.text
    spring = client.get("/cohorts?term=2027-spring")
    assert "1 cohort" in spring.text and "Elm Centre, " in spring.text
    centre_filter = client.get(f"/cohorts?centre_id={oak.id}")
    assert "1 cohort" in centre_filter.text
    # nonsense filters never fail
    assert client.get("/cohorts?programme=yoga&centre_id=x&term=soon").status_code == 200


def test_move_and_cancel_forms(client, db, admin):
    cohort = factories.make_cohort(db.session, programme_key="together_time", start_date=date(2026, 10, 6))
    db.session.commit()
    second = cohort.sessions[1]
    page = client.get(f"/sessions/{second.id}/move")
    assert page.status_code == 200 and 'value="13"' in page.text and 'value="10:00"' in page.text
    bad = client.post(f"/sessions/{second.id}/move", data={"new_date": ["25", "12", "2026"], "new_time": "14:00",
                                                          "room_id": str(second.room_id)})
    assert bad.status_code == 400 and "Christmas Day" in bad.text and 'value="14:00"' in bad.text
    ok = client.post(f"/sessions/{second.id}/move", data={"new_date": ["14", "10", "2026"], "new_time": "14:00",
                                                         "room_id": str(second.room_id)})
    assert ok.status_code == 302
    db.session.refresh(second)
    assert second.starts_at.hour == 13 and second.sequence == 1

    third = cohort.sessions[2]
    missing = client.post(f"/sessions/{third.id}/cancel", data={"reason": "", "add_catch_up": "y"})
    assert missing.status_code == 400 and "Enter a reason" in missing.text and "checked" in missing.text
    done = client.post(f"/sessions/{third.id}/cancel", data={"reason": "Heating broken", "add_catch_up": "y"})
    assert done.status_code == 302
    shown = client.get(f"/cohorts/{cohort.id}")
    assert "Heating broken" in shown.text and "Catch-up" in shown.text


def test_edit_capacity_below_enrolled_keeps_input(client, db, admin):
    cohort = factories.make_cohort(db.session, capacity=2)
    factories.make_enrolment(db.session, cohort=cohort)
    factories.make_enrolment(db.session, cohort=cohort)
    db.session.commit()
    r = client.post(f"/cohorts/{cohort.id}/edit", data={"capacity": "1", "room_id": str(cohort.room_id)})
    assert r.status_code == 400 and "2 families already have a place" in r.text and 'value="1"' in r.text


def test_cancel_cohort_form(client, db, admin):
    cohort = factories.make_cohort(db.session)
    db.session.commit()
    assert client.post(f"/cohorts/{cohort.id}/cancel", data={"reason": ""}).status_code == 400
    assert client.post(f"/cohorts/{cohort.id}/cancel", data={"reason": "No referrals"}).status_code == 302
    db.session.refresh(cohort)
    assert cohort.status == "cancelled"
    assert "This cohort is cancelled" in client.get(f"/cohorts/{cohort.id}").text


@pytest.mark.parametrize("parts", [["6"], ["6", "10", "2026", "1"]])
def test_a_date_in_the_wrong_number_of_parts_is_a_field_error(client, db, admin, parts):
    centre = factories.make_centre(db.session)
    db.session.commit()
    r = client.post("/cohorts/new", data=_form(centre.rooms[0].id, start_date=parts))
    assert r.status_code == 400 and "Enter the day, month and year" in r.text
