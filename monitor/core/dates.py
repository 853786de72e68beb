"""Calendar arithmetic of docs/rules.md MONTHS: months are calendar months clamped at month end; days are exact."""

from __future__ import annotations

import re
from datetime import date, timedelta

from monitor.core.errors import DataError

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(d: date, months: int) -> date:
    """d + n calendar months, clamped at month end (2025-08-31 + 6 m = 2026-02-28)."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + months, 12)
    day = d.day
    if day > 28:  # only the last days of a month can overflow: clamp them (the planner's hot path)
        last = _MONTH_DAYS[month0]
        if month0 == 1 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
            last = 29
        day = min(day, last)
    return date(year, month0 + 1, day)


def add_days(d: date, days: int) -> date:
    return d + timedelta(days=days)


def months_between(start: date, end: date) -> int:
    """Whole calendar months from start to end (how many add_months steps fit)."""
    n = (end.year - start.year) * 12 + (end.month - start.month)
    while n > 0 and add_months(start, n) > end:
        n -= 1
    while add_months(start, n + 1) <= end:
        n += 1
    return n


def age_on(birth: date, on: date) -> int:
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def parse_date(text: str, field: str = "date") -> date:
    """Strict YYYY-MM-DD; anything else is a DataError naming the field."""
    value = (text or "").strip()
    try:
        if not _ISO_DAY.fullmatch(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise DataError(field, repr(text), "expected a real calendar date as YYYY-MM-DD") from None
