"""Entering outcome scores at the first and last session: validation against each measure's range, audit, access."""
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.errors import ValidationFailed
from app.outcomes.models import OutcomeScore
from app.outcomes.services import field_name, outcome_sheet, parse_score, save_scores, timepoint_of
from programmes import get_programme
from tests import factories

NOW = datetime(2026, 10, 20, 12, tzinfo=timezone.utc)


@pytest.fixture
def group(db):
    cohort = factories.make_cohort(db.session, "together_time")
    ada = factories.make_enrolment(db.session, cohort, factories.make_parent(db.session, first_name="Ada",
                                                                             last_name="Lovell"))
    bo = factories.make_enrolment(db.session, cohort, factories.make_parent(db.session, first_name="Bo",
                                                                            last_name="Marsh"))
    factories.make_enrolment(db.session, cohort, status="waitlisted")
    db.session.commit()
    return {"cohort": cohort, "ada": ada, "bo": bo, "first": cohort.sessions[0], "last": cohort.sessions[-1]}


def test_only_the_first_and_last_sessions_take_scores(db, group):
    cohort = group["cohort"]
    assert timepoint_of(db.session, cohort.sessions[0]) == "first"
    assert timepoint_of(db.session, cohort.sessions[-1]) == "last"
    assert timepoint_of(db.session, cohort.sessions[2]) is None
    cohort.sessions[-1].status = "cancelled"
    db.session.flush()
    assert timepoint_of(db.session, cohort.sessions[-2]) == "last"


def test_scores_are_checked_against_the_measure_range():
    warmth = get_programme("together_time").measure("mors_warmth")
    assert parse_score(" 21 ", warmth) == 21 and parse_score("", warmth) is None
    for bad, message in (("6", "between 7 and 35"), ("36", "between 7 and 35"), ("lots", "as a number"),
                         ("nan", "as a number"), ("inf", "as a number")):
        with pytest.raises(ValueError, match=message):
            parse_score(bad, warmth)


def test_saving_scores_stores_audits_and_blank_removes(db, group):
    admin = factories.make_user(db.session, role="admin")
    sheet = outcome_sheet(db.session, group["first"].id, actor=admin)
    assert [r.parent.first_name for r in sheet.rows] == ["Ada", "Bo"]  # not the waitlisted parent
    ada = group["ada"].id
    typed = {field_name(ada, "mors_warmth"): "20", field_name(ada, "prfq"): "64.5"}
    assert save_scores(db.session, sheet, typed, now=NOW, actor=admin) == 2
    stored = {(s.measure, s.timepoint): s.value for s in db.session.scalars(sa.select(OutcomeScore))}
    assert stored == {("mors_warmth", "first"): 20, ("prfq", "first"): 64.5}
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity_type == "OutcomeScore")).all()
    assert len(events) == 2 and all(e.parent_id == group["ada"].parent_id for e in events)

    sheet = outcome_sheet(db.session, group["first"].id, actor=admin)
    assert sheet.rows[0].scores["mors_warmth"] == 20
    typed = {field_name(ada, "mors_warmth"): "22", field_name(ada, "prfq"): ""}
    assert save_scores(db.session, sheet, typed, now=NOW, actor=admin) == 2
    stored = {(s.measure, s.timepoint): s.value for s in db.session.scalars(sa.select(OutcomeScore))}
    assert stored == {("mors_warmth", "first"): 22}


def test_one_bad_score_saves_nothing_and_names_the_field(db, group):
    sheet = outcome_sheet(db.session, group["last"].id, actor=None)
    ada, bo = group["ada"].id, group["bo"].id
    typed = {field_name(ada, "mors_warmth"): "30", field_name(bo, "prfq"): "500"}
    with pytest.raises(ValidationFailed) as err:
        save_scores(db.session, sheet, typed, now=NOW, actor=None)
    assert list(err.value.fields) == [field_name(bo, "prfq")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutcomeScore)) == 0


def test_the_page_shows_field_errors_and_keeps_what_was_typed(client, login_as, db, group):
    user = login_as("facilitator")
    factories.make_rota_assignment(db.session, group["first"], user)
    db.session.commit()
    url = f"/sessions/{group['first'].id}/outcomes"
    page = client.get(url).get_data(as_text=True)
    assert "Ada Lovell" in page and "MORS warmth/trust" in page and "7 to 35" in page
    ada, bo = group["ada"].id, group["bo"].id
    response = client.post(url, data={field_name(ada, "mors_warmth"): "99", field_name(bo, "prfq"): "70"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The MORS warmth/trust must be between 7 and 35" in page
    assert f'id="{field_name(ada, "mors_warmth")}-error"' in page
    assert 'value="99"' in page and 'value="70"' in page
    response = client.post(url, data={field_name(ada, "mors_warmth"): "19", field_name(bo, "prfq"): "70"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutcomeScore)) == 2


def test_a_middle_session_is_refused_with_a_message(client, login_as, group):
    login_as("admin")
    response = client.get(f"/sessions/{group['cohort'].sessions[2].id}/outcomes")
    assert response.status_code == 400
    assert "first and the last session" in response.get_data(as_text=True)
    assert client.get("/sessions/999999/outcomes").status_code == 404


def test_a_facilitator_not_on_the_rota_and_other_roles_are_refused(client, login_as, group):
    login_as("facilitator")
    assert client.get(f"/sessions/{group['first'].id}/outcomes").status_code == 403


@pytest.mark.parametrize("role", ["commissioner", "worker"])
def test_roles_without_the_permission_are_refused(client, login_as, group, role):
    login_as(role)
    assert client.get(f"/sessions/{group['first'].id}/outcomes").status_code == 403
