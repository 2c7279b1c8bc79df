"""England & Wales bank holidays, from the `holidays` package."""
from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> "holidays.HolidayBase":
    return holidays.country_holidays("GB", subdiv="ENG", years=year)


def is_bank_holiday(day: date) -> bool:
    """True on an England & Wales bank holiday."""
    return day in _bank_holidays(day.year)


def bank_holiday_name(day: date) -> str | None:
    """The holiday's name, or None on an ordinary day."""
    return _bank_holidays(day.year).get(day)
