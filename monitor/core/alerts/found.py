"""What the alert checks found: one alert per code, and the dates on which they could change.

There is one alert per code (the store keys alerts by code and `since`, so `since` never depends
on `as_of`); several reasons for one code are joined in its message, the most severe wins and the
earliest `since` dates it.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from monitor.core.domain import Alert, Severity


def rounded(value: float, places: int) -> float:
    """Half away from zero at `places` decimals, as labs report (Decimal, so 2.675 → 2.68)."""
    return float(Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def num(value: float) -> str:
    """A number as a message shows it: 35, 2.5, 0.1 (no trailing zeros)."""
    return f"{value:g}"


class Found:
    """Alerts found on `as_of`, merged to one per code, and the change dates after `as_of`."""

    __slots__ = ("as_of", "changes", "found")

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.found: dict[str, list[tuple[int, date, Severity, str]]] = {}
        self.changes: list[date] = []

    def add(self, code: str, severity: Severity, since: date, message: str) -> None:
        self.found.setdefault(code, []).append((severity.rank, since, severity, message))

    def change(self, day: date | None) -> None:
        if day is not None and day > self.as_of:
            self.changes.append(day)

    def result(self) -> tuple[tuple[Alert, ...], date | None]:
        alerts = []
        for code, parts in self.found.items():
            parts.sort(key=lambda p: p[:2])
            message = "; ".join(dict.fromkeys(p[3] for p in parts))
            alerts.append(Alert(code, parts[0][2], min(p[1] for p in parts), message))
        alerts.sort(key=lambda a: (a.severity.rank, a.code))
        return tuple(alerts), min(self.changes, default=None)
