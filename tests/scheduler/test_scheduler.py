"""The scheduler's logic with an explicit `now` (monitor.scheduler): which dates run, catch-up, DST, the lease,
job registration, and the `scheduler status` / `remind` commands at the CLI edge.

The scheduler loop itself never runs here (it is slow); tests/scheduler/test_scheduler_process.py starts real ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas  # noqa: F401 - imported before any freezegun freeze: a first import under freezegun segfaults
import pytest
import sqlalchemy as sa

pytest.register_assert_rewrite("tests.dbfixtures")
from tests.dbfixtures import Cli, error_line, sql  # noqa: E402
from tests.plan_rows import add_alert, add_patient, add_task, as_day  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]

LONDON = ZoneInfo("Europe/London")
D = date(2025, 6, 2)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """An instant given as London wall time."""
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=LONDON).astimezone(UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    from db.engine import make_engine
    from db.migrate import upgrade

    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def make_settings(**scheduler):
    from monitor.settings import load_settings

    s = load_settings()
    return dataclasses.replace(s, scheduler=dataclasses.replace(s.scheduler, **scheduler))


def seed_ledger(engine, settings, *days: date) -> None:
    from monitor.app.context import Context
    from monitor.app.daily import run_daily

    ctx = Context(settings=settings, user="tester", now=at(max(days), 7))
    for d in days:
        run_daily(engine, ctx, clinic=None, day=d, trigger="remind")


def ledger(url: str) -> list[tuple[date, str, str]]:
    """(business_date, outcome, trigger) in the order the runs were first claimed."""
    return [(as_day(d), o, t) for d, o, t in sql(url, "SELECT business_date, outcome, trigger FROM daily_run "
                                                      "WHERE clinic = '*' ORDER BY id")]


def pending(engine, settings, now: datetime, **kwargs) -> list[date]:
    from db.engine import read_session
    from monitor.scheduler.business_dates import pending_dates

    with read_session(engine) as session:
        return pending_dates(session, settings, now=now, **kwargs)


# --------------------------------------------------------------------------- which dates are pending


def test_an_empty_ledger_has_missed_nothing(engine):
    assert pending(engine, make_settings(), at(D, 9)) == []


def test_the_scheduled_job_on_an_empty_ledger_runs_today_once_its_time_has_passed(engine):
    settings = make_settings()
    assert pending(engine, settings, at(D, 6, 29), first_run_today=True) == [D - timedelta(days=1)]
    assert pending(engine, settings, at(D, 6, 30), first_run_today=True) == [D]


@pytest.mark.parametrize(("now", "expected"), [
    (at(D, 6, 29), [D - timedelta(days=2), D - timedelta(days=1)]),        # today's time has not passed yet
    (at(D, 6, 30), [D - timedelta(days=2), D - timedelta(days=1), D]),     # it has
    (at(D, 23, 59), [D - timedelta(days=2), D - timedelta(days=1), D]),
])
def test_missed_dates_are_those_after_the_newest_ledger_date_up_to_today(engine, now, expected):
    settings = make_settings()
    seed_ledger(engine, settings, D - timedelta(days=3))

    assert pending(engine, settings, now) == expected


def test_catch_up_latest_runs_only_the_newest_missed_date(engine):
    settings = make_settings(catch_up="latest")
    seed_ledger(engine, settings, D - timedelta(days=3))

    assert pending(engine, settings, at(D, 9)) == [D]


def test_an_unfinished_run_is_pending_again(engine, db_url):
    settings = make_settings()
    seed_ledger(engine, settings, D - timedelta(days=2), D - timedelta(days=1))
    sql(db_url, "UPDATE daily_run SET outcome = 'running' WHERE business_date = :d", d=D - timedelta(days=2))

    assert pending(engine, settings, at(D, 5)) == [D - timedelta(days=2)]


# --------------------------------------------------------------------------- catch-up


def test_scheduler_down_three_days_runs_exactly_those_three_dates_once_each_oldest_first(engine, db_url):
    from monitor.scheduler.business_dates import run_pending

    settings = make_settings()
    pid = add_patient(engine, "P1")
    add_task(engine, pid, D - timedelta(days=20), D - timedelta(days=2))  # turns overdue during the outage
    seed_ledger(engine, settings, D - timedelta(days=3))

    results = run_pending(engine, settings, now=at(D, 9), trigger="catch-up")
    again = run_pending(engine, settings, now=at(D, 10), trigger="catch-up")

    assert [r.business_date for r in results] == [D - timedelta(days=2), D - timedelta(days=1), D]
    assert again == []
    assert ledger(db_url) == [(D - timedelta(days=3), "ok", "remind")] + [
        (D - timedelta(days=k), "ok", "catch-up") for k in (2, 1, 0)]
    stages = sql(db_url, "SELECT r.stage, r.business_date FROM reminder r ORDER BY r.id")
    assert [(s, as_day(d)) for s, d in stages] == [("due", D - timedelta(days=3)), ("overdue", D - timedelta(days=1))]


def test_a_stop_request_ends_the_catch_up_between_runs(engine, db_url):
    from monitor.scheduler.business_dates import run_pending

    settings = make_settings()
    seed_ledger(engine, settings, D - timedelta(days=3))
    calls = []

    def stop_after_one() -> bool:
        calls.append(1)
        return len(calls) > 1

    results = run_pending(engine, settings, now=at(D, 9), should_stop=stop_after_one)

    assert [r.business_date for r in results] == [D - timedelta(days=2)]
    assert [d for d, *_ in ledger(db_url)] == [D - timedelta(days=3), D - timedelta(days=2)]


def _fire_times(settings, start: datetime, end: datetime) -> list[datetime]:
    """The instants APScheduler's trigger fires between start and end."""
    from monitor.scheduler.process import daily_trigger

    trigger = daily_trigger(settings)
    times, previous, now = [], None, start
    while True:
        fire = trigger.get_next_fire_time(previous, now)
        if fire is None or fire > end:
            return times
        assert previous is None or fire > previous, f"APScheduler repeats {fire}"
        times.append(fire.astimezone(UTC))
        previous, now = fire, fire + timedelta(seconds=1)


