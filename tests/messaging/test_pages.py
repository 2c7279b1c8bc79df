"""Messages pages and API: overview, wording editor, a parent's history, GET /api/v1/messages, roles."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import events
from app.messaging.models import InboundMessage, OutboxMessage, SmsTemplate
from tests.factories import make_centre, make_cohort, make_enrolment, make_parent, make_user


def family(db, now, **kw):
    cohort = make_cohort(db.session)
    parent = make_parent(db.session, first_name="Amara", last_name="Okafor", **kw)
    enrolment = make_enrolment(db.session, cohort=cohort, parent=parent, enrolled_at=now)
    events.enrolment_created.send(enrolment, now=now, actor=None)
    db.session.commit()
    return parent


@pytest.mark.parametrize("role,status", [("admin", 200), ("worker", 403), ("facilitator", 403), ("commissioner", 403)])
def test_overview_is_for_coordinators(client, login_as, role, status):
    login_as(role)
    assert client.get("/messages").status_code == status
    assert client.get("/messages/wording/reminder/en").status_code == status
    saved = client.post("/messages/wording/reminder/en", data={"body": "Hi {first_name}", "save": "1"}).status_code
    assert saved == (302 if status == 200 else status)


def test_overview_lists_failures_opt_outs_numbers_and_unknown_texts(db, client, login_as, now, clock):
    login_as("admin")
    parent = family(db, now)
    row = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
    row.status, row.last_error, row.updated_at = "failed", "21211: not a valid phone number", now
    make_parent(db.session, first_name="Opted", last_name="Out", sms_opted_out_at=now)
    make_parent(db.session, first_name="Wrong", last_name="Number", mobile_problem="Twilio error 21614")
    db.session.add(InboundMessage(provider_sid="SMu", from_number="+447911000000", body="hello who is this",
                                  received_at=now))
    db.session.commit()
    page = client.get("/messages").get_data(as_text=True)
    assert "21211: not a valid phone number" in page and f"/messages/parents/{parent.id}" in page
    assert "Opted Out" in page and "Wrong Number" in page and "Twilio error 21614" in page
    assert "hello who is this" in page and "+447911000000" in page
    assert "/messages/wording/reminder/so" in page
    assert parent.mobile not in page  # masked in the failure list


def test_editor_shows_count_segments_and_ucs2_warning(db, client, login_as):
    login_as("admin")
    page = client.get("/messages/wording/reminder/en").get_data(as_text=True)
    assert "{first_name}" in page and re.search(r"\d+ characters, GSM-7: 1 SMS", page)
    response = client.post("/messages/wording/reminder/en", data={
        "body": "Hi {first_name} \u2013 {group} at {centre} is on {day} at {time}. Don\u2019t forget! See you there x",
        "check": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "UCS-2: 2 SMS" in page
    assert "(en dash)" in page and "(right single quotation mark)" in page
    assert db.session.scalar(sa.select(SmsTemplate)) is None  # checking does not save


def test_unknown_placeholder_is_refused_next_to_the_field_keeping_the_text(db, client, login_as):
    login_as("admin")
    typed = "Hi {first_name}, see you {when} at {centre}"
    response = client.post("/messages/wording/reminder/pt", data={"body": typed, "save": "1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Unknown placeholder {when}" in page and 'href="#body"' in page
    assert "Hi {first_name}, see you {when} at {centre}" in page
    assert db.session.scalar(sa.select(SmsTemplate)) is None


def test_saved_wording_is_used_for_new_messages_and_can_be_reset(db, client, login_as, now):
    admin = login_as("admin")
    response = client.post("/messages/wording/reminder/en", data={
        "body": "{first_name}: {group}, {day} {time}, {centre}. Reply if you can't come.", "save": "1"})
    assert response.status_code == 302
    saved = db.session.scalar(sa.select(SmsTemplate))
    assert saved.kind == "reminder" and saved.updated_by_id == admin.id
    parent = family(db, now)
    body = db.session.scalar(sa.select(OutboxMessage.body).where(OutboxMessage.kind == "reminder",
                                                                 OutboxMessage.parent_id == parent.id).limit(1))
    assert body.startswith("Amara: Circle of Security group, Tuesday 8 September 10:00")
    assert client.post("/messages/wording/reminder/en/reset").status_code == 302
    assert db.session.scalar(sa.select(SmsTemplate)) is None


def test_unknown_kind_or_language_is_404(client, login_as):
    login_as("admin")
    assert client.get("/messages/wording/nonsense/en").status_code == 404
    assert client.get("/messages/wording/reminder/xx").status_code == 404


def test_parent_history_with_statuses(db, client, login_as, now):
    worker = make_user(db.session, role="worker")
    parent = family(db, now, worker_id=worker.id)
    row = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "confirmation"))
    row.status, row.sent_at, row.delivered_at = "delivered", now, now
    db.session.add(InboundMessage(provider_sid="SM1", from_number=parent.mobile, body="thanks, see you then",
                                  parent_id=parent.id, intent="message", received_at=now))
    db.session.commit()
    login_as(worker)
    page = client.get(f"/messages/parents/{parent.id}").get_data(as_text=True)
    assert "Enrolment confirmation" in page and "Delivered" in page and "Queued" in page
    assert "thanks, see you then" in page and "Reminder before a session" in page


def test_parent_history_is_scoped_to_the_workers_families(db, client, login_as, now):
    parent = family(db, now)
    login_as("worker")
    assert client.get(f"/messages/parents/{parent.id}").status_code == 404
    assert client.get("/messages/parents/999999").status_code == 404


def test_api_lists_a_parents_messages(db, api_as, now):
    parent = family(db, now)
    api = api_as("admin")
    response = api.get(f"/api/v1/messages?parent_id={parent.id}")
    assert response.status_code == 200
    messages = response.json["messages"]
    assert len(messages) == 17 and {m["parent_id"] for m in messages} == {parent.id}
    first = next(m for m in messages if m["kind"] == "confirmation")
    assert first["status"] == "queued" and "Amara" in first["body"]
    assert first["send_after"] == "2026-09-01T10:00:00+01:00" and first["to"].startswith("+44…")
    only = api.get(f"/api/v1/messages?parent_id={parent.id}&kind=confirmation").json["messages"]
    assert [m["kind"] for m in only] == ["confirmation"]


@pytest.mark.parametrize("query,field", [("parent_id=abc", "parent_id"), ("parent_id=0", "parent_id"),
                                         ("status=lost", "status"), ("kind=spam", "kind"), ("limit=-1", "limit")])
def test_api_bad_input_is_422_naming_the_field(db, api_as, query, field):
    response = api_as("admin").get(f"/api/v1/messages?{query}")
    assert response.status_code == 422 and field in response.json["error"]["fields"]


def test_api_roles_and_scoping(db, api_as, now):
    parent = family(db, now)
    assert api_as("facilitator").get(f"/api/v1/messages?parent_id={parent.id}").status_code == 403
    assert api_as("commissioner").get(f"/api/v1/messages?parent_id={parent.id}").status_code == 403
    worker = api_as("worker")
    assert worker.get(f"/api/v1/messages?parent_id={parent.id}").status_code == 404  # not one of theirs
    assert worker.get("/api/v1/messages").status_code == 422
    centre_worker = make_user(db.session, role="worker", centres=[make_centre(db.session)])
    db.session.get(type(parent), parent.id).centre_id = centre_worker_centre(db, centre_worker)
    db.session.commit()
    assert api_as(centre_worker).get(f"/api/v1/messages?parent_id={parent.id}").status_code == 200
    assert api_as("admin").get("/api/v1/messages").status_code == 200


def centre_worker_centre(db, user):
    from app.staff.models import StaffCentre

    return db.session.scalar(sa.select(StaffCentre.centre_id).where(StaffCentre.user_id == user.id))


def test_openapi_documents_the_messages_endpoint(client):
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/messages" in spec["paths"]
