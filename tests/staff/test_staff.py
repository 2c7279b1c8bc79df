"""Staff management: services, pages and API (app/staff/)."""
from datetime import date, time

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import User
from app.errors import Conflict, ValidationFailed
from app.staff import services
from app.staff.models import Availability, Leave, StaffCentre, StaffQualification
from tests import factories
from tests.conftest import TEST_PASSWORD


def test_create_staff_makes_an_account_with_qualifications_and_audits_it(db, now):
    admin = factories.make_user(db.session, role="admin")
    user = services.create_staff(db.session, email="Asha@Example.org", password=TEST_PASSWORD, role="facilitator",
                                 full_name="Asha Patel", qualifications=["clinical", "cosp"], now=now, actor=admin,
                                 hash_method="pbkdf2:sha256:1000")
    assert user.email == "asha@example.org" and user.must_change_password
    assert services.load_profiles(db.session, [user.id])[user.id].qualifications == {"clinical", "cosp"}
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "staff_created")).one()
    assert event.actor_id == admin.id and event.entity_id == user.id
    with pytest.raises(Conflict) as err:
        services.create_staff(db.session, email="asha@example.org", password=TEST_PASSWORD, role="facilitator",
                              full_name="Again", now=now, hash_method="pbkdf2:sha256:1000")
    assert err.value.field == "email"
    with pytest.raises(ValidationFailed) as err:
        services.create_staff(db.session, email="x@example.org", password=TEST_PASSWORD, role="facilitator",
                              full_name="X", qualifications=["juggling"], now=now)
    assert err.value.field == "qualifications"


def test_centres_and_preferred_centres(db, now):
    user = factories.make_user(db.session, role="facilitator")
    a, b = factories.make_centre(db.session), factories.make_centre(db.session)
    services.set_centres(db.session, user, [a.id, b.id], [b.id], now=now)
    p = services.load_profiles(db.session, [user.id])[user.id]
    assert p.centres == {a.id, b.id} and p.preferred_centres == {b.id}
    with pytest.raises(ValidationFailed) as err:
        services.set_centres(db.session, user, [a.id], [b.id], now=now)
    assert err.value.field == "preferred"
    services.set_centres(db.session, user, [], [], now=now)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffCentre)) == 0


def test_availability_windows_merge_and_leave_covers_inclusive_dates(db, now):
    user = factories.make_user(db.session, role="facilitator")
    services.add_availability(db.session, user, 1, time(9), time(12), now=now)
    services.add_availability(db.session, user, 1, time(12), time(15), now=now)
    services.add_leave(db.session, user, date(2026, 10, 12), date(2026, 10, 16), "Annual leave", now=now)
    p = services.load_profiles(db.session, [user.id])[user.id]
    assert p.available(1, time(11), time(13)) and not p.available(1, time(14), time(16))
    assert not p.available(2, time(10), time(11))
    assert p.leave_on(date(2026, 10, 16)) and not p.leave_on(date(2026, 10, 17))
    with pytest.raises(ValidationFailed) as err:
        services.add_availability(db.session, user, 1, time(15), time(9), now=now)
    assert err.value.field == "end_time"
    with pytest.raises(ValidationFailed) as err:
        services.add_leave(db.session, user, date(2026, 10, 16), date(2026, 10, 12), now=now)
    assert err.value.field == "end_date"


