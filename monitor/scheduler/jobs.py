"""The persistent scheduler (DESIGN §5): APScheduler 3 triggers, our run ledger decides.

- `pending_dates` is the truth of what must run: every business date after the newest ledger date
  of the scope up to the last business date whose daily time has passed, plus any date whose run
  did not finish; an empty ledger has missed nothing. `catch_up = "latest"` keeps only the newest.
- `run_pending(engine, settings, now=...)` runs them oldest first (monitor.app.daily.run_daily). It
  takes `now` explicitly; tests call it directly, never under freezegun.
- `daily_job` is the module-level function APScheduler stores (by reference, "monitor.scheduler.jobs:daily_job")
  in a SQLAlchemyJobStore in the same database: fixed id, cron trigger at `daily_at` in the clinic's
  zone, coalesce, generous misfire grace, max one instance; registered only when missing or changed.
- One scheduler per database: a lease row, claimed and renewed with conditional UPDATEs. A second
  instance waits as a standby and takes over when the lease expires.
- SIGTERM / SIGINT stop it between runs (a run in progress finishes; it is one transaction anyway).

Only monitor/clock.py reads the wall clock; this module asks it (`utc_now`) at the edge.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from db.engine import read_session, write_session
from db.models import DailyRunRow, SchedulerJobRow, SchedulerLeaseRow
from db.reminders import ALL_CLINICS
from db.types import UTCDateTime
from monitor.app.daily import INCOMPLETE, RunResult, run_daily
from monitor.app.facts import Context
from monitor.clock import clinic_today, utc_now
from monitor.settings import Settings

RUN = DailyRunRow.__table__
LEASE = SchedulerLeaseRow.__table__
JOBS = SchedulerJobRow.__table__
JOB_ID = "bonemon-daily"
JOB_FUNC = "monitor.scheduler.jobs:daily_job"
LEASE_NAME = "scheduler"
RUN_ENGINE_BUSY_MS = 600_000  # the scheduler waits up to 10 min for a staff command's write lock
log = logging.getLogger("bonemon.scheduler")


# --------------------------------------------------------------------------- which dates


def daily_instant(day: date, settings: Settings) -> datetime:
    """The UTC instant of `daily_at` on the clinic's calendar day `day` (a time in a DST gap is
    read with the offset before the change, one in the repeated hour as its first occurrence)."""
    hour, minute = (int(p) for p in settings.scheduler.daily_at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=settings.tz).astimezone(UTC)


def last_business_date(now: datetime, settings: Settings) -> date:
    """Today once its daily time has passed, else yesterday (clinic calendar)."""
    today = clinic_today(now, settings.tz)
    return today if now >= daily_instant(today, settings) else today - timedelta(days=1)


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


# --------------------------------------------------------------------------- the lease


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


@dataclass
class Lease:
    """One scheduler per database: claim with a conditional UPDATE, renew while holding, release on stop."""

    engine: Engine
    holder: str
    seconds: int
    name: str = LEASE_NAME

    def acquire(self, now: datetime) -> bool:
        expires = now + timedelta(seconds=self.seconds)
        with write_session(self.engine) as session:
            session.execute(_insert(session)(LEASE).values(name=self.name).on_conflict_do_nothing())
            claimed = session.execute(
                LEASE.update()
                .where(LEASE.c.name == self.name,
                       sa.or_(LEASE.c.holder.is_(None), LEASE.c.holder == self.holder,
                              LEASE.c.expires_at.is_(None), LEASE.c.expires_at <= sa.literal(now, UTCDateTime())))
                .values(holder=self.holder, expires_at=expires,
                        acquired_at=sa.case((LEASE.c.holder == self.holder, LEASE.c.acquired_at),
                                            else_=sa.literal(now, UTCDateTime())))
            ).rowcount
        return claimed == 1

    def renew(self, now: datetime) -> bool:
        with write_session(self.engine) as session:
            renewed = session.execute(
                LEASE.update().where(LEASE.c.name == self.name, LEASE.c.holder == self.holder)
                .values(expires_at=now + timedelta(seconds=self.seconds))
            ).rowcount
        return renewed == 1

    def release(self, now: datetime) -> None:
        with write_session(self.engine) as session:
            session.execute(LEASE.update().where(LEASE.c.name == self.name, LEASE.c.holder == self.holder)
                            .values(holder=None, expires_at=now))


def lease_state(session: Session, name: str = LEASE_NAME) -> tuple[str | None, datetime | None]:
    row = session.execute(sa.select(LEASE.c.holder, LEASE.c.expires_at).where(LEASE.c.name == name)).first()
    return (row.holder, row.expires_at) if row is not None else (None, None)


class LeaseKeeper:
    """Renews the lease in a background thread; calls `on_lost` once another instance took it."""

    def __init__(self, lease: Lease, on_lost: Any) -> None:
        self.lease, self.on_lost = lease, on_lost
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bonemon-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        interval = max(0.5, self.lease.seconds / 3)
        while not self._stop.wait(interval):
            try:
                held = self.lease.renew(utc_now())
            except Exception as exc:  # e.g. a long write lock: try again next time
                log.warning("could not renew the lease (%s); retrying", str(exc).splitlines()[0][:200])
                continue
            if not held:
                log.error("lease lost to another scheduler; this one goes back to standby")
                self.lost.set()
                self.on_lost()
                return


# --------------------------------------------------------------------------- APScheduler


@dataclass
class Runtime:
    """What the job function needs in the scheduler process (set by `serve`)."""

    engine: Engine
    settings: Settings
    lease: Lease


_RUNTIME: Runtime | None = None


def daily_job(now: datetime | None = None) -> None:
    """The scheduled job: run every pending business date (today's included), if we hold the lease."""
    runtime = _RUNTIME
    if runtime is None:  # pragma: no cover - only if a foreign process loaded our job
        log.error("daily job fired outside `bonemon scheduler start`; ignored")
        return
    now = now or utc_now()
    if not runtime.lease.renew(now):
        log.warning("daily job fired but this scheduler does not hold the lease; skipped")
        return
    try:
        run_pending(runtime.engine, runtime.settings, now=now, trigger="scheduler", first_run_today=True,
                    runner=runtime.lease.holder, clock=utc_now)
    except Exception:  # the run recorded its failure in the ledger; the scheduler keeps going
        log.exception("daily run failed; it is retried at the next start or trigger")


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


def daily_trigger(settings: Settings) -> Any:
    from apscheduler.triggers.cron import CronTrigger

    hour, minute = (int(p) for p in settings.scheduler.daily_at.split(":"))
    return CronTrigger(hour=hour, minute=minute, timezone=settings.tz)


def _job_options(settings: Settings) -> dict[str, Any]:
    return {"coalesce": True, "misfire_grace_time": settings.scheduler.misfire_grace_seconds, "max_instances": 1}


def _same_trigger(a: Any, b: Any) -> bool:
    return str(a) == str(b) and str(getattr(a, "timezone", "")) == str(getattr(b, "timezone", ""))


def ensure_daily_job(scheduler: Any, settings: Settings) -> str:
    """Register the daily job only when missing or changed (re-adding would wipe a pending overdue run)."""
    trigger = daily_trigger(settings)
    options = _job_options(settings)
    job = scheduler.get_job(JOB_ID)
    if job is None:
        scheduler.add_job(JOB_FUNC, trigger, id=JOB_ID, name="bonemon daily run", replace_existing=True, **options)
        return "added"
    changed = []
    if not _same_trigger(job.trigger, trigger):
        scheduler.reschedule_job(JOB_ID, trigger=trigger)
        changed.append("trigger")
    stale = {k: v for k, v in options.items() if getattr(job, k) != v}
    if job.func_ref != JOB_FUNC:
        stale["func"] = JOB_FUNC
    if stale:
        scheduler.modify_job(JOB_ID, **stale)
        changed += sorted(stale)
    return "changed: " + ", ".join(changed) if changed else "kept"


def make_scheduler(engine: Engine, settings: Settings) -> Any:
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.blocking import BlockingScheduler

    return BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBS.name)},
        executors={"default": ThreadPoolExecutor(1)},
        job_defaults=_job_options(settings),
        timezone=settings.tz,
    )


