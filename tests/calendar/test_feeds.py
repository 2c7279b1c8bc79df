"""What the feeds say, read back by three independent readers that must agree (see readers.py)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from app.calendar import ics, services
from app.cohorts import services as cohorts
from app.enrolment import services as enrolment_services
from app.enrolment.models import CrecheBooking
from app.rota.models import RotaAssignment
from app.timeutil import local_to_utc
from tests import factories
from tests.calendar.readers import read_all

UTC = timezone.utc
#: words that must never show on a locked phone
NOT_DISCREET = ("therap", "mental", "counsel", "clinic", "psych", "perinatal", "parenting", "depress", "anxiety")


def fetch(client, url: str) -> bytes:
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200, response.data[:200]
    assert response.content_type == "text/calendar; charset=utf-8"
    return response.data


def committed(db, url: str) -> str:
    """Commit the new link so the test client's request sees it."""
    db.session.commit()
    return url


@pytest.fixture
def family(db, now):
    """An 8-week Circle of Security cohort from Tuesday 6 October 2026 (clocks go back on 25 October)."""
    cohort = factories.make_cohort(db.session, start_date=date(2026, 10, 6), start_time=time(10, 0))
    parent = factories.make_parent(db.session)
    enrolment = factories.make_enrolment(db.session, cohort=cohort, parent=parent)
    db.session.commit()
    return SimpleNamespace(cohort=cohort, parent=parent, enrolment=enrolment,
                           url=committed(db, services.parent_feed_url(db.session, parent, now=now)))


def test_eight_weeks_across_the_october_clock_change_stay_at_ten(client, db, family):
    db.session.commit()
    body = fetch(client, family.url)
    data = read_all(body)
    events = data["events"]
    assert len(events) == 8
    assert body.count(b"BEGIN:VEVENT") == 8
    assert [e["start_local"][11:] for e in events] == ["10:00:00"] * 8
    assert all(e["tzid"] == "Europe/London" for e in events)
    # 09:00 UTC while British Summer Time lasts, 10:00 UTC after the last Sunday of October
    assert [e["start_utc"] for e in events[:4]] == [
        "2026-10-06T09:00:00Z", "2026-10-13T09:00:00Z", "2026-10-20T09:00:00Z", "2026-10-27T10:00:00Z"]
    assert events[-1]["start_utc"] == "2026-11-24T10:00:00Z" and events[-1]["end_utc"] == "2026-11-24T12:00:00Z"
    assert [e["uid"] for e in events] == [f"session-{s.id}@groupwork.test" for s in family.cohort.sessions]
    assert all(e["alarms"] == [{"action": "DISPLAY", "trigger": "-PT2H"}] for e in events)
    assert data["refresh_interval"] == "PT1H" and data["refresh_interval_type"] == "duration"
    assert data["name"] and data["uid"].endswith("@groupwork.test")
    text = body.decode()
    # our rule-based zone, not a list of RDATEs
    assert "RDATE" not in text
    assert "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in text and "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in text
    assert "X-PUBLISHED-TTL:PT1H" in text and "REFRESH-INTERVAL;VALUE=DURATION:PT1H" in text
    assert "METHOD" not in text  # a published feed, not an invitation


def test_event_text_names_the_group_place_and_what_to_bring(client, db, family):
    session = family.cohort.sessions[1]
    child = family.parent.children[0]
    db.session.add(CrecheBooking(session_id=session.id, child_id=child.id, enrolment_id=family.enrolment.id,
                                 status="booked"))
    db.session.commit()
    events = {e["uid"]: e for e in read_all(fetch(client, family.url))["events"]}
    booked = events[f"session-{session.id}@groupwork.test"]
    other = events[f"session-{family.cohort.sessions[0].id}@groupwork.test"]
    centre = family.cohort.centre
    assert booked["summary"] == "Circle of Security group"
    assert booked["location"] == f"{centre.name}, {centre.address}, {centre.postcode}"
    assert "Tea and coffee provided." in booked["description"]
    assert "Crèche: a place is booked for your child at this session." in booked["description"]
    assert "Crèche: no place is booked for this session." in other["description"]
    assert "Session 2 of 8." in booked["description"]


@pytest.mark.parametrize("programme", ["together_time", "circle_of_security"])
def test_nothing_on_a_locked_phone_says_therapy(client, db, now, programme):
    cohort = factories.make_cohort(db.session, programme_key=programme)
    parent = factories.make_parent(db.session)
    factories.make_enrolment(db.session, cohort=cohort, parent=parent)
    db.session.commit()
    data = read_all(fetch(client, committed(db, services.parent_feed_url(db.session, parent, now=now))))
    shown = " ".join([data["name"]] + [e["summary"] + e["location"] + e["description"] for e in data["events"]])
    assert data["events"] and not [w for w in NOT_DISCREET if w in shown.lower()]


