"""Pure calendar rules for cohorts: weekly dates that skip closures, London wall-clock times, terms.

No database here: the services pass in a ``closed(day) -> reason | None`` function built
from the bank holidays and the centre's closure days.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Callable

from app.calendar_rules import bank_holiday_name
from app.errors import ValidationFailed
from app.timeutil import LocalTimeError, local_to_utc

#: how far a series may be pushed on by closures before we give up (a year of weeks)
MAX_WEEKS_SEARCHED = 52

ClosedFn = Callable[[date], "str | None"]


def closed_checker(closures: dict[date, str]) -> ClosedFn:
    """A function giving why a day is closed: an England & Wales bank holiday or a centre closure."""

    def closed(day: date) -> str | None:
        holiday = bank_holiday_name(day)
        if holiday:
            return f"{day:%A %-d %B %Y} is a bank holiday ({holiday})"
        if day in closures:
            why = closures[day]
            return f"the centre is closed on {day:%A %-d %B %Y}" + (f" ({why})" if why else "")
        return None

    return closed


def next_open_same_weekday(day: date, closed: ClosedFn) -> date:
    """The first date from `day` on, in steps of a week, that is not closed."""
    candidate = day
    for _ in range(MAX_WEEKS_SEARCHED):
        if not closed(candidate):
            return candidate
        candidate += timedelta(weeks=1)
    raise ValidationFailed("The centre has no open day on this weekday in the next year.", "first_session")


def weekly_dates(first: date, count: int, closed: ClosedFn) -> list[date]:
    """`count` weekly dates from `first`, each closed week skipped (the series moves on a week)."""
    dates: list[date] = []
    candidate = first
    limit = first + timedelta(weeks=count + MAX_WEEKS_SEARCHED)
    while len(dates) < count:
        if candidate > limit:
            raise ValidationFailed("Too many closures in a row: the series cannot be scheduled.", "first_session")
        if not closed(candidate):
            dates.append(candidate)
        candidate += timedelta(weeks=1)
    return dates


@dataclass(frozen=True)
class PlannedSession:
    """A session's time before it is saved."""

    number: int
    starts_at: datetime
    ends_at: datetime


def session_times(dates: list[date], at: time, duration_minutes: int, *, field: str = "first_session",
                  first_number: int = 1) -> list[PlannedSession]:
    """UTC start and end of a London wall-clock time on each date; refuses times the clocks skip or repeat."""
    planned = []
    for i, day in enumerate(dates):
        try:
            starts = local_to_utc(day, at)
        except LocalTimeError as exc:
            which = "" if i == 0 and first_number == 1 else f" (session {first_number + i})"
            raise ValidationFailed(f"{exc}{which}", field) from None
        planned.append(PlannedSession(first_number + i, starts, starts + timedelta(minutes=duration_minutes)))
    return planned


# School-style terms for filtering cohorts: autumn Sep-Dec, spring Jan-Mar, summer Apr-Aug.
TERMS = (("spring", 1, 3), ("summer", 4, 8), ("autumn", 9, 12))


def term_of(day: date) -> str:
    """The term key of a date, e.g. '2026-autumn'."""
    for name, first_month, last_month in TERMS:
        if first_month <= day.month <= last_month:
            return f"{day.year}-{name}"
    raise AssertionError("unreachable")


def term_bounds(key: str) -> tuple[date, date] | None:
    """First and last day of a term key such as '2026-autumn'; None if the key is not one."""
    try:
        year_text, name = key.split("-", 1)
        year = int(year_text)
    except ValueError:
        return None
    for term, first_month, last_month in TERMS:
        if term == name and 2000 <= year <= 2100:
            last = date(year + (last_month == 12), last_month % 12 + 1, 1) - timedelta(days=1)
            return date(year, first_month, 1), last
    return None


def term_label(key: str) -> str:
    """'2026-autumn' -> 'Autumn 2026'."""
    year, _, name = key.partition("-")
    return f"{name.title()} {year}"
