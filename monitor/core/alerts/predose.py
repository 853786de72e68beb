"""Pre-dose checks: is there a result recent enough for a dose due on a given day?

A result must be valid on the day of the dose: for a dose due on D a result r counts when
r ≥ D − 30 d (calcium, creatinine: a `Span` of days), or when r + 6 m ≥ D (25(OH)D, dental check:
a `Span` of calendar months, "≤ 6 m old" as in A6, so for a dose on 2025-08-31 a result of
2025-02-28 is too old). The check starts failing on the first day a result could count (D − 30 d)
or on the day the last result stopped counting; an overdue dose is taken as due on `as_of`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from monitor.core.dates import add_months

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Span:
    """How close before a dose a result must be: `days` exact days or `months` calendar months."""

    days: int = 0
    months: int = 0

    def last_day(self, result: date) -> date:
        """The last dose day a result of this date still counts for."""
        return add_months(result, self.months) if self.months else result + timedelta(days=self.days)

    def opens(self, dose: date) -> date:
        """The first day a result can be drawn that still counts for a dose on `dose`."""
        if not self.months:
            return dose - timedelta(days=self.days)
        day = add_months(dose, -self.months)
        while self.last_day(day - ONE_DAY) >= dose:
            day -= ONE_DAY
        while self.last_day(day) < dose:
            day += ONE_DAY
        return day


@dataclass(frozen=True, slots=True)
class PreDose:
    """A pre-dose check: `missing_since` when no result counts, else the `result` that does."""

    missing_since: date | None
    result: date | None
    next_change: date | None


def pre_dose(dose: date, results: Sequence[date], as_of: date, span: Span) -> PreDose:
    """Is there a result that counts for a dose due on `dose` (an overdue dose is due on as_of)?
    A result r counts for the dose when span.last_day(r) ≥ dose, i.e. when r ≥ span.opens(dose)."""
    if span.last_day(as_of) < dose:
        return PreDose(None, None, span.opens(dose))
    latest = max((r for r in results if r <= as_of), default=None)
    if latest is None or span.last_day(latest) < dose:
        return PreDose(span.opens(dose), None, None)
    until = span.last_day(latest)
    if as_of <= until:
        return PreDose(None, latest, until + ONE_DAY)
    return PreDose(until + ONE_DAY, None, None)
