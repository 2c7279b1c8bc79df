"""Subject access export and erasure: everything is exported, erasure anonymises and keeps counts."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.audit.datarights import erase_parent, export_parent, text_summary
from app.audit.models import AuditEvent
from app.errors import Conflict, ValidationFailed
from tests import factories
from tests.security import flow


@pytest.fixture
def family(app, db, clock):
    """The demo flow's family: parent, child, enrolment, mark, follow-up, messages, calendar link, trail."""
    result = flow.run_flow(app, db, clock)
    from app.parents.models import Parent

    db.session.expire_all()
    return result, db.session.get(Parent, result.ids["parent_id"])


def test_export_holds_everything_about_the_parent(db, family, now):
    result, parent = family
    data = export_parent(db.session, parent, now=now, actor=None)
    assert data["export"]["format"] == "groupwork-subject-access/1"
    assert data["parent"]["first_name"] == flow.FIRST_NAME and data["parent"]["postcode"] == flow.POSTCODE
    assert [c["first_name"] for c in data["children"]] == [flow.CHILD_NAME]
    assert data["enrolments"][0]["cohort"]["programme"] == "circle_of_security"
    if "PUT /api/v1/sessions/{id}/attendance/{enrolment_id}" in result.steps:
        assert [m["status"] for m in data["attendance_marks"]] == ["absent"]
    if "PATCH /api/v1/follow-ups/{id}" in result.steps:
        assert any(flow.FOLLOWUP_NOTE in (f["outcome_note"] or "") for f in data["follow_ups"])
    assert data["messages_sent"], "the confirmation SMS is data held about them"
    assert data["audit_trail"] and all("by_role" in e for e in data["audit_trail"])
    # JSON-ready, and no secrets (calendar token hashes, provider ids)
    text = json.dumps(data)
    assert "token_hash" not in text and "nonce" not in text and "password" not in text
    summary = text_summary(data)
    assert flow.FIRST_NAME in summary and "Groups (enrolments): 1" in summary
    db.session.commit()
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "export",
                                                         AuditEvent.parent_id == parent.id)) is not None


def test_export_pages(app, client, db, family, login_as):
    result, parent = family
    login_as("admin")
    page = client.get(f"/audit/parents/{parent.id}/export")
    assert page.status_code == 200 and flow.CHILD_NAME in page.get_data(as_text=True)
    download = client.get(f"/audit/parents/{parent.id}/export.json")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.json["parent"]["last_name"] == flow.LAST_NAME
    assert download.headers["Cache-Control"] == "no-store"


def _report_figures(db, now):
    from app.reports import services as reports

    attendance = reports.attendance_report(db.session, start=date(2026, 1, 1), end=date(2027, 12, 31), now=now)
    reach = reports.reach_report(db.session, start=date(2026, 1, 1), end=date(2027, 12, 31), now=now)
    return repr(attendance), repr(reach)


def test_erasure_anonymises_but_keeps_rows_and_report_figures(app, db, family, clock):
    from app.enrolment.models import Enrolment
    from app.messaging.models import OutboxMessage
    from app.calendar.models import CalendarToken

    result, parent = family
    later = clock.now + timedelta(days=2)
    before = _report_figures(db, later)
    enrolments_before = db.session.scalar(sa.select(sa.func.count(Enrolment.id)))
    queued = OutboxMessage(kind="reminder", parent_id=parent.id, to_number=flow.NEW_MOBILE_E164,
                           body=f"Hi {flow.FIRST_NAME}", send_after=later, dedupe_key="erase-test", status="queued")
    db.session.add(queued)
    db.session.flush()
    admin = factories.make_user(db.session, role="admin")
    counts = erase_parent(db.session, parent, reason="Asked by phone on 3 May", now=later, actor=admin)
    db.session.commit()
    db.session.expire_all()

    data = export_parent(db.session, parent, now=later, actor=None)
    db.session.rollback()
    text = json.dumps(data, ensure_ascii=False)
    for secret in (flow.FIRST_NAME, flow.LAST_NAME, flow.CHILD_NAME, flow.MOBILE_E164, flow.NEW_MOBILE_E164,
                   flow.FOLLOWUP_NOTE, flow.POSTCODE):
        assert secret not in text, secret
    assert parent.erased_at == later and parent.mobile is None and not parent.can_receive_sms
    assert parent.children[0].date_of_birth == date(2025, 6, 1)
    # rows kept: enrolments, marks; queued messages and calendar links gone
    assert db.session.scalar(sa.select(sa.func.count(Enrolment.id))) == enrolments_before
    assert db.session.get(OutboxMessage, queued.id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarToken).where(
        CalendarToken.parent_id == parent.id)) == 0
    assert counts["messages_deleted"] >= 1
    # the same figures in past reports
    assert _report_figures(db, later) == before
    erase_event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "erase"))
    assert erase_event.actor_id == admin.id and erase_event.changes["reason"] == "Asked by phone on 3 May"


def test_erasure_needs_a_reason_and_happens_once(db, now):
    parent = factories.make_parent(db.session)
    with pytest.raises(ValidationFailed) as err:
        erase_parent(db.session, parent, reason="  ", now=now)
    assert err.value.field == "reason"
    erase_parent(db.session, parent, reason="Asked", now=now)
    with pytest.raises(Conflict):
        erase_parent(db.session, parent, reason="Again", now=now)


def test_a_child_with_another_carer_is_kept(db, now):
    parent = factories.make_parent(db.session, first_name="Ada")
    child = parent.children[0]
    other = factories.make_parent(db.session, first_name="Bea", children=[])
    other.children.append(child)
    db.session.flush()
    first_name = child.first_name
    erase_parent(db.session, parent, reason="Asked", now=now)
    assert child.first_name == first_name and other.first_name == "Bea"


