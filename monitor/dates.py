"""Calendar arithmetic of SPEC §4.1: months are calendar months clamped at month end; days are exact."""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from monitor.errors import DataError

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def add_months(d: date, months: int) -> date:
    """d + n calendar months, clamped at month end (2025-08-31 + 6 m = 2026-02-28)."""
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(d.day, last))


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
