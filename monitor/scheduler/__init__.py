"""The persistent scheduler (`bonemon scheduler start|status`, docs/cli.md): APScheduler 3 triggers, our run
ledger decides.

- business_dates: `pending_dates` is the truth of what must run: every business date after the newest
  ledger date of the scope up to the last business date whose daily time has passed, plus any date
  whose run did not finish; an empty ledger has missed nothing. `catch_up = "latest"` keeps only the
  newest. `run_pending(engine, settings, now=...)` runs them oldest first (monitor.app.daily.run_daily);
  it takes `now` explicitly, so tests call it directly, never under freezegun.
- lease: one scheduler per database, a lease row claimed and renewed with conditional UPDATEs. A second
  instance waits as a standby and takes over when the lease expires.
- process: `daily_job` is the module-level function APScheduler stores by reference (JOB_FUNC) in a
  SQLAlchemyJobStore in the same database: fixed id, cron trigger at `daily_at` in the clinic's zone,
  coalesce, generous misfire grace, max one instance; registered only when missing or changed.
  `SchedulerProcess` is `bonemon scheduler start`: standby, catch-up, then the blocking scheduler;
  SIGTERM / SIGINT stop it between runs (a run in progress finishes; it is one transaction anyway).
- status: the `scheduler status` document.

Only monitor/clock.py reads the wall clock; these modules ask it (`utc_now`) at the edge.
"""
