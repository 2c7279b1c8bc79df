"""The enrol, withdraw and transfer pages, and the whole worker flow from a new family to a crèche place."""
import re
from datetime import date
from html import unescape

import sqlalchemy as sa

from app.eligibility.models import Ward, WardPostcode
from app.enrolment.models import CrecheBooking, Enrolment
from app.parents.models import Parent
from tests import factories


def text(response):
    return " ".join(unescape(response.get_data(as_text=True)).split())


def words(response):
    """The page's text without its tags."""
    return " ".join(re.sub(r"<[^>]+>", " ", unescape(response.get_data(as_text=True))).split())


def test_a_worker_adds_a_family_and_enrols_them_with_one_child_in_the_creche(client, login_as, db, clock):
    centre = factories.make_centre(db.session, ward="Stockwell")
    cohort = factories.make_cohort(db.session, centre=centre)
    worker = factories.make_user(db.session, role="worker", centres=[centre])
    login_as(worker)
    # 1. the family form, "Save and enrol"
    response = client.post("/families/new", data={
        "first_name": "Ama", "last_name": "Mensah", "mobile": "07400 123456", "sms_consent": "y",
        "postcode": "SW9 7QD", "language": "en", "centre_id": str(centre.id), "worker_id": str(worker.id),
        "children-0-first_name": "Kofi", "children-0-date_of_birth": ["1", "6", "2024"],
        "children-1-first_name": "Esi", "children-1-date_of_birth": ["5", "1", "2026"],
        "save_and_enrol": "y"})
    assert response.status_code == 302
    parent = db.session.scalars(sa.select(Parent)).one()
    assert response.headers["Location"].endswith(f"/families/{parent.id}/enrol")
    # 2. the enrol page lists the group with its free places and eligibility
    page = text(client.get(response.headers["Location"]))
    assert "Circle of Security Parenting at " + centre.name in page
    assert "10 of 10 places free. Eligible" in page
    assert 'name="creche_child_ids"' in page and "Midwifery" in page
    kofi, esi = parent.children
    response = client.post(response.headers["Location"], data={
        "cohort_id": str(cohort.id), "creche_child_ids": [str(esi.id)], "referral_source": "health_visiting"})
    assert response.status_code == 302, text(response)[:3000]
    enrolment = db.session.scalars(sa.select(Enrolment)).one()
    assert enrolment.status == "enrolled" and enrolment.referral_source == "health_visiting"
    booked = db.session.scalars(sa.select(CrecheBooking.child_id).where(CrecheBooking.status == "booked")).all()
    assert set(booked) == {esi.id} and len(booked) == 8
    page = words(client.get(response.headers["Location"]))
    assert "Ama Mensah is enrolled in Circle of Security Parenting. Crèche place for Esi." in page
    assert "Enrolled since 01 September 2026" in page


def test_enrol_page_errors_are_beside_the_fields_and_keep_choices(client, login_as, db, clock):
    cohort = factories.make_cohort(db.session, programme_key="together_time")
    parent = factories.make_parent(db.session, children=[{"first_name": "Bea", "date_of_birth": date(2026, 3, 1)}])
    db.session.commit()
    login_as("admin")
    url = f"/families/{parent.id}/enrol"
    response = client.post(url, data={})
    page = text(response)
    assert response.status_code == 400 and "Choose a group" in page and "Choose who referred the family" in page
    response = client.post(url, data={"cohort_id": str(cohort.id), "referral_source": "gp",
                                      "creche_child_ids": [str(parent.children[0].id)]})
    page = text(response)
    assert response.status_code == 400 and "Together Time has no crèche" in page
    assert f'value="{cohort.id}" checked' in page and 'value="gp" checked' in page


