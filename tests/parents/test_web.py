"""The family pages: list, the form with children (errors kept beside fields), duplicates, the family page."""
import re
from html import unescape

import sqlalchemy as sa

from app.parents.models import Parent
from tests import factories


def form_data(**overrides):
    data = {"first_name": "Zoë", "last_name": "O'Connor", "mobile": "07400 123456", "sms_consent": "y",
            "postcode": "sw9 7qd", "language": "en", "ethnicity": "not_asked", "relationship_status": "not_asked",
            "gender": "not_asked", "age_band": "not_asked", "first_time_parent": "not_asked",
            "centre_id": "", "worker_id": "",
            "children-0-first_name": "Finn", "children-0-date_of_birth": ["1", "6", "2024"],
            "children-0-due_date": ["", "", ""],
            "children-1-first_name": "Nuala", "children-1-date_of_birth": ["5", "1", "2026"],
            "children-1-due_date": ["", "", ""], "save": "y"}
    data.update(overrides)
    return data


def text(response):
    return unescape(response.get_data(as_text=True))


def test_the_form_starts_with_two_child_rows_and_can_add_more(client, login_as, clock):
    login_as("worker")
    page = text(client.get("/families/new"))
    assert 'name="children-0-first_name"' in page and 'name="children-1-first_name"' in page
    assert 'name="children-2-first_name"' not in page
    more = client.post("/families/new", data=form_data(add_child="y", save=None))
    page = text(more)
    assert more.status_code == 200 and 'name="children-2-first_name"' in page
    assert 'value="Zoë"' in page and 'value="O\'Connor"' in page  # nothing typed is lost
    assert "Not asked yet: ethnicity, relationship status, gender, age, first-time parent." in page


def test_save_stores_exact_names_and_redirects_to_the_family(client, login_as, db, clock):
    worker = login_as("worker")
    response = client.post("/families/new", data=form_data())
    assert response.status_code == 302, text(response)[:2000]
    parent = db.session.scalars(sa.select(Parent)).one()
    assert response.headers["Location"].endswith(f"/families/{parent.id}")
    assert (parent.first_name, parent.last_name, parent.mobile, parent.postcode) == (
        "Zoë", "O'Connor", "+447400123456", "SW9 7QD")
    assert [c.first_name for c in parent.children] == ["Finn", "Nuala"] and parent.worker_id == worker.id
    page = text(client.get(response.headers["Location"]))
    assert "Zoë O'Connor" in page and "07400 123456" in page and "Not asked yet: ethnicity" in page
    assert "Finn: born Sat 01 Jun 2024" in " ".join(page.split())


def test_non_latin_names_round_trip_through_the_pages(client, login_as, db, clock):
    login_as("worker")
    client.post("/families/new", data=form_data(first_name="أمينة", last_name="Nguyễn", mobile="",
                                                **{"children-0-first_name": "Minh"}))
    parent = db.session.scalars(sa.select(Parent)).one()
    assert (parent.first_name, parent.last_name) == ("أمينة", "Nguyễn")
    page = text(client.get(f"/families/{parent.id}"))
    assert "أمينة Nguyễn" in page
    listed = text(client.get("/families?q=nguy"))
    assert "أمينة Nguyễn" in listed


def test_bad_input_is_shown_beside_each_field_and_kept(client, login_as, db, clock):
    login_as("worker")
    response = client.post("/families/new", data=form_data(**{
        "mobile": "020 7946 0000", "postcode": "SW9",
        "children-0-date_of_birth": ["1", "1", "2030"],
        "children-1-first_name": "", "children-1-date_of_birth": ["", "", ""],
        "children-1-due_date": ["1", "12", "2027"],
        "children-2-first_name": "Typo", "children-2-date_of_birth": ["31", "2", "2025"],
        "children-2-due_date": ["", "", ""]}))
    page = text(response)
    assert response.status_code == 400
    assert "020 7946 0000 is a landline: enter a mobile number so we can send reminders" in page
    assert "SW9 is not a UK postcode" in page
    assert "The date of birth must be today or in the past" in page
    assert "The due date must be within 10 months from today" in page
    assert "Date of birth must be a real date" in page
    assert 'href="#children-0-date_of_birth-day"' in page  # the summary links to the field
    assert 'value="020 7946 0000"' in page and 'value="2030"' in page and 'value="31"' in page
    assert db.session.scalar(sa.select(sa.func.count(Parent.id))) == 0


