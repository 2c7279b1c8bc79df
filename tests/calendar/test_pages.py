"""The staff pages: a parent's link, my rota link, a cohort's link; who may use them."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from app.calendar import services
from app.calendar.models import CalendarToken
from tests import factories


@pytest.fixture
def parent(db):
    centre = factories.make_centre(db.session)
    parent = factories.make_parent(db.session, centre_id=centre.id, first_name="Amara", last_name="Okafor")
    factories.make_enrolment(db.session, parent=parent, cohort=factories.make_cohort(db.session, centre=centre))
    db.session.commit()
    return parent


def live_links(db):
    return db.session.scalars(sa.select(CalendarToken).where(CalendarToken.revoked_at.is_(None))).all()


@pytest.mark.parametrize("role,status", [("admin", 200), ("worker_here", 200), ("worker_elsewhere", 404),
                                         ("facilitator", 403), ("commissioner", 403)])
def test_who_may_see_a_parents_link(client, db, login_as, parent, role, status):
    if role == "worker_here":
        login_as("worker", centres=[_centre(db, parent.centre_id)])
    elif role == "worker_elsewhere":
        login_as("worker", centres=[factories.make_centre(db.session)])
    else:
        login_as(role)
    assert client.get(f"/parents/{parent.id}/calendar").status_code == status
    response = client.post(f"/parents/{parent.id}/calendar", data={"action": "create"})
    assert response.status_code == (302 if status == 200 else status)
    assert bool(live_links(db)) == (status == 200)


def _centre(db, centre_id):
    from app.centres.models import Centre

    return db.session.get(Centre, centre_id) if centre_id else None


def test_signed_out_visitors_are_sent_to_sign_in(client, db, parent):
    assert client.get(f"/parents/{parent.id}/calendar").status_code == 302
    assert client.post(f"/parents/{parent.id}/calendar", data={"action": "create"}).status_code == 302
    assert live_links(db) == []


def test_create_rotate_and_revoke_a_parents_link(client, db, login_as, parent):
    login_as("worker", centres=[_centre(db, parent.centre_id)])
    page = client.get(f"/parents/{parent.id}/calendar").get_data(as_text=True)
    assert "There is no calendar link at the moment" in page and "Amara Okafor" in page
    response = client.post(f"/parents/{parent.id}/calendar", data={"action": "create"})
    assert response.status_code == 302
    [link] = live_links(db)
    url = services.url_of(link)
    page = client.get(f"/parents/{parent.id}/calendar").get_data(as_text=True)
    assert url in page and services.webcal_url(url) in page and "iPhone" in page and "Android" in page
    assert client.get(urlsplit(url).path).status_code == 200

    client.post(f"/parents/{parent.id}/calendar", data={"action": "rotate"})
    [new] = live_links(db)
    assert new.id != link.id and client.get(urlsplit(url).path).status_code == 404
    assert services.url_of(new) in client.get(f"/parents/{parent.id}/calendar").get_data(as_text=True)

    client.post(f"/parents/{parent.id}/calendar", data={"action": "revoke"})
    assert live_links(db) == []
    assert client.get(urlsplit(services.url_of(new)).path).status_code == 404


@pytest.mark.parametrize("data", [{}, {"action": ""}, {"action": "delete"}, {"action": "x" * 5000}])
def test_odd_form_input_changes_nothing_and_never_fails(client, db, login_as, parent, data):
    login_as("admin")
    response = client.post(f"/parents/{parent.id}/calendar", data=data)
    assert response.status_code == 302
    assert live_links(db) == []


def test_unknown_or_erased_parents_are_not_found(client, db, login_as, parent):
    from app.timeutil import now

    login_as("admin")
    assert client.get("/parents/999999/calendar").status_code == 404
    parent.erased_at = now()
    db.session.commit()
    assert client.get(f"/parents/{parent.id}/calendar").status_code == 404


def test_my_calendar_link(client, db, login_as, now):
    me = login_as("facilitator")
    assert "Make a calendar link" in client.get("/calendar/mine").get_data(as_text=True)
    client.post("/calendar/mine", data={"action": "create"})
    [link] = live_links(db)
    assert link.user_id == me.id
    assert services.url_of(link) in client.get("/calendar/mine").get_data(as_text=True)
    assert client.get(urlsplit(services.url_of(link)).path).status_code == 200


def test_cohort_link_is_for_coordinators_and_workers(client, db, login_as, parent):
    from app.cohorts.models import Cohort

    cohort = db.session.scalars(sa.select(Cohort)).first()
    login_as("facilitator")
    assert client.get(f"/cohorts/{cohort.id}/calendar").status_code == 403
    client.post("/logout")
    login_as("admin")
    assert client.get(f"/cohorts/{cohort.id}/calendar").status_code == 200
    client.post(f"/cohorts/{cohort.id}/calendar", data={"action": "create"})
    [link] = live_links(db)
    assert link.cohort_id == cohort.id
    assert client.get("/cohorts/999999/calendar").status_code == 404