DST_DAYS = [pytest.param(date(2025, 3, 30), id="spring-forward"), pytest.param(date(2025, 10, 26), id="fall-back")]


def _run_every_ten_minutes(engine, settings, change: date, fires: list[datetime]) -> None:
    start, end = at(change - timedelta(days=1), 0), at(change + timedelta(days=2), 0)
    ticks = [start + timedelta(minutes=10 * i) for i in range(int((end - start) / timedelta(minutes=10)))]
    from monitor.scheduler.business_dates import run_pending

    for now in sorted(set(fires + ticks)):
        run_pending(engine, settings, now=now, first_run_today=now in fires)


@pytest.mark.parametrize("daily_at", ["06:30", "00:30"])
@pytest.mark.parametrize("change", DST_DAYS)
def test_dst_change_days_run_once_each(engine, db_url, daily_at, change):
    """The job fires as APScheduler's trigger says and, every 10 minutes, as a restarted scheduler would."""
    settings = make_settings(daily_at=daily_at)
    seed_ledger(engine, settings, change - timedelta(days=2))
    fires = _fire_times(settings, at(change - timedelta(days=1), 0), at(change + timedelta(days=2), 0))

    _run_every_ten_minutes(engine, settings, change, fires)

    assert [f.astimezone(LONDON).date() for f in fires] == [change - timedelta(days=1) + timedelta(days=k)
                                                            for k in range(3)]
    assert [d for d, *_ in ledger(db_url)] == [change + timedelta(days=k) for k in (-2, -1, 0, 1)]


@pytest.mark.parametrize("daily_at", ["01:00", "01:30"])
@pytest.mark.parametrize("change", DST_DAYS)
def test_a_daily_time_in_the_dst_hours_still_runs_each_date_once_but_the_scheduler_refuses_it(
    engine, db_url, daily_at, change
):
    """APScheduler 3's cron trigger repeats 01:30 forever on the fall-back day: `scheduler start` refuses such
    a time; the ledger alone (a restarted scheduler, cron + `remind`) still runs each date once."""
    from monitor.core.errors import ConfigError
    from monitor.scheduler.business_dates import check_daily_time

    settings = make_settings(daily_at=daily_at)
    seed_ledger(engine, settings, change - timedelta(days=2))

    _run_every_ten_minutes(engine, settings, change, [])

    assert [d for d, *_ in ledger(db_url)] == [change + timedelta(days=k) for k in (-2, -1, 0, 1)]
    with pytest.raises(ConfigError, match=f"daily_at = '{daily_at}'.*Europe/London"):
        check_daily_time(settings, around=change)


def test_a_daily_time_outside_the_dst_hours_is_accepted():
    from monitor.scheduler.business_dates import check_daily_time

    check_daily_time(make_settings(daily_at="06:30"), around=date(2025, 3, 1))
    check_daily_time(make_settings(daily_at="00:30"), around=date(2025, 3, 1))