def test_a_duplicate_shows_the_match_and_can_be_saved_anyway(client, login_as, db, clock):
    worker = login_as("worker")
    existing = factories.make_parent(db.session, first_name="Ama", last_name="Mensah", mobile="+447400123456",
                                     worker_id=worker.id)
    db.session.commit()
    response = client.post("/families/new", data=form_data())
    page = text(response)
    assert response.status_code == 409
    assert "This family may already be recorded" in page and "Ama Mensah" in page
    assert f'href="/families/{existing.id}"' in page and "Use this record" in page
    assert 'value="Zoë"' in page
    saved = client.post("/families/new", data=form_data(not_duplicate="y"))
    assert saved.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(Parent.id))) == 2


def test_edit_changes_details_and_removes_a_child(client, login_as, db, clock):
    worker = login_as("worker")
    parent = factories.make_parent(db.session, worker_id=worker.id, children=[
        {"first_name": "Finn", "date_of_birth": __import__("datetime").date(2024, 6, 1)},
        {"first_name": "Old", "date_of_birth": __import__("datetime").date(2025, 6, 1)}])
    db.session.commit()
    finn, old = parent.children
    page = text(client.get(f"/families/{parent.id}/edit"))
    assert 'value="Finn"' in page and 'name="children-1-remove"' in page
    response = client.post(f"/families/{parent.id}/edit", data=form_data(**{
        "first_name": "Siân", "children-0-child_id": str(finn.id), "children-0-first_name": "Finn",
        "children-1-child_id": str(old.id), "children-1-first_name": "Old",
        "children-1-date_of_birth": ["1", "6", "2025"], "children-1-remove": "y"}))
    assert response.status_code == 302, text(response)[:3000]
    db.session.expire_all()
    parent = db.session.get(Parent, parent.id)
    assert parent.first_name == "Siân" and [c.first_name for c in parent.children] == ["Finn"]


def test_workers_see_only_their_families(client, login_as, db, clock):
    north, south = factories.make_centre(db.session), factories.make_centre(db.session)
    worker = factories.make_user(db.session, role="worker", centres=[north])
    factories.make_parent(db.session, centre_id=north.id, first_name="Northern")
    other = factories.make_parent(db.session, centre_id=south.id, first_name="Southern")
    login_as(worker)
    page = text(client.get("/families"))
    assert "Northern" in page and "Southern" not in page
    assert client.get(f"/families/{other.id}").status_code == 404
    assert client.get(f"/families/{other.id}/edit").status_code == 404


def test_roles_matrix(client, login_as, db, clock):
    parent = factories.make_parent(db.session)
    db.session.commit()
    login_as("facilitator")
    for url in ("/families", "/families/new", f"/families/{parent.id}", f"/families/{parent.id}/enrol", "/areas"):
        assert client.get(url).status_code == 403, url
    client.post("/logout")
    login_as("worker")
    assert client.get("/areas").status_code == 403
    assert client.get("/families").status_code == 200
    client.post("/logout")
    login_as("admin")
    for url in ("/families", "/families/new", f"/families/{parent.id}", f"/families/{parent.id}/edit",
                f"/families/{parent.id}/enrol", "/areas"):
        assert client.get(url).status_code == 200, url
    assert re.search(r'href="/families"[^>]*>\s*Families', text(client.get("/")))  # in the navigation


def test_adding_rows_stops_at_the_limit_without_an_error_page(client, login_as, clock):
    login_as("worker")
    data = form_data(add_child="y", save=None)
    for i in range(2, 12):
        data[f"children-{i}-first_name"] = ""
    response = client.post("/families/new", data=data)
    assert response.status_code == 200 and "up to 12 children" in text(response)
