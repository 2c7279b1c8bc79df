"""Building iCalendar text with the `icalendar` package: feeds, single sessions, e-mail invitations.

Nothing here touches the database: services.py gathers `EventInfo` values and these
functions turn them into a VCALENDAR. Times are written in Europe/London with our own
rule-based VTIMEZONE (see `london_vtimezone`).

icalendar builds every component; `to_ical` writes them out as icalendar's own
``Component.to_ical()`` does, byte for byte, with less repeated work: a feed's events share
the property values they have in common (status, class, summary, place, the reminder) and
each shared value is serialised once, the constant VTIMEZONE is serialised once per
process, and long lines are folded a slice at a time rather than a character at a time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Iterable, Optional

from icalendar import (Alarm, Calendar, Component, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress,
                       vDuration, vText)

from app.timeutil import LONDON, UTC

PRODID = "-//Groupwork//Group calendar//EN"
TZID = "Europe/London"
#: how often subscribed calendar apps are asked to look again
REFRESH = timedelta(hours=1)
#: the reminder before each session
ALARM_BEFORE = timedelta(hours=2)


@dataclass(frozen=True)
class EventInfo:
    """What one VEVENT says about one session, already decided by the caller."""

    session_id: int
    starts_at: datetime
    ends_at: datetime
    sequence: int
    cancelled: bool
    title: str
    location: str
    description: str
    alarm_text: str


def session_uid(session_id: int, host: str) -> str:
    """The UID of a session's event: the same in every feed, download and e-mail, forever."""
    return f"session-{session_id}@{host}"


#: longest content line left whole: icalendar folds a line once it would reach 75 octets
FOLD_AT = 74
_BACKSLASH, _CARET = 0x5C, 0x5E

_VTIMEZONE_BYTES: Optional[bytes] = None


def fold_line(line: str) -> bytes:
    """One content line as folded UTF-8 bytes, exactly as icalendar folds it (RFC 5545 section 3.1).

    Each physical line holds at most 74 octets of the content line, never splits a UTF-8
    character, and does not end on a backslash or caret, which moves to the next line
    so that an escape such as ``\\,`` stays whole.
    """
    data = line.encode("utf-8")
    size = len(data)
    if size <= FOLD_AT:
        return data
    pieces = []
    start = 0
    while size - start > FOLD_AT:
        end = start + FOLD_AT
        while data[end] & 0xC0 == 0x80:  # inside a multi-byte character: break before it
            end -= 1
        if data[end - 1] in (_BACKSLASH, _CARET) and end - 1 > start:
            end -= 1
        pieces.append(data[start:end])
        start = end
    pieces.append(data[start:])
    return b"\r\n ".join(pieces)


def component_lines(component: Component, memo: Optional[dict] = None) -> list[bytes]:
    """The folded content lines of a component and its subcomponents, in icalendar's order.

    `memo` (one per calendar being written) holds the line of each property value already
    written: events that share a value object share its line.
    """
    if memo is None:
        memo = {}
    out = []
    for name, value in component.property_items():
        # BEGIN/END come as bytes; other values are icalendar objects, kept alive by their
        # component while the memo is in use, so their id is theirs alone.
        key = (name, value) if isinstance(value, bytes) else (name, id(value))
        line = memo.get(key)
        if line is None:
            line = memo[key] = fold_line(component.content_line(name, value))
        out.append(line)
    return out


def to_ical(component: Component, memo: Optional[dict] = None) -> bytes:
    """``component.to_ical()``, the same bytes (see `component_lines`)."""
    return b"\r\n".join(component_lines(component, memo)) + b"\r\n"


def vtimezone_bytes() -> bytes:
    """London's VTIMEZONE as iCalendar bytes, serialised once per process: it never changes."""
    global _VTIMEZONE_BYTES
    if _VTIMEZONE_BYTES is None:
        _VTIMEZONE_BYTES = to_ical(london_vtimezone())
    return _VTIMEZONE_BYTES


