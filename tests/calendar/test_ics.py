"""Our way of writing iCalendar gives the very bytes icalendar's own ``to_ical()`` gives."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar.parser import Contentline

from app.calendar import ics

UTC = timezone.utc
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
#: characters of 1 to 4 UTF-8 octets, and the escape characters that must not end a folded line
ALPHABET = "ab,;:\\^\"è€😀 "
LONG = ("Session 3 of 8.\nRoom: Hall.\nA crèche place is available for your child. Tea and coffee provided.\n"
        "Crèche: a place is booked for your 2 children at this session.")


def icalendar_fold(line: str) -> bytes:
    return Contentline(line).to_ical()


@pytest.mark.parametrize("size", [1, 73, 74, 75, 76, 147, 148, 149, 150, 300])
@pytest.mark.parametrize("filler", ["a", "è", "€", "😀", "\\", "^", "a\\", "a^", "aè", "a€b"])
def test_folding_matches_icalendar_at_every_boundary(size, filler):
    line = (filler * size)[:size]
    for variant in (line, "X" + line, "XY" + line, line + "\\", line + "\\,"):
        assert ics.fold_line(variant) == icalendar_fold(variant), variant


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=400))
def test_folding_matches_icalendar_for_any_text(text):
    assert ics.fold_line("DESCRIPTION:" + text) == icalendar_fold("DESCRIPTION:" + text)


def test_a_folded_line_keeps_escapes_and_characters_whole():
    line = "DESCRIPTION:" + "x" * 61 + "\\,è" * 40
    folded = ics.fold_line(line)
    physical = folded.split(b"\r\n")
    assert all(len(p) <= 75 for p in physical)
    assert all(not p.endswith(b"\\") for p in physical)
    assert all(p.decode("utf-8") for p in physical)  # no character split between two lines
    assert folded.replace(b"\r\n ", b"").decode("utf-8") == line


def test_the_vtimezone_written_once_equals_a_fresh_one():
    cached = ics.vtimezone_bytes()
    assert cached == ics.london_vtimezone().to_ical()
    assert ics.vtimezone_bytes() is cached  # once per process
    assert cached.startswith(b"BEGIN:VTIMEZONE\r\n") and cached.endswith(b"END:VTIMEZONE\r\n")


def _info(session_id: int, **changes) -> ics.EventInfo:
    start = datetime(2026, 10, 6, 9, 0, tzinfo=UTC) + timedelta(weeks=session_id)
    info = ics.EventInfo(session_id=session_id, starts_at=start, ends_at=start + timedelta(hours=2), sequence=0,
                         cancelled=False, title="Circle of Security group",
                         location="Coldharbour Children's Centre, 1 Station Road, London, SW9 7QD",
                         description=LONG.replace("3", str(session_id)), alarm_text="Circle of Security group at "
                         "Coldharbour Children's Centre, 10:00")
    return replace(info, **changes)


EVENTS = [_info(1), _info(2, sequence=3), _info(3, cancelled=True, sequence=1), _info(4, location=""),
          _info(5, title="Together Time; songs, stories \\ play", description="Short."), _info(6)]


def _plain_feed(events, **kw) -> bytes:
    """The feed built and written by icalendar alone, one object per value."""
    cal = ics.new_calendar(name=kw["name"], uid=kw["uid"])
    for info in sorted(events, key=lambda e: (e.starts_at, e.session_id)):
        cal.add_component(ics.make_event(info, host=kw["host"], now=kw["now"]))
    return cal.to_ical()


def test_a_feed_is_byte_for_byte_what_icalendar_writes():
    kw = {"name": "Children's centre groups", "uid": "calendar-1@groupwork.test", "host": "groupwork.test",
          "now": NOW}
    body = ics.feed(events=reversed(EVENTS), **kw)
    assert body == _plain_feed(EVENTS, **kw)
    assert body.count(b"BEGIN:VEVENT") == len(EVENTS) and body.count(b"BEGIN:VTIMEZONE") == 1
    assert body.count(b"BEGIN:VALARM") == len(EVENTS) - 1  # none for the cancelled session
    empty = ics.feed(events=[], **kw)
    assert empty == _plain_feed([], **kw)


def test_single_downloads_and_invitations_are_what_icalendar_writes():
    for info in EVENTS:
        cal = ics.new_calendar(name="N", uid="u@h", method="PUBLISH", feed=False)
        cal.add_component(ics.make_event(info, host="h", now=NOW))
        assert ics.single(info, name="N", uid="u@h", host="h", now=NOW) == cal.to_ical()
        for method in ("REQUEST", "CANCEL"):
            cal = ics.new_calendar(name="N", uid="u@h", method=method, feed=False)
            cal.add_component(ics.make_event(info, host="h", now=NOW, sequence=4,
                                             cancelled=True if method == "CANCEL" else None,
                                             organizer="calendar@groupwork.test", attendee=("ann@example.org", "Ann")))
            assert ics.invitation(info, method=method, host="h", now=NOW, organizer="calendar@groupwork.test",
                                  attendee=("ann@example.org", "Ann"), sequence=4, uid="u@h", name="N") == cal.to_ical()


def test_events_of_one_feed_share_equal_values_but_never_unequal_ones():
    shared: dict = {}
    first = ics.make_event(_info(1), host="h", now=NOW, shared=shared)
    second = ics.make_event(_info(2), host="h", now=NOW, shared=shared)
    cancelled = ics.make_event(_info(3, cancelled=True), host="h", now=NOW, shared=shared)
    assert first["LOCATION"] is second["LOCATION"] and first["CLASS"] is second["CLASS"]
    assert first["DESCRIPTION"] is not second["DESCRIPTION"]
    assert str(cancelled["STATUS"]) == "CANCELLED" and str(first["STATUS"]) == "CONFIRMED"
    assert str(cancelled["SUMMARY"]).startswith("Cancelled: ") and not str(first["SUMMARY"]).startswith("Cancelled")
    later = ics.feed(name="N", uid="u@h", events=[_info(1, location="Another place")], host="h", now=NOW)
    assert b"LOCATION:Another place" in later  # nothing carried over from an earlier feed


def test_calendar_bytes_refuses_a_calendar_that_already_has_components():
    with pytest.raises(ValueError):
        ics.calendar_bytes(ics.new_calendar(name="N", uid="u@h"), [])