def test_a_moved_session_has_its_new_time_and_a_higher_sequence(client, db, family, now):
    before = {e["uid"]: e for e in read_all(fetch(client, family.url))["events"]}
    session = family.cohort.sessions[4]  # Tuesday 3 November
    cohorts.move_session(db.session, session, starts_at=local_to_utc(date(2026, 11, 4), time(14, 0)), now=now)
    db.session.commit()
    after = {e["uid"]: e for e in read_all(fetch(client, family.url))["events"]}
    uid = f"session-{session.id}@groupwork.test"
    assert after.keys() == before.keys()
    assert after[uid]["start_local"] == "2026-11-04T14:00:00" and after[uid]["start_utc"] == "2026-11-04T14:00:00Z"
    assert after[uid]["end_utc"] == "2026-11-04T16:00:00Z"
    assert after[uid]["sequence"] > before[uid]["sequence"]
    unchanged = [u for u in before if u != uid]
    assert all((after[u]["start_utc"], after[u]["sequence"]) == (before[u]["start_utc"], before[u]["sequence"])
               for u in unchanged)


def test_a_cancelled_session_stays_in_the_feed_as_cancelled(client, db, family, now):
    session = family.cohort.sessions[2]
    cohorts.cancel_session(db.session, session, reason="Centre closed for repairs", now=now)
    db.session.commit()
    events = {e["uid"]: e for e in read_all(fetch(client, family.url))["events"]}
    cancelled = events[f"session-{session.id}@groupwork.test"]
    assert len(events) == 8
    assert cancelled["status"] == "CANCELLED" and cancelled["sequence"] == 1
    assert cancelled["summary"].startswith("Cancelled: ")
    assert cancelled["alarms"] == []  # no reminder for a session that is not happening
    assert "repairs" not in cancelled["description"]  # the reason is staff's free text, not for phones
    assert [e["status"] for e in events.values()].count("CONFIRMED") == 7


def test_uids_are_stable_across_regenerations_and_link_rotation(client, db, family, now):
    first = read_all(fetch(client, family.url))
    second = read_all(fetch(client, family.url))
    new_url = committed(db, services.rotate(db.session, family.parent, now=now))
    third = read_all(fetch(client, new_url))
    uids = [e["uid"] for e in first["events"]]
    assert uids == [e["uid"] for e in second["events"]] == [e["uid"] for e in third["events"]]
    assert first["uid"] == second["uid"] == third["uid"]


def test_a_withdrawn_parent_keeps_past_sessions_and_loses_future_ones(client, db, family):
    after_third = datetime(2026, 10, 21, 12, 0, tzinfo=UTC)
    enrolment_services.withdraw(db.session, family.enrolment, reason="Moved away", now=after_third)
    db.session.commit()
    events = read_all(fetch(client, family.url))["events"]
    assert [e["start_local"][:10] for e in events] == ["2026-10-06", "2026-10-13", "2026-10-20"]


def test_a_transferred_parent_sees_the_past_of_the_old_cohort_and_the_new_cohort(client, db, family):
    later = factories.make_cohort(db.session, start_date=date(2027, 1, 12))
    db.session.commit()
    after_second = datetime(2026, 10, 14, 12, 0, tzinfo=UTC)
    enrolment_services.transfer(db.session, family.enrolment, later, now=after_second, override_reason="Test family")
    db.session.commit()
    events = read_all(fetch(client, family.url))["events"]
    old = [e for e in events if e["start_local"] < "2027"]
    assert [e["start_local"][:10] for e in old] == ["2026-10-06", "2026-10-13"]
    assert len(events) - len(old) == 8
    assert all(e["start_local"][11:] == "10:00:00" for e in events)


def test_waiting_list_places_and_parents_with_nothing_get_a_valid_empty_calendar(client, db, now):
    waiting = factories.make_parent(db.session)
    factories.make_enrolment(db.session, status="waitlisted", parent=waiting)
    nobody = factories.make_parent(db.session)
    db.session.commit()
    for parent in (waiting, nobody):
        body = fetch(client, committed(db, services.parent_feed_url(db.session, parent, now=now)))
        data = read_all(body)
        assert data["events"] == []
        assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
        assert b"VERSION:2.0" in body and b"PRODID:" in body


def test_staff_feed_shows_their_rota_only(client, db, family, now):
    me = factories.make_user(db.session, role="facilitator")
    colleague = factories.make_user(db.session, role="facilitator")
    for s in family.cohort.sessions[:3]:
        db.session.add(RotaAssignment(session_id=s.id, user_id=me.id, role="facilitator"))
    db.session.add(RotaAssignment(session_id=family.cohort.sessions[5].id, user_id=colleague.id, role="creche"))
    db.session.commit()
    events = read_all(fetch(client, committed(db, services.staff_feed_url(db.session, me, now=now))))["events"]
    assert [e["uid"] for e in events] == [f"session-{s.id}@groupwork.test" for s in family.cohort.sessions[:3]]
    assert all(e["summary"] == "Circle of Security group (facilitator)" for e in events)
    theirs = read_all(fetch(client, committed(db, services.staff_feed_url(db.session, colleague, now=now))))["events"]
    assert [e["summary"] for e in theirs] == ["Circle of Security group (crèche)"]


