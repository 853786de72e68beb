"""Which business dates the scheduler must run now, and running them (the run ledger is the truth).

A business date is a day of the clinic's calendar whose daily run is due once `[scheduler] daily_at` has
passed in the clinic's zone.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from db.engine import read_session
from db.models import DailyRunRow
from db.reminders import ALL_CLINICS
from monitor.app.context import Context
from monitor.app.daily import INCOMPLETE, RunResult, run_daily
from monitor.clock import clinic_today
from monitor.settings import Settings

RUN = DailyRunRow.__table__
log = logging.getLogger("bonemon.scheduler")


def daily_instant(day: date, settings: Settings) -> datetime:
    """The UTC instant of `daily_at` on the clinic's calendar day `day` (a time in a DST gap is
    read with the offset before the change, one in the repeated hour as its first occurrence)."""
    hour, minute = (int(p) for p in settings.scheduler.daily_at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=settings.tz).astimezone(UTC)


def last_business_date(now: datetime, settings: Settings) -> date:
    """Today once its daily time has passed, else yesterday (clinic calendar)."""
    today = clinic_today(now, settings.tz)
    return today if now >= daily_instant(today, settings) else today - timedelta(days=1)


def check_daily_time(settings: Settings, *, around: date) -> None:
    """Refuse a daily time that a DST change skips or repeats within a year of `around` (APScheduler 3's
    cron trigger misfires there: it fires 01:30 again and again on a fall-back day)."""
    from monitor.core.errors import ConfigError

    hour, minute = (int(p) for p in settings.scheduler.daily_at.split(":"))
    tz = settings.tz
    bad = []
    for offset in range(-183, 184):
        day = around + timedelta(days=offset)
        local = datetime.combine(day, time(hour, minute), tzinfo=tz)
        first, second = local.replace(fold=0), local.replace(fold=1)
        if first.utcoffset() != second.utcoffset():  # skipped (spring forward) or repeated (fall back)
            bad.append(day.isoformat())
    if bad:
        raise ConfigError(
            f"{settings.source}: [scheduler] daily_at = {settings.scheduler.daily_at!r} is skipped or repeated by a "
            f"daylight-saving change in {settings.clinic.timezone} (on {', '.join(bad)}); choose a time outside "
            "the change hours, e.g. 06:30"
        )


def pending_dates(
    session: Session, settings: Settings, *, now: datetime, clinic: str = ALL_CLINICS, mode: str | None = None,
    first_run_today: bool = False,
) -> list[date]:
    """Business dates to run now, oldest first.

    `first_run_today`: with an empty ledger, run the last business date (the scheduled daily job
    does; a start-up catch-up does not, since an empty ledger has missed nothing).
    """
    last = last_business_date(now, settings)
    newest = session.execute(sa.select(sa.func.max(RUN.c.business_date)).where(RUN.c.clinic == clinic)).scalar()
    unfinished = set(session.execute(
        sa.select(RUN.c.business_date).where(RUN.c.clinic == clinic, RUN.c.outcome.in_(INCOMPLETE),
                                             RUN.c.business_date <= last)
    ).scalars())
    if newest is None:
        gap = [last] if first_run_today else []
    else:
        gap = [newest + timedelta(days=i) for i in range(1, (last - newest).days + 1)]
    dates = sorted(unfinished | set(gap))
    if (mode or settings.scheduler.catch_up) == "latest":
        dates = dates[-1:]
    return dates


def run_pending(
    engine: Engine, settings: Settings, *, now: datetime, clinic: str = ALL_CLINICS, trigger: str = "scheduler",
    first_run_today: bool = False, runner: str = "", should_stop: Any = None, clock: Any = None,
) -> list[RunResult]:
    """Run every pending business date once, oldest first; stops between runs when asked to."""
    with read_session(engine) as session:
        dates = pending_dates(session, settings, now=now, clinic=clinic, first_run_today=first_run_today)
    ctx = Context(settings=settings, user="scheduler", now=now)
    results = []
    for day in dates:
        if should_stop is not None and should_stop():
            log.info("stop requested: %d pending date(s) left for the next start", len(dates) - len(results))
            break
        results.append(run_daily(engine, ctx, clinic=clinic, day=day, trigger=trigger, runner=runner, clock=clock))
    return results