def london_vtimezone() -> Timezone:
    """Europe/London as yearly rules (last Sunday of March and of October).

    icalendar's own VTIMEZONE lists every change as RDATEs; some calendar apps misread that
    and put every session an hour out, whereas RRULE-based definitions are read by all.
    """
    tz = Timezone()
    tz.add("tzid", TZID)
    tz.add("x-lic-location", TZID)
    summer = TimezoneDaylight()
    summer.add("tzname", "BST")
    summer.add("tzoffsetfrom", timedelta(0))
    summer.add("tzoffsetto", timedelta(hours=1))
    summer.add("dtstart", datetime(1970, 3, 29, 1, 0))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1su"})
    winter = TimezoneStandard()
    winter.add("tzname", "GMT")
    winter.add("tzoffsetfrom", timedelta(hours=1))
    winter.add("tzoffsetto", timedelta(0))
    winter.add("dtstart", datetime(1970, 10, 25, 2, 0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1su"})
    tz.add_component(summer)
    tz.add_component(winter)
    return tz


def new_calendar(*, name: str, uid: str, method: Optional[str] = None, feed: bool = True,
                 vtimezone: bool = True) -> Calendar:
    """An empty VCALENDAR with our PRODID, the London VTIMEZONE and, for feeds, refresh hints.

    (`calendar_bytes` adds the VTIMEZONE itself, already serialised: it asks for none here.)
    """
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    cal.add("uid", uid)
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    if feed:
        cal.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(REFRESH))
    if vtimezone:
        cal.add_component(london_vtimezone())
    return cal


def calendar_bytes(cal: Calendar, events: Iterable[Event], memo: Optional[dict] = None) -> bytes:
    """A VCALENDAR without components, written with the London VTIMEZONE and these events in it.

    The same bytes as adding the VTIMEZONE and the events to `cal` and calling ``to_ical()``.
    """
    end = b"END:VCALENDAR\r\n"
    head = to_ical(cal)
    if cal.subcomponents or not head.endswith(end):
        raise ValueError("calendar_bytes adds the components itself")
    memo = {} if memo is None else memo
    events = list(events)  # alive until written: the memo knows their values by id
    parts = [head[:-len(end)], vtimezone_bytes()]
    parts.extend(to_ical(event, memo) for event in events)
    parts.append(end)
    return b"".join(parts)


def _add(component: Component, name: str, value: Any, shared: Optional[dict]) -> None:
    """``component.add(name, value)``, reusing the icalendar value made for an equal value before.

    `shared` lives for one calendar: its events then hold the same value objects, which
    `to_ical` writes once. Only plain values (text, numbers, durations, UTC times) are shared.
    """
    if shared is None:
        component.add(name, value)
        return
    key = (component.name, name, type(value), value)
    typed = shared.get(key)
    if typed is None:
        component.add(name, value)
        shared[key] = component[name]
    else:
        component.add(name, typed)


def make_event(info: EventInfo, *, host: str, now: datetime, sequence: Optional[int] = None,
               cancelled: Optional[bool] = None, organizer: Optional[str] = None,
               attendee: Optional[tuple[str, str]] = None, shared: Optional[dict] = None) -> Event:
    """One session as a VEVENT; `sequence`/`cancelled` override the session's for e-mail cancels.

    `shared` (a dict per calendar) lets the events of one calendar share equal property values.
    """
    is_cancelled = info.cancelled if cancelled is None else cancelled
    event = Event()
    event.add("uid", session_uid(info.session_id, host))
    _add(event, "dtstamp", now.astimezone(UTC), shared)
    event.add("dtstart", info.starts_at.astimezone(LONDON))
    event.add("dtend", info.ends_at.astimezone(LONDON))
    _add(event, "sequence", info.sequence if sequence is None else sequence, shared)
    _add(event, "summary", f"Cancelled: {info.title}" if is_cancelled else info.title, shared)
    if info.location:
        _add(event, "location", info.location, shared)
    _add(event, "description", info.description, shared)
    _add(event, "status", "CANCELLED" if is_cancelled else "CONFIRMED", shared)
    # A cancelled session must not block time or ring an alarm.
    _add(event, "transp", "TRANSPARENT" if is_cancelled else "OPAQUE", shared)
    _add(event, "class", "PRIVATE", shared)
    if organizer:
        org = vCalAddress(f"mailto:{organizer}")
        org.params["CN"] = vText("Groupwork")
        event.add("organizer", org)
    if attendee:
        email, name = attendee
        att = vCalAddress(f"mailto:{email}")
        if name:
            att.params["CN"] = vText(name)
        att.params["ROLE"] = vText("REQ-PARTICIPANT")
        att.params["PARTSTAT"] = vText("NEEDS-ACTION")
        att.params["RSVP"] = vText("FALSE")
        event.add("attendee", att)
    if not is_cancelled:
        alarm = Alarm()
        _add(alarm, "action", "DISPLAY", shared)
        _add(alarm, "description", info.alarm_text, shared)
        _add(alarm, "trigger", -ALARM_BEFORE, shared)
        event.add_component(alarm)
    return event


def feed(*, name: str, uid: str, events: Iterable[EventInfo], host: str, now: datetime) -> bytes:
    """A subscribable feed (no METHOD, so clients treat it as a published calendar)."""
    cal = new_calendar(name=name, uid=uid, vtimezone=False)
    shared: dict = {}
    return calendar_bytes(cal, [make_event(info, host=host, now=now, shared=shared)
                                for info in sorted(events, key=lambda e: (e.starts_at, e.session_id))])


def single(info: EventInfo, *, name: str, uid: str, host: str, now: datetime) -> bytes:
    """One session to download and open (METHOD:PUBLISH, understood as 'add to calendar')."""
    cal = new_calendar(name=name, uid=uid, method="PUBLISH", feed=False, vtimezone=False)
    return calendar_bytes(cal, [make_event(info, host=host, now=now)])


def invitation(info: EventInfo, *, method: str, host: str, now: datetime, organizer: str,
               attendee: tuple[str, str], sequence: int, uid: str, name: str) -> bytes:
    """An iTIP message (RFC 5546) for one session: REQUEST (invite or update) or CANCEL."""
    cal = new_calendar(name=name, uid=uid, method=method, feed=False, vtimezone=False)
    return calendar_bytes(cal, [make_event(info, host=host, now=now, sequence=sequence,
                                           cancelled=True if method == "CANCEL" else None,
                                           organizer=organizer, attendee=attendee)])