# --------------------------------------------------------------------------- the lease


def test_the_lease_admits_one_holder_until_it_expires(engine):
    from monitor.scheduler.lease import Lease

    t0 = datetime(2025, 6, 2, 5, 0, tzinfo=UTC)
    a, b = Lease(engine, "A", 60), Lease(engine, "B", 60)

    assert a.acquire(t0)
    assert not b.acquire(t0 + timedelta(seconds=30))
    assert a.renew(t0 + timedelta(seconds=50))
    assert not b.acquire(t0 + timedelta(seconds=100))      # renewed until t0 + 110 s
    assert b.acquire(t0 + timedelta(seconds=110))          # A stopped renewing: B takes over
    assert not a.renew(t0 + timedelta(seconds=111))        # A learns it lost the lease
    b.release(t0 + timedelta(seconds=120))
    assert a.acquire(t0 + timedelta(seconds=121))


def test_the_job_does_nothing_without_the_lease(engine, db_url, monkeypatch):
    import monitor.scheduler.process as process
    from monitor.scheduler.lease import Lease

    settings = make_settings()
    seed_ledger(engine, settings, D - timedelta(days=2))
    holder, other = Lease(engine, "holder", 60), Lease(engine, "other", 60)
    assert holder.acquire(at(D, 6))
    monkeypatch.setattr(process, "_RUNTIME", process.Runtime(engine, settings, other))

    process.daily_job(now=at(D, 7))
    assert len(ledger(db_url)) == 1

    monkeypatch.setattr(process, "_RUNTIME", process.Runtime(engine, settings, holder))
    process.daily_job(now=at(D, 7))
    assert [d for d, *_ in ledger(db_url)] == [D - timedelta(days=2), D - timedelta(days=1), D]


# --------------------------------------------------------------------------- APScheduler job registration


def _started_scheduler(engine, settings):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    from monitor.scheduler.process import job_options

    store = SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")
    scheduler = BackgroundScheduler(jobstores={"default": store}, job_defaults=job_options(settings),
                                    timezone=settings.tz)
    scheduler.start(paused=True)
    return scheduler


def test_the_daily_job_is_registered_only_when_missing_or_changed(engine, db_url):
    from monitor.scheduler.process import JOB_ID, ensure_daily_job

    settings = make_settings()
    first = _started_scheduler(engine, settings)
    try:
        assert ensure_daily_job(first, settings) == "added"
        job = first.get_job(JOB_ID)
        assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 43200)
        assert job.func_ref == "monitor.scheduler.process:daily_job"
    finally:
        first.shutdown(wait=False)
    overdue = 1_000_000.0  # a pending fire long ago, as after a weekend down
    sql(db_url, "UPDATE apscheduler_jobs SET next_run_time = :t", t=overdue)

    again = _started_scheduler(engine, settings)
    try:
        assert ensure_daily_job(again, settings) == "kept"
        assert sql(db_url, "SELECT next_run_time FROM apscheduler_jobs") == [(overdue,)]
        changed = make_settings(daily_at="07:15")
        assert ensure_daily_job(again, changed) == "changed: trigger"
        assert "hour='7', minute='15'" in str(again.get_job(JOB_ID).trigger)
    finally:
        again.shutdown(wait=False)
    assert sql(db_url, "SELECT count(*) FROM apscheduler_jobs") == [(1,)]


def _store_func_ref(db_url: str, ref: str) -> None:
    """Rewrite the stored daily job's function reference, as an older bonemon stored it."""
    import pickle

    [(blob,)] = sql(db_url, "SELECT job_state FROM apscheduler_jobs")
    state = pickle.loads(blob)
    state["func"] = ref
    sql(db_url, "UPDATE apscheduler_jobs SET job_state = :s", s=pickle.dumps(state))


@pytest.mark.parametrize("old_ref", ["monitor.jobs:daily_job", "monitor.scheduler.jobs:daily_job"])
def test_a_job_stored_under_a_reference_that_no_longer_imports_is_replaced(engine, db_url, caplog, old_ref):
    from monitor.scheduler.process import JOB_FUNC, JOB_ID, ensure_daily_job

    settings = make_settings()
    first = _started_scheduler(engine, settings)
    try:
        ensure_daily_job(first, settings)
    finally:
        first.shutdown(wait=False)
    _store_func_ref(db_url, old_ref)

    again = _started_scheduler(engine, settings)
    try:
        with caplog.at_level("WARNING"):
            assert ensure_daily_job(again, settings) == "replaced"
            jobs = again.get_jobs()  # APScheduler's own restore, which drops a job it cannot import
        assert [j.func_ref for j in jobs] == [JOB_FUNC] and again.get_job(JOB_ID).func_ref == JOB_FUNC
        assert ensure_daily_job(again, settings) == "kept"
    finally:
        again.shutdown(wait=False)
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []  # no traceback
    assert any(old_ref in r.getMessage() and "replacing it" in r.getMessage() for r in caplog.records)