def test_ineligible_family_worker_is_told_and_coordinator_overrides(client, login_as, db, clock):
    db.session.add(Ward(name="Stockwell", postcodes=[WardPostcode(postcode="SW9 7QD")]))
    cohort = factories.make_cohort(db.session)
    worker = factories.make_user(db.session, role="worker")
    parent = factories.make_parent(db.session, postcode="SE1 7PB", worker_id=worker.id,
                                   children=[{"first_name": "Kofi", "date_of_birth": date(2022, 9, 5)}])
    db.session.commit()
    url = f"/families/{parent.id}/enrol"
    login_as(worker)
    page = text(client.get(url))
    assert "Not eligible: SE1 7PB is not in an eligible ward; Kofi will be 4 before the group starts" in page
    assert "eligibility_override_reason" not in page  # workers cannot override
    response = client.post(url, data={"cohort_id": str(cohort.id), "referral_source": "gp"})
    assert response.status_code == 400
    assert "A coordinator can enrol the family with a reason" in text(response)
    family_page = text(client.get(f"/families/{parent.id}"))
    assert "SE1 7PB is not in an eligible ward" in family_page
    client.post("/logout")
    admin = login_as("admin")
    response = client.post(url, data={"cohort_id": str(cohort.id), "referral_source": "gp",
                                      "eligibility_override_reason": "Agreed with the funder: moving into Stockwell"})
    assert response.status_code == 302, text(response)[:3000]
    enrolment = db.session.scalars(sa.select(Enrolment)).one()
    assert enrolment.eligibility_override_by_id == admin.id
    page = text(client.get(f"/families/{parent.id}"))
    assert f"Eligibility overridden by {admin.display_name}: Agreed with the funder: moving into Stockwell" in page


def test_withdraw_needs_a_reason_and_promotes_the_waiting_list(client, login_as, db, clock):
    cohort = factories.make_cohort(db.session, capacity=1)
    first = factories.make_enrolment(db.session, cohort=cohort)
    second = factories.make_enrolment(db.session, cohort=cohort, status="waitlisted")
    db.session.commit()
    login_as("admin")
    url = f"/enrolments/{first.id}/withdraw"
    assert "Withdraw from Circle of Security Parenting" in text(client.get(url))
    response = client.post(url, data={"reason": "  "})
    assert response.status_code == 400 and "Enter the reason for the withdrawal" in text(response)
    response = client.post(url, data={"reason": "Started a new job"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Enrolment, first.id).status == "withdrawn"
    assert db.session.get(Enrolment, second.id).status == "enrolled"
    page = words(client.get(response.headers["Location"]))
    assert "Withdrawn on 01 September 2026: Started a new job" in page
    assert client.post(url, data={"reason": "again"}).status_code == 400


def test_transfer_lists_later_groups_only_and_keeps_history(client, login_as, db, clock):
    centre = factories.make_centre(db.session, rooms=("Hall", "Room 2"))
    now_group = factories.make_cohort(db.session, centre=centre, start_date=date(2026, 9, 15))
    earlier = factories.make_cohort(db.session, centre=centre, start_date=date(2026, 9, 8), room_id=centre.rooms[1].id)
    later = factories.make_cohort(db.session, centre=centre, start_date=date(2027, 1, 12))
    enrolment = factories.make_enrolment(db.session, cohort=now_group)
    db.session.commit()
    login_as("admin")
    url = f"/enrolments/{enrolment.id}/transfer"
    page = text(client.get(url))
    assert f'value="{later.id}"' in page and f'value="{earlier.id}"' not in page
    assert client.post(url, data={"cohort_id": str(earlier.id)}).status_code == 400
    response = client.post(url, data={"cohort_id": str(later.id)})
    assert response.status_code == 302, text(response)[:2000]
    db.session.expire_all()
    old = db.session.get(Enrolment, enrolment.id)
    assert old.status == "transferred" and db.session.get(Enrolment, old.transferred_to_id).cohort_id == later.id
    page = text(client.get(response.headers["Location"]))
    assert "Transferred" in page and "Enrolled" in page