def test_erase_page_confirms_and_keeps_what_was_typed(client, db, login_as):
    parent = factories.make_parent(db.session, first_name="Ottoline")
    db.session.commit()
    login_as("admin")
    url = f"/audit/parents/{parent.id}/erase"
    assert "This cannot be undone" in client.get(url).get_data(as_text=True)
    refused = client.post(url, data={"reason": "Asked by letter"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Confirm that you understand" in page and "Asked by letter" in page
    done = client.post(url, data={"reason": "Asked by letter", "confirm": "y"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/audit/parents/{parent.id}")
    db.session.expire_all()
    assert db.session.get(type(parent), parent.id).first_name == "Erased"
    assert "was erased on" in client.get(url).get_data(as_text=True)


def test_workers_cannot_export_or_erase(client, db, login_as):
    parent = factories.make_parent(db.session)
    db.session.commit()
    login_as("worker")
    assert client.get(f"/audit/parents/{parent.id}/export.json").status_code == 403
    assert client.post(f"/audit/parents/{parent.id}/erase", data={"reason": "x", "confirm": "y"}).status_code == 403


# --- retention ------------------------------------------------------------------------------------

def _old_family(db, when: datetime):
    from app.parents.models import Parent

    parent = factories.make_parent(db.session)
    db.session.commit()
    db.session.execute(sa.update(Parent).where(Parent.id == parent.id).values(created_at=when, updated_at=when))
    db.session.commit()
    return parent


def test_retention_lists_first_and_erases_after_the_notice(app, db, now):
    from app.audit.jobs import apply_retention, retention_plan
    from app.parents.models import Parent

    app.config.update(RETENTION_YEARS=7, RETENTION_NOTICE_DAYS=30)
    old = _old_family(db, now - timedelta(days=365 * 8))
    recent = _old_family(db, now - timedelta(days=365 * 6))
    plan = retention_plan(db.session, now)
    assert [(i.parent_id, i.action) for i in plan] == [(old.id, "list")]
    assert apply_retention(db.session, now) == "1 past retention: 1 listed, 0 erased"
    # listing again changes nothing; before the notice ends nothing is erased
    assert apply_retention(db.session, now + timedelta(days=29)) == "1 past retention: 0 listed, 0 erased"
    db.session.expire_all()
    assert db.session.get(Parent, old.id).erased_at is None
    assert apply_retention(db.session, now + timedelta(days=31)) == "1 past retention: 0 listed, 1 erased"
    db.session.expire_all()
    assert db.session.get(Parent, old.id).erased_at is not None
    assert db.session.get(Parent, recent.id).erased_at is None
    assert retention_plan(db.session, now + timedelta(days=32)) == []


def test_new_activity_takes_a_family_off_the_list(app, db, now):
    from app.audit.jobs import apply_retention, retention_plan

    app.config.update(RETENTION_YEARS=7, RETENTION_NOTICE_DAYS=30)
    old = _old_family(db, now - timedelta(days=365 * 8))
    apply_retention(db.session, now)
    # a new enrolment in a cohort running later makes the family active again
    factories.make_enrolment(db.session, parent=old, cohort=factories.make_cohort(db.session))
    db.session.commit()
    assert retention_plan(db.session, now + timedelta(days=31)) == []


def test_retention_cli_dry_run_changes_nothing(app, db, now):
    from app.parents.models import Parent

    app.config.update(RETENTION_YEARS=7, RETENTION_NOTICE_DAYS=30)
    old = _old_family(db, now - timedelta(days=365 * 8))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["retention", "--dry-run", "--now", now.isoformat()])
    assert result.exit_code == 0, result.output
    assert f"parent {old.id}: last activity" in result.output and "Dry run: nothing was changed." in result.output
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == 0
    result = runner.invoke(args=["retention", "--now", now.isoformat()])
    assert "1 listed" in result.output
    db.session.expire_all()
    assert db.session.get(Parent, old.id).erased_at is None


def test_retention_page_shows_the_dry_run(app, client, db, now, login_as):
    app.config.update(RETENTION_YEARS=7)
    old = _old_family(db, datetime.now(timezone.utc) - timedelta(days=365 * 8))
    login_as("admin")
    page = client.get("/audit/retention").get_data(as_text=True)
    assert f"Parent {old.id}" in page and "Erased after" in page


def test_export_and_erase_commands(app, db, tmp_path):
    from app.parents.models import Parent

    parent = factories.make_parent(db.session, first_name="Philippa")
    db.session.commit()
    runner = app.test_cli_runner()
    out = tmp_path / "sar.json"
    result = runner.invoke(args=["export-parent", str(parent.id), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["parent"]["first_name"] == "Philippa"
    text = runner.invoke(args=["export-parent", str(parent.id), "--format", "text"])
    assert "Information held by Groupwork about parent" in text.output
    refused = runner.invoke(args=["erase-parent", str(parent.id), "--reason", " ", "--yes"])
    assert refused.exit_code != 0 and "Say why" in refused.output
    done = runner.invoke(args=["erase-parent", str(parent.id), "--reason", "Asked by e-mail", "--yes"])
    assert done.exit_code == 0, done.output
    db.session.expire_all()
    assert db.session.get(Parent, parent.id).first_name == "Erased"
    missing = runner.invoke(args=["export-parent", "999999"])
    assert missing.exit_code != 0 and "There is no parent 999999" in missing.output