def test_a_job_stored_under_another_importable_reference_is_repointed(engine, db_url):
    from monitor.scheduler.process import JOB_FUNC, JOB_ID, ensure_daily_job

    settings = make_settings()
    first = _started_scheduler(engine, settings)
    try:
        ensure_daily_job(first, settings)
    finally:
        first.shutdown(wait=False)
    _store_func_ref(db_url, "monitor.scheduler.business_dates:run_pending")

    again = _started_scheduler(engine, settings)
    try:
        assert ensure_daily_job(again, settings) == "changed: func"
        assert again.get_job(JOB_ID).func_ref == JOB_FUNC
    finally:
        again.shutdown(wait=False)


# --------------------------------------------------------------------------- the commands


def test_scheduler_status_json_has_the_design_shape(cli: Cli, today):
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    cli.ok("remind", "--as-of", "2025-05-30")
    cli.ok("remind", "--as-of", "2025-05-31")

    doc = cli.json("scheduler", "status", "--json")

    assert list(doc)[:6] == ["timezone", "daily_at", "next_run", "lease_holder", "lease_expires", "runs"]
    assert (doc["timezone"], doc["daily_at"], doc["next_run"], doc["lease_holder"]) == (
        "Europe/London", "06:30", None, None)
    assert [r["business_date"] for r in doc["runs"]] == ["2025-05-31", "2025-05-30"]
    run = doc["runs"][0]
    assert set(run) >= {"clinic", "business_date", "started", "finished", "outcome", "created"}
    assert (run["clinic"], run["outcome"]) == ("*", "ok")
    assert run["started"] == "2025-06-01T11:00:00+00:00"


def test_scheduler_status_lists_at_most_fifty_runs_newest_first(engine, blank_cli: Cli):
    settings = make_settings()
    seed_ledger(engine, settings, *[D - timedelta(days=k) for k in range(60, 0, -1)])

    doc = blank_cli.json("scheduler", "status", "--json")

    assert len(doc["runs"]) == 50
    assert doc["runs"][0]["business_date"] == (D - timedelta(days=1)).isoformat()


def test_scheduler_status_in_words(cli: Cli, today):
    cli.ok("remind")
    text = cli.ok("scheduler", "status").stdout

    assert "Daily run at 06:30 Europe/London." in text
    assert "Lease: free (no scheduler running)." in text
    assert "2025-06-01  *" in text and " ok " in text


def test_remind_refuses_a_future_date(cli: Cli, today):
    line = cli.error("remind", "--as-of", "2025-06-02")
    assert line == ("Error: as-of: 2025-06-02 is not allowed; a date on or before today (2025-06-01); "
                    "a future date cannot run yet")
    assert cli.counts()["daily_run"] == 0


def test_remind_refuses_an_unknown_clinic(cli: Cli, today):
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01", "--clinic", "north")
    line = cli.error("remind", "--clinic", "nort")
    assert line == "Error: clinic: nort is not allowed; one of: north"


def test_remind_on_an_uninitialised_database_says_run_init(blank_cli: Cli, today):
    assert "run `bonemon init`" in error_line(blank_cli("remind"))
    assert "run `bonemon init`" in error_line(blank_cli("scheduler", "status"))


def test_remind_a_bad_format_is_a_usage_error(cli: Cli):
    assert cli("remind", "--format", "xlsx").exit_code == 2


def test_remind_twice_for_a_date_creates_nothing_the_second_time(cli: Cli, today):
    from db.engine import make_engine

    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    engine = make_engine(cli.url)
    try:
        pid = cli.sql("SELECT id FROM patient")[0][0]
        add_task(engine, pid, date(2025, 5, 1), date(2025, 5, 20))
        add_alert(engine, pid)
    finally:
        engine.dispose()

    first = cli.json("remind", "--format", "json")
    second = cli.json("remind", "--format", "json")

    assert first["created"] >= 2 and second["created"] == 0
    assert first["run_id"] == second["run_id"]
    assert [r["new"] for r in second["reminders"]] == [r["new"] for r in first["reminders"]]
    assert cli.counts()["daily_run"] == 1
