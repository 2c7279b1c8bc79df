"""Europe/London local time, UTC storage, and the injectable clock.

Times are stored in UTC and shown in Europe/London. A local time given without an offset
is London time; one that does not exist (the spring-forward hour) or happens twice (the
autumn fall-back hour) is refused rather than guessed.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

LONDON = ZoneInfo("Europe/London")
UTC = timezone.utc


class LocalTimeError(ValueError):
    """A local time that cannot name a single instant."""


def london(naive: datetime) -> datetime:
    """Attach Europe/London to a naive local time, refusing gaps and overlaps."""
    if naive.tzinfo is not None:
        return naive.astimezone(LONDON)
    first = naive.replace(tzinfo=LONDON, fold=0)
    second = naive.replace(tzinfo=LONDON, fold=1)
    if first.utcoffset() != second.utcoffset():
        # The two folds disagree: either the hour is repeated (autumn) or skipped (spring).
        roundtrip = first.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None)
        if roundtrip != naive:
            raise LocalTimeError(
                f"{naive:%H:%M} on {naive:%d %B %Y} does not exist in London: the clocks go forward an hour that night. "
                "Choose a time after 02:00.")
        raise LocalTimeError(
            f"{naive:%H:%M} on {naive:%d %B %Y} happens twice in London: the clocks go back an hour that night. "
            "Choose a time after 02:00.")
    return first


def local_to_utc(day: date, at: time) -> datetime:
    """The UTC instant of a London wall-clock time on a day."""
    return london(datetime.combine(day, at)).astimezone(UTC)


def to_london(moment: datetime) -> datetime:
    """An aware instant shown in London time."""
    return moment.astimezone(LONDON)


def isoformat(moment: datetime | None) -> str | None:
    """ISO 8601 with the London offset, e.g. 2026-10-06T10:00:00+01:00."""
    return None if moment is None else to_london(moment).isoformat()


def parse_datetime(text: str) -> datetime:
    """Parse an ISO 8601 time; one without an offset is London local time."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = london(value)
    return value.astimezone(UTC)


def now() -> datetime:
    """The current instant, or the fixed one set in configuration (tests, demos)."""
    if has_app_context():
        fixed = current_app.config.get("FIXED_NOW")
        if fixed is not None:
            return fixed
    return datetime.now(UTC)


def today_london(moment: datetime | None = None) -> date:
    """The London calendar date at a moment (default: now)."""
    return to_london(moment or now()).date()


def format_local(moment: datetime, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A human London-time label such as 'Tue 06 Oct 2026, 10:00'."""
    return to_london(moment).strftime(fmt)


def next_working_day(day: date, extra_closed: "set[date] | frozenset[date]" = frozenset()) -> date:
    """The next weekday after `day` that is not an England & Wales bank holiday."""
    from app.calendar_rules import is_bank_holiday

    candidate = day + timedelta(days=1)
    while candidate.weekday() >= 5 or is_bank_holiday(candidate) or candidate in extra_closed:
        candidate += timedelta(days=1)
    return candidate
