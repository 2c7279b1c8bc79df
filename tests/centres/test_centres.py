"""Centres: services (rooms, closure days, postcodes) and pages (forms keep input on error)."""
from datetime import date, datetime

import pytest

from app.centres.models import Centre, ClosureDay
from app.centres.services import add_closure, create_centre, normalise_postcode, update_centre
from app.errors import Conflict, ValidationFailed
from tests import factories


@pytest.mark.parametrize("raw, clean", [("sw97qd", "SW9 7QD"), (" se5  8rs ", "SE5 8RS"), ("EC1A1BB", "EC1A 1BB"),
                                        ("", "")])
def test_postcodes_are_normalised(raw, clean):
    assert normalise_postcode(raw) == clean


def test_bad_postcode_is_refused():
    with pytest.raises(ValidationFailed) as err:
        normalise_postcode("12345")
    assert err.value.field == "postcode"


def test_rooms_cannot_be_removed_while_a_cohort_uses_them(db, now):
    centre = create_centre(db.session, name="Oak", rooms=["Main hall", "Garden room"], creche_capacity=8, now=now)
    hall = next(r for r in centre.rooms if r.name == "Main hall")
    factories.make_cohort(db.session, centre=centre, room_id=hall.id)
    with pytest.raises(ValidationFailed) as err:
        update_centre(db.session, centre, name="Oak", rooms=["Garden room"], now=now)
    assert err.value.field == "rooms" and "Main hall" in err.value.message
    update_centre(db.session, centre, name="Oak Centre", rooms=["main hall", "Garden room", "Studio"], now=now)
    assert sorted(r.name for r in centre.rooms) == ["Garden room", "Studio", "main hall"]
    assert centre.name == "Oak Centre"


def test_closure_day_reports_sessions_already_planned(db, now):
    centre = factories.make_centre(db.session)
    cohort = factories.make_cohort(db.session, centre=centre, start_date=date(2026, 9, 8))
    closure, affected = add_closure(db.session, centre, date(2026, 9, 15), "Boiler", now=now)
    assert affected == [cohort.sessions[1]]
    with pytest.raises(Conflict):
        add_closure(db.session, centre, date(2026, 9, 15), "again", now=now)


@pytest.fixture
def admin(login_as, clock):
    return login_as("admin")


def test_add_a_centre_from_the_form(client, db, admin):
    r = client.post("/centres/new", data={"name": "Oak Centre", "address": "1 Oak Road", "postcode": "se5 8rs",
                                          "ward": "Camberwell", "creche_capacity": "9",
                                          "rooms": "Main hall\r\nGarden room\r\n"})
    assert r.status_code == 302
    centre = db.session.query(Centre).one()
    assert centre.postcode == "SE5 8RS" and sorted(r.name for r in centre.rooms) == ["Garden room", "Main hall"]
    page = client.get(r.headers["Location"])
    assert "Oak Centre" in page.text and "Garden room, Main hall" in page.text
    assert "Oak Centre" in client.get("/centres").text


def test_centre_form_keeps_input_on_error(client, db, admin):
    r = client.post("/centres/new", data={"name": "Oak Centre", "address": "1 Oak Road", "postcode": "nonsense",
                                          "ward": "Camberwell", "creche_capacity": "nine", "rooms": "Main hall"})
    assert r.status_code == 400
    assert "whole number" in r.text and 'value="nine"' in r.text and 'value="Camberwell"' in r.text
    r = client.post("/centres/new", data={"name": "Oak Centre", "address": "1 Oak Road", "postcode": "nonsense",
                                          "ward": "Camberwell", "creche_capacity": "9", "rooms": "Main hall"})
    assert r.status_code == 400 and "real UK postcode" in r.text and 'value="nonsense"' in r.text
    assert "Main hall" in r.text and "1 Oak Road" in r.text
    assert db.session.query(Centre).count() == 0


def test_closure_days_on_the_page(client, db, admin):
    centre = factories.make_centre(db.session)
    factories.make_cohort(db.session, centre=centre, start_date=date(2026, 9, 8))
    db.session.commit()
    r = client.post(f"/centres/{centre.id}/closures", data={"closure_date": ["15", "9", "2026"], "reason": "Boiler"})
    assert r.status_code == 302
    page = client.get(f"/centres/{centre.id}")
    assert "Tue 15 Sep 2026" in page.text and "Boiler" in page.text and "1 session falls on that day: move or cancel it" in page.text
    assert "Sessions already planned on closure days" in page.text
    bad = client.post(f"/centres/{centre.id}/closures", data={"closure_date": ["31", "9", "2026"], "reason": "Works"})
    assert bad.status_code == 400 and "real date" in bad.text and 'value="Works"' in bad.text
    closure = db.session.query(ClosureDay).one()
    assert client.post(f"/centres/{centre.id}/closures/{closure.id}/delete").status_code == 302
    assert db.session.query(ClosureDay).count() == 0


def test_centre_permissions(client, db, login_as, clock):
    centre = factories.make_centre(db.session)
    db.session.commit()
    login_as("worker")
    assert client.get("/centres").status_code == 200
    assert client.get(f"/centres/{centre.id}").status_code == 200
    assert client.get("/centres/new").status_code == 403
    assert client.post(f"/centres/{centre.id}/closures", data={}).status_code == 403
