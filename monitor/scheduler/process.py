"""`bonemon scheduler start`: the APScheduler wiring, the job function it stores, and the blocking process.

APScheduler stores the job by reference (JOB_FUNC) in a SQLAlchemyJobStore in the same database. A
reference written by an older bonemon ("monitor.jobs:daily_job", "monitor.scheduler.jobs:daily_job")
no longer imports; `ensure_daily_job` replaces such a job before APScheduler's first wake-up, which
would otherwise log a traceback and delete it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db.engine import read_session
from db.models import SchedulerJobRow
from monitor.clock import clinic_today, utc_now
from monitor.scheduler.business_dates import check_daily_time, run_pending
from monitor.scheduler.lease import Lease, LeaseKeeper, holder_id, lease_state
from monitor.settings import Settings

JOBS = SchedulerJobRow.__table__
JOB_ID = "bonemon-daily"
JOB_FUNC = "monitor.scheduler.process:daily_job"
RUN_ENGINE_BUSY_MS = 600_000  # the scheduler waits up to 10 min for a staff command's write lock
log = logging.getLogger("bonemon.scheduler")


# --------------------------------------------------------------------------- the job


@dataclass
class Runtime:
    """What the job function needs in the scheduler process (set by `SchedulerProcess.run_active`)."""

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


# --------------------------------------------------------------------------- APScheduler


def daily_trigger(settings: Settings) -> Any:
    from apscheduler.triggers.cron import CronTrigger

    hour, minute = (int(p) for p in settings.scheduler.daily_at.split(":"))
    return CronTrigger(hour=hour, minute=minute, timezone=settings.tz)


def job_options(settings: Settings) -> dict[str, Any]:
    return {"coalesce": True, "misfire_grace_time": settings.scheduler.misfire_grace_seconds, "max_instances": 1}


def _same_trigger(a: Any, b: Any) -> bool:
    return str(a) == str(b) and str(getattr(a, "timezone", "")) == str(getattr(b, "timezone", ""))


def _stored_job(scheduler: Any) -> tuple[Any, str | None]:
    """(the stored daily job or None, why it could not be restored or None)."""
    try:
        return scheduler.get_job(JOB_ID), None
    except sa.exc.SQLAlchemyError:
        raise
    except Exception as exc:  # LookupError (a function reference that no longer imports), an unpickling error
        return None, str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__


def ensure_daily_job(scheduler: Any, settings: Settings) -> str:
    """Register the daily job only when missing or changed (re-adding would wipe a pending overdue run).

    A stored job that cannot be restored is replaced by a fresh one; its pending fire is not kept, as the
    start-up catch-up has just run every pending business date."""
    trigger = daily_trigger(settings)
    options = job_options(settings)
    job, broken = _stored_job(scheduler)
    if job is None:
        if broken:
            log.warning("the stored daily job cannot be restored (%s); replacing it", broken)
        scheduler.add_job(JOB_FUNC, trigger, id=JOB_ID, name="bonemon daily run", replace_existing=True, **options)
        return "replaced" if broken else "added"
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
        job_defaults=job_options(settings),
        timezone=settings.tz,
    )


# --------------------------------------------------------------------------- the process


class SchedulerProcess:
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
                # Runs inside scheduler.start(), before its first wake-up looks at the stored job.
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
