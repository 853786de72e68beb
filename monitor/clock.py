"""The only reader of the wall clock. Commands read it once and pass `now` / `as_of` down."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def utc_now() -> datetime:
    return datetime.now(UTC)


def clinic_today(now: datetime, tz: ZoneInfo) -> date:
    """The clinic's calendar day at the instant `now` (aware)."""
    if now.tzinfo is None:
        raise ValueError("clinic_today needs an aware datetime")
    return now.astimezone(tz).date()
