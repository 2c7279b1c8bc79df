"""Recording parents and children: validation, duplicates, consent, audit, scoping (services, no HTTP)."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app import events
from app.audit.models import AuditEvent
from app.errors import NotFound, ValidationFailed
from app.parents.models import Child, Parent
from app.parents.services import (DuplicateParent, create_parent, get_parent, search_parents, unasked_questions,
                                  update_parent)
from tests import factories

TODAY = date(2026, 9, 1)  # the `now` fixture's London date


def family(**overrides):
    data = {"first_name": "Ama", "last_name": "Mensah", "mobile": "07400 123456", "postcode": "se24 0aa",
            "sms_consent": True, "children": [{"first_name": "Kofi", "date_of_birth": "2025-05-01"},
                                               {"first_name": "", "due_date": "2027-01-10"}]}
    data.update(overrides)
    return data


def test_a_family_is_stored_normalised_and_audited(db, now):
    worker = factories.make_user(db.session, role="worker")
    parent = create_parent(db.session, family(), now=now, actor=worker)
    db.session.commit()
    assert parent.mobile == "+447400123456" and parent.postcode == "SE24 0AA"
    assert parent.sms_consent and parent.sms_consent_at == now and parent.sms_consent_by_id == worker.id
    assert parent.worker_id == worker.id  # the worker who enters a family follows it up
    assert [(c.first_name, c.date_of_birth, c.due_date) for c in parent.children] == [
        ("Kofi", date(2025, 5, 1), None), ("", None, date(2027, 1, 10))]
    assert parent.ethnicity == "not_asked" and "Ethnicity" in unasked_questions(parent)
    trail = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.parent_id == parent.id)).all()
    assert sorted((e.action, e.entity_type) for e in trail) == [
        ("create", "Child"), ("create", "Child"), ("create", "Parent")]
    assert all(e.actor_id == worker.id for e in trail)


@pytest.mark.parametrize("first, last, child", [
    ("Zoë", "O'Connor", "Siân"), ("أمينة", "الحسن", "يوسف"), ("Nguyễn", "Thị Hương", "Minh"),
    ("Małgorzata", "Wójcik-Brzęczyszczykiewicz", "Łucja"),
])
def test_names_are_stored_exactly(db, now, first, last, child):
    parent = create_parent(db.session, family(first_name=first, last_name=last, mobile=None,
                                              children=[{"first_name": child, "date_of_birth": "2025-05-01"}]),
                           now=now, actor=None)
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(Parent, parent.id)
    assert (again.first_name, again.last_name, again.children[0].first_name) == (first, last, child)


def test_every_bad_field_is_named_at_once(db, now):
    bad = family(first_name=" ", mobile="020 7946 0000", postcode="SW9", email="not-an-email", language="xx",
                 ethnicity="martian", children=[
                     {"first_name": "Future", "date_of_birth": (TODAY + timedelta(days=1)).isoformat()},
                     {"first_name": "", "due_date": "2027-08-01"},           # 11 months away
                     {"first_name": "Both", "date_of_birth": "2025-01-01", "due_date": "2026-12-01"},
                     {"first_name": "Neither"},
                     {"first_name": "Bad date", "date_of_birth": "2025-02-30"},
                 ])
    with pytest.raises(ValidationFailed) as err:
        create_parent(db.session, bad, now=now, actor=None)
    fields = err.value.fields
    assert set(fields) == {"first_name", "mobile", "postcode", "email", "language", "ethnicity",
                           "children.0.date_of_birth", "children.1.due_date", "children.2.due_date",
                           "children.3.date_of_birth", "children.4.date_of_birth"}
    assert "landline" in fields["mobile"][0]
    assert fields["children.0.date_of_birth"] == ["The date of birth must be today or in the past"]
    assert fields["children.1.due_date"] == ["The due date must be within 10 months from today"]
    assert db.session.scalar(sa.select(sa.func.count(Parent.id))) == 0


def test_due_date_ten_months_away_is_accepted(db, now):
    parent = create_parent(db.session, family(mobile=None, children=[{"due_date": "2027-07-01"}]), now=now,
                           actor=None)
    assert parent.children[0].due_date == date(2027, 7, 1)


def test_duplicate_by_mobile_or_by_name_and_child_birthday(db, now):
    first = create_parent(db.session, family(), now=now, actor=None)
    with pytest.raises(DuplicateParent) as err:
        create_parent(db.session, family(first_name="Someone", last_name="Else",
                                         children=[]), now=now, actor=None)
    assert [m.parent for m in err.value.matches] == [first] and err.value.field == "mobile"
    assert err.value.status == 409 and str(first.id) in err.value.message
    # Same name (other case and accents), same child's birthday, a new number
    with pytest.raises(DuplicateParent) as err:
        create_parent(db.session, family(first_name="AMA", last_name="mensah", mobile="07400 654321",
                                         children=[{"first_name": "K", "date_of_birth": "2025-05-01"}]),
                      now=now, actor=None)
    assert err.value.matches[0].parent == first and "date of birth" in err.value.matches[0].reason
    # Told it is a different person, it is recorded
    second = create_parent(db.session, family(), now=now, actor=None, allow_duplicate=True)
    assert second.id != first.id
    # Same name, different child birthday and number: no match
    create_parent(db.session, family(mobile="07400 111222", children=[{"first_name": "Esi",
                                                                          "date_of_birth": "2024-02-02"}]),
                  now=now, actor=None)


def test_update_changes_audits_and_signals_consent(db, now):
    parent = create_parent(db.session, family(sms_consent=False), now=now, actor=None)
    admin = factories.make_user(db.session, role="admin")
    heard = []

    def listener(sender, **kw):
        heard.append((sender, kw["opted_out"]))

    events.sms_consent_changed.connect(listener)
    try:
        later = now + timedelta(days=2)
        update_parent(db.session, parent, {"sms_consent": True, "postcode": "sw9 7qd", "ethnicity": "prefer_not_to_say"},
                      now=later, actor=admin)
    finally:
        events.sms_consent_changed.disconnect(listener)
    assert heard == [(parent, False)]
    assert parent.sms_consent_at == later and parent.sms_consent_by_id == admin.id
    assert parent.postcode == "SW9 7QD" and parent.ethnicity == "prefer_not_to_say"
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "Parent",
                                                           AuditEvent.action == "update")).one()
    assert event.changes["postcode"] == ["SE24 0AA", "SW9 7QD"] and event.actor_id == admin.id
    # nothing changed: no event, no signal
    update_parent(db.session, parent, {"sms_consent": True}, now=later, actor=admin)
    assert heard == [(parent, False)]


def test_children_list_replaces_and_old_pregnancy_does_not_block_edits(db, now):
    parent = factories.make_parent(db.session, children=[{"first_name": "Old", "due_date": date(2026, 5, 1)},
                                                          {"first_name": "Kept", "date_of_birth": date(2025, 1, 1)}])
    old, kept = parent.children
    # the old due date is long past, but unchanged, so a change of name still saves
    update_parent(db.session, parent, {"first_name": "Abena",
                                       "children": [{"id": old.id, "first_name": "Old"}, {"id": kept.id}]},
                  now=now, actor=None)
    assert parent.first_name == "Abena"
    # the baby is born: the date of birth replaces the due date; Kept is dropped and deleted
    update_parent(db.session, parent, {"children": [{"id": old.id, "first_name": "Yaw", "date_of_birth": "2026-05-03"}]},
                  now=now, actor=None)
    db.session.flush()
    assert [(c.first_name, c.date_of_birth, c.due_date) for c in parent.children] == [("Yaw", date(2026, 5, 3), None)]
    assert db.session.get(Child, kept.id) is None


def test_a_child_can_have_two_carers(db, now):
    mum = create_parent(db.session, family(), now=now, actor=None)
    kofi = mum.children[0]
    dad = create_parent(db.session, family(first_name="Kwame", mobile="07400 222333",
                                           children=[{"id": kofi.id}]), now=now, actor=None)
    assert dad.children == [kofi] and {p.id for p in kofi.carers} == {mum.id, dad.id}
    # unlinking from one carer keeps the child for the other
    update_parent(db.session, dad, {"children": []}, now=now, actor=None)
    db.session.flush()
    assert db.session.get(Child, kofi.id) is not None and mum.children[0] == kofi


def test_workers_see_their_centres_and_their_own_families(db, now):
    north, south = factories.make_centre(db.session), factories.make_centre(db.session)
    worker = factories.make_user(db.session, role="worker", centres=[north])
    admin = factories.make_user(db.session, role="admin")
    at_north = factories.make_parent(db.session, centre_id=north.id, first_name="North")
    at_south = factories.make_parent(db.session, centre_id=south.id, first_name="South")
    mine = factories.make_parent(db.session, centre_id=south.id, worker_id=worker.id, first_name="Mine")
    assert {p.id for p in search_parents(db.session, worker)} == {at_north.id, mine.id}
    assert {p.id for p in search_parents(db.session, admin)} == {at_north.id, at_south.id, mine.id}
    assert get_parent(db.session, mine.id, worker) == mine
    with pytest.raises(NotFound):
        get_parent(db.session, at_south.id, worker)
    assert [p.id for p in search_parents(db.session, admin, "sout")] == [at_south.id]
    assert [p.id for p in search_parents(db.session, admin, at_north.mobile[-8:])] == [at_north.id]
