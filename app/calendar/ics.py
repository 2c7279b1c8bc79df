"""Building iCalendar text with the `icalendar` package: feeds, single sessions, e-mail invitations.

Nothing here touches the database: services.py gathers `EventInfo` values and these
functions turn them into a VCALENDAR. Times are written in Europe/London with our own
rule-based VTIMEZONE (see `london_vtimezone`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Optional

from icalendar import Alarm, Calendar, Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vDuration, vText

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


_VTIMEZONE: Optional[Timezone] = None


def _shared_vtimezone() -> Timezone:
    """London's VTIMEZONE, built once: it never changes and serialising it does not alter it."""
    global _VTIMEZONE
    if _VTIMEZONE is None:
        _VTIMEZONE = london_vtimezone()
    return _VTIMEZONE


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


def new_calendar(*, name: str, uid: str, method: Optional[str] = None, feed: bool = True) -> Calendar:
    """An empty VCALENDAR with our PRODID, the London VTIMEZONE and, for feeds, refresh hints."""
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
    cal.add_component(_shared_vtimezone())
    return cal


def make_event(info: EventInfo, *, host: str, now: datetime, sequence: Optional[int] = None,
               cancelled: Optional[bool] = None, organizer: Optional[str] = None,
               attendee: Optional[tuple[str, str]] = None) -> Event:
    """One session as a VEVENT; `sequence`/`cancelled` override the session's for e-mail cancels."""
    is_cancelled = info.cancelled if cancelled is None else cancelled
    event = Event()
    event.add("uid", session_uid(info.session_id, host))
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", info.starts_at.astimezone(LONDON))
    event.add("dtend", info.ends_at.astimezone(LONDON))
    event.add("sequence", info.sequence if sequence is None else sequence)
    event.add("summary", f"Cancelled: {info.title}" if is_cancelled else info.title)
    if info.location:
        event.add("location", info.location)
    event.add("description", info.description)
    event.add("status", "CANCELLED" if is_cancelled else "CONFIRMED")
    # A cancelled session must not block time or ring an alarm.
    event.add("transp", "TRANSPARENT" if is_cancelled else "OPAQUE")
    event.add("class", "PRIVATE")
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
        alarm.add("action", "DISPLAY")
        alarm.add("description", info.alarm_text)
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)
    return event


def feed(*, name: str, uid: str, events: Iterable[EventInfo], host: str, now: datetime) -> bytes:
    """A subscribable feed (no METHOD, so clients treat it as a published calendar)."""
    cal = new_calendar(name=name, uid=uid)
    for info in sorted(events, key=lambda e: (e.starts_at, e.session_id)):
        cal.add_component(make_event(info, host=host, now=now))
    return cal.to_ical()


def single(info: EventInfo, *, name: str, uid: str, host: str, now: datetime) -> bytes:
    """One session to download and open (METHOD:PUBLISH, understood as 'add to calendar')."""
    cal = new_calendar(name=name, uid=uid, method="PUBLISH", feed=False)
    cal.add_component(make_event(info, host=host, now=now))
    return cal.to_ical()


def invitation(info: EventInfo, *, method: str, host: str, now: datetime, organizer: str,
               attendee: tuple[str, str], sequence: int, uid: str, name: str) -> bytes:
    """An iTIP message (RFC 5546) for one session: REQUEST (invite or update) or CANCEL."""
    cal = new_calendar(name=name, uid=uid, method=method, feed=False)
    cal.add_component(make_event(info, host=host, now=now, sequence=sequence,
                                 cancelled=True if method == "CANCEL" else None,
                                 organizer=organizer, attendee=attendee))
    return cal.to_ical()