def test_staff_list_and_new_person_page(db, login_as, client):
    factories.make_centre(db.session, name="Oak Children's Centre")
    login_as("admin")
    r = client.get("/staff")
    assert r.status_code == 200 and "Add a member of staff" in r.get_data(as_text=True)
    assert client.get("/staff/new").status_code == 200
    centre_id = db.session.scalar(sa.select(StaffCentre.centre_id)) or db.session.execute(
        sa.text("SELECT id FROM centres")).scalar()
    r = client.post("/staff/new", data={
        "full_name": "Asha Patel", "email": "asha@example.org", "role": "facilitator", "mobile": "",
        "qualifications": ["clinical", "cosp"], "centres": [str(centre_id)], "preferred": [str(centre_id)],
        "is_enabled": "y", "password": TEST_PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    user = db.session.scalar(sa.select(User).where(User.email == "asha@example.org"))
    assert user.full_name == "Asha Patel" and user.role == "facilitator"
    assert set(db.session.scalars(sa.select(StaffQualification.qualification))) == {"clinical", "cosp"}
    assert db.session.scalar(sa.select(StaffCentre.is_preferred)) is True


def test_new_person_page_keeps_what_was_typed_and_names_the_bad_field(db, login_as, client):
    login_as("admin")
    r = client.post("/staff/new", data={"full_name": "Asha Patel", "email": "asha@example.org", "role": "facilitator",
                                        "qualifications": ["cosp"], "password": "short"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "Password must be at least 12 characters" in page
    assert 'value="Asha Patel"' in page and 'value="asha@example.org"' in page


def test_edit_person_availability_and_leave_pages(db, login_as, client, now):
    admin = login_as("admin")
    user = factories.make_user(db.session, role="facilitator", qualifications=("cosp",))
    db.session.commit()
    assert client.get(f"/staff/{user.id}").status_code == 200
    assert client.get(f"/staff/{user.id}/edit").status_code == 200
    r = client.post(f"/staff/{user.id}/edit", data={"full_name": "New Name", "role": "worker", "mobile": "",
                                                   "qualifications": ["better_start"], "is_enabled": "y"})
    assert r.status_code == 302
    db.session.refresh(user)
    assert user.full_name == "New Name" and user.role == "worker"
    assert list(db.session.scalars(sa.select(StaffQualification.qualification))) == ["better_start"]
    r = client.post(f"/staff/{user.id}/availability", data={"weekday": "1", "start_time": "9:30", "end_time": "15:00"})
    assert r.status_code == 302
    window = db.session.scalar(sa.select(Availability))
    assert (window.weekday, window.start_time, window.end_time) == (1, time(9, 30), time(15))
    r = client.post(f"/staff/{user.id}/availability", data={"weekday": "1", "start_time": "25:00", "end_time": "15"})
    assert r.status_code == 400 and "Enter a time like 09:30" in r.get_data(as_text=True)
    r = client.post(f"/staff/{user.id}/leave", data={"start_date": ["12", "10", "2026"],
                                                    "end_date": ["16", "10", "2026"], "reason": "Annual leave"})
    assert r.status_code == 302
    assert db.session.scalar(sa.select(Leave.end_date)) == date(2026, 10, 16)
    r = client.post(f"/staff/{user.id}/leave", data={"start_date": ["31", "2", "2026"],
                                                    "end_date": ["", "", ""]})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "First day must be a real date" in page and "Enter the last day of leave" in page
    leave_id = db.session.scalar(sa.select(Leave.id))
    assert client.post(f"/staff/{user.id}/leave/{leave_id}/remove").status_code == 302
    assert client.post(f"/staff/{user.id}/availability/{window.id}/remove").status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Leave)) == 0
    assert client.get("/staff/99999").status_code == 404
    assert admin.id


def test_leave_over_rota_sessions_warns_the_coordinator(db, login_as, client):
    login_as("admin")
    user = factories.make_user(db.session, role="facilitator", qualifications=("cosp",))
    cohort = factories.make_cohort(db.session)
    factories.make_rota_assignment(db.session, cohort.sessions[0], user)
    db.session.commit()
    r = client.post(f"/staff/{user.id}/leave", data={"start_date": ["7", "9", "2026"],
                                                    "end_date": ["9", "9", "2026"]}, follow_redirects=True)
    assert "is still on the rota for 1 session in those dates: Tue 8 Sep Circle of Security" in r.get_data(as_text=True)


@pytest.mark.parametrize("role", ["facilitator", "worker", "commissioner"])
def test_only_admins_manage_staff(db, login_as, client, api_as, role):
    login_as(role)
    assert client.get("/staff").status_code == 403
    assert client.get("/staff/new").status_code == 403
    assert api_as(role).get("/api/v1/staff").status_code == 403


def test_staff_api_lists_what_the_rota_knows(db, api_as):
    user = factories.make_user(db.session, role="facilitator", qualifications=("creche",), full_name="Cara")
    factories.make_availability(db.session, user, weekdays=[0], start=time(9), end=time(13))
    factories.make_leave(db.session, user, date(2026, 10, 1))
    api = api_as("admin")
    r = api.get("/api/v1/staff")
    assert r.status_code == 200
    cara = next(s for s in r.json["staff"] if s["id"] == user.id)
    assert cara["qualifications"] == ["creche"]
    assert cara["availability"] == [{"weekday": 0, "start_time": "09:00", "end_time": "13:00"}]
    assert cara["leave"] == [{"start_date": "2026-10-01", "end_date": "2026-10-01"}]
    assert api.get(f"/api/v1/staff/{user.id}").json["name"] == "Cara"
    assert api.get("/api/v1/staff/424242").status_code == 404


def test_a_date_in_the_wrong_number_of_parts_is_a_field_error(db, login_as, client):
    login_as("admin")
    user = factories.make_user(db.session, role="facilitator")
    db.session.commit()
    r = client.post(f"/staff/{user.id}/leave", data={"start_date": ["1"], "end_date": ["1", "2", "2026", "9"]})
    assert r.status_code == 400 and "First day must be a real date" in r.get_data(as_text=True)
    r = client.get("/rota?start_date=1&end_date=1&end_date=2")
    assert r.status_code == 400 and "From must be a real date" in r.get_data(as_text=True)