def next_run(session: Session) -> datetime | None:
    stamp = session.execute(sa.select(JOBS.c.next_run_time).where(JOBS.c.id == JOB_ID)).scalar()
    return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None


# --------------------------------------------------------------------------- the process


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:128]


class Service:
    """`bonemon scheduler start`: standby until it holds the lease, then catch up and schedule."""

    def __init__(self, url: str, settings: Settings) -> None:
        from db.engine import make_engine

        self.settings = settings
        busy = max(settings.database.busy_timeout_ms, RUN_ENGINE_BUSY_MS)
        self.engine = make_engine(url, busy_timeout_ms=busy)
        self.lease_engine = make_engine(url, busy_timeout_ms=settings.database.busy_timeout_ms)
        self.lease = Lease(self.lease_engine, holder_id(), settings.scheduler.lease_seconds)
        self.stop = threading.Event()
        self.scheduler: Any = None
        self._lock = threading.Lock()

    # signals and shutdown -----------------------------------------------------------

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        log.info("%s received: stopping after the run in progress", signal.Signals(signum).name)
        self.stop.set()
        self._stop_scheduler()

    def _stop_scheduler(self) -> None:
        """Shut APScheduler down from a helper thread (never block a signal handler or a job thread)."""
        with self._lock:
            scheduler = self.scheduler
        if scheduler is None:
            return

        def shutdown() -> None:
            from apscheduler.schedulers import SchedulerNotRunningError

            with contextlib.suppress(SchedulerNotRunningError):
                scheduler.shutdown(wait=True)

        threading.Thread(target=shutdown, name="bonemon-shutdown", daemon=True).start()

    # the loop -----------------------------------------------------------------------

    def wait_for_lease(self) -> bool:
        poll = max(0.5, self.settings.scheduler.lease_seconds / 3)
        announced = None
        while not self.stop.is_set():
            try:
                if self.lease.acquire(utc_now()):
                    log.info("lease acquired by %s", self.lease.holder)
                    return True
                with read_session(self.lease_engine) as session:
                    holder, expires = lease_state(session)
                if holder != announced:
                    log.info("standby: the lease is held by %s until %s", holder,
                             expires.isoformat() if expires else "?")
                    announced = holder
            except Exception as exc:  # a locked database: try again
                log.warning("could not claim the lease (%s); retrying", str(exc).splitlines()[0][:200])
            self.stop.wait(poll)
        return False

    def run_active(self) -> None:
        global _RUNTIME
        keeper = LeaseKeeper(self.lease, on_lost=self._stop_scheduler)
        keeper.start()
        _RUNTIME = Runtime(self.engine, self.settings, self.lease)
        try:
            try:
                results = run_pending(self.engine, self.settings, now=utc_now(), trigger="catch-up",
                                      runner=self.lease.holder, clock=utc_now,
                                      should_stop=lambda: self.stop.is_set() or keeper.lost.is_set())
                if results:
                    log.info("caught up %d missed business date(s): %s", len(results),
                             ", ".join(r.business_date.isoformat() for r in results))
            except Exception:  # the failed run is in the ledger as unfinished; the trigger retries it
                log.exception("catch-up stopped by a failed run; it is retried at the next trigger")
            if self.stop.is_set() or keeper.lost.is_set():
                return
            scheduler = make_scheduler(self.engine, self.settings)
            from apscheduler.events import EVENT_SCHEDULER_STARTED

            def on_started(_event: Any) -> None:
                log.info("daily job %s (%s at %s %s)", ensure_daily_job(scheduler, self.settings), JOB_ID,
                         self.settings.scheduler.daily_at, self.settings.clinic.timezone)
                if self.stop.is_set() or keeper.lost.is_set():
                    self._stop_scheduler()

            scheduler.add_listener(on_started, EVENT_SCHEDULER_STARTED)
            with self._lock:
                self.scheduler = scheduler
            scheduler.start()  # blocks until shutdown
        finally:
            with self._lock:
                self.scheduler = None
            keeper.stop()
            _RUNTIME = None

    def serve(self) -> None:
        check_daily_time(self.settings, around=clinic_today(utc_now(), self.settings.tz))
        self.install_signal_handlers()
        log.info("scheduler %s starting: daily at %s %s, lease %d s", self.lease.holder,
                 self.settings.scheduler.daily_at, self.settings.clinic.timezone, self.lease.seconds)
        try:
            while not self.stop.is_set():
                if not self.wait_for_lease():
                    break
                self.run_active()
        finally:
            try:
                self.lease.release(utc_now())
            except Exception:  # it expires by itself
                log.warning("could not release the lease; it expires in %d s", self.lease.seconds)
            self.engine.dispose()
            self.lease_engine.dispose()
            log.info("scheduler stopped")


# --------------------------------------------------------------------------- status


def status_document(session: Session, settings: Settings, *, limit: int = 50) -> dict[str, Any]:
    """The DESIGN §6 `scheduler status --json` document."""
    holder, expires = lease_state(session)
    planned = next_run(session)
    runs = session.execute(
        sa.select(RUN).order_by(RUN.c.business_date.desc(), RUN.c.id.desc()).limit(limit)
    ).all()

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "timezone": settings.clinic.timezone,
        "daily_at": settings.scheduler.daily_at,
        "next_run": iso(planned),
        "lease_holder": holder,
        "lease_expires": iso(expires),
        "runs": [
            {"clinic": r.clinic, "business_date": r.business_date.isoformat(), "started": iso(r.started),
             "finished": iso(r.finished), "outcome": r.outcome, "created": r.created, "id": r.id,
             "trigger": r.trigger, "attempts": r.attempts, "replanned": r.replanned,
             "replan_failed": r.replan_failed, "due": r.due, "overdue": r.overdue, "escalated": r.escalated,
             "alerts": r.alerts, "problems": _problems(r.problems)}
            for r in runs
        ],
    }


def _problems(text: str | None) -> list[dict[str, Any]]:
    import json

    return json.loads(text) if text else []