def test_cohort_feed_has_every_session_and_no_family_details(client, db, family, now):
    cohorts.cancel_session(db.session, family.cohort.sessions[0], reason="Snow", now=now)
    db.session.commit()
    body = fetch(client, committed(db, services.cohort_feed_url(db.session, family.cohort, now=now)))
    events = read_all(body)["events"]
    assert len(events) == 8 and events[0]["status"] == "CANCELLED"
    assert family.parent.first_name.encode() not in body and b"Cr\xc3\xa8che: " not in body


def test_single_session_downloads(client, db, family, login_as, now):
    session = family.cohort.sessions[3]
    token = urlsplit(family.url).path.removeprefix("/calendar/").removesuffix(".ics")
    response = client.get(f"/calendar/{token}/session/{session.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename=session-{session.id}.ics"
    data = read_all(response.data)
    assert data["method"] == "PUBLISH" and [e["uid"] for e in data["events"]] == [f"session-{session.id}@groupwork.test"]
    other = factories.make_cohort(db.session)
    db.session.commit()
    not_theirs = client.get(f"/calendar/{token}/session/{other.sessions[0].id}.ics")
    assert not_theirs.status_code == 404 and not_theirs.data == b"Not found\n"

    assert client.get(f"/calendar/sessions/{session.id}.ics").status_code == 302  # sign in first
    login_as("facilitator")
    staff = client.get(f"/calendar/sessions/{session.id}.ics")
    assert staff.status_code == 200 and staff.content_type == "text/calendar; charset=utf-8"
    staff_data = read_all(staff.data)
    assert staff_data["events"][0]["start_local"] == "2026-10-27T10:00:00"
    assert b"Cr\xc3\xa8che: " not in staff.data  # no family's bookings in a hand-out
    assert client.get("/calendar/sessions/999999.ics").status_code == 404


def test_commissioners_cannot_download_sessions(client, db, family, login_as):
    login_as("commissioner")
    assert client.get(f"/calendar/sessions/{family.cohort.sessions[0].id}.ics").status_code == 403


def test_our_vtimezone_agrees_with_the_zone_database_for_years():
    """Hour by hour around every change from 2026 to 2045, our rules give London's offset."""
    ours = ics.london_vtimezone().to_tz()
    london = ZoneInfo("Europe/London")
    for year in range(2026, 2046):
        for month in (3, 10):
            last_sunday = max(date(year, month, d) for d in range(25, 32) if date(year, month, d).weekday() == 6)
            start = datetime.combine(last_sunday, time(0), UTC) - timedelta(hours=6)
            for hour in range(12):
                moment = start + timedelta(hours=hour)
                assert moment.astimezone(ours).utcoffset() == moment.astimezone(london).utcoffset(), moment


def test_creche_places_count_each_booked_child_and_nothing_else(client, db, now):
    cohort = factories.make_cohort(db.session, start_date=date(2026, 10, 6))
    parent = factories.make_parent(db.session, children=[{"first_name": "Ada", "date_of_birth": date(2025, 9, 1)},
                                                         {"first_name": "Ben", "date_of_birth": date(2025, 9, 1)}])
    enrolment = factories.make_enrolment(db.session, cohort=cohort, parent=parent)
    other = factories.make_enrolment(db.session, cohort=cohort, parent=factories.make_parent(db.session))
    first, second, third = cohort.sessions[:3]
    for child in parent.children:
        factories.make_creche_booking(db.session, first, enrolment, child=child)
    factories.make_creche_booking(db.session, second, enrolment, child=parent.children[0])
    factories.make_creche_booking(db.session, second, enrolment, child=parent.children[1], status="cancelled")
    factories.make_creche_booking(db.session, third, other, child=other.parent.children[0])  # another family's
    db.session.commit()
    events = {e["uid"]: e for e in read_all(fetch(client, committed(
        db, services.parent_feed_url(db.session, parent, now=now))))["events"]}
    description = {s: events[f"session-{s.id}@groupwork.test"]["description"] for s in (first, second, third)}
    assert "Crèche: a place is booked for your 2 children at this session." in description[first]
    assert "Crèche: a place is booked for your child at this session." in description[second]
    assert "Crèche: no place is booked for this session." in description[third]


def test_a_change_to_the_centre_or_room_shows_in_the_next_fetch(client, db, family):
    before = read_all(fetch(client, family.url))["events"]
    centre = family.cohort.centre
    centre.name = "Brixton Family Hub"
    family.cohort.sessions[0].room.name = "Garden room"
    db.session.commit()
    after = {e["uid"]: e for e in read_all(fetch(client, family.url))["events"]}
    first = after[f"session-{family.cohort.sessions[0].id}@groupwork.test"]
    assert all(not e["location"].startswith("Brixton") for e in before)
    assert all(e["location"].startswith("Brixton Family Hub, ") for e in after.values())
    assert "Room: Garden room." in first["description"]
