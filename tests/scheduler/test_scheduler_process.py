"""Real `bonemon scheduler start` processes (docs/cli.md): catch-up after downtime, a clean stop on SIGTERM
and SIGINT, registration only when missing, the daily trigger firing, and two instances on one database.

These run on the wall clock (no freezegun): the ledger is seeded relative to today in the clinic's zone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas  # noqa: F401 - imported before any freezegun freeze: a first import under freezegun segfaults
import pytest

pytest.register_assert_rewrite("tests.dbfixtures")
from tests.dbfixtures import Cli, write_config  # noqa: E402
from tests.paths import ROOT  # noqa: E402
from tests.plan_rows import add_alert, add_task, as_day  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]
pytestmark = pytest.mark.slow

LONDON = ZoneInfo("Europe/London")
# Every wait ends on an event (a log line, a ledger row, the lease row); DEADLINE only bounds a hung process.
DEADLINE = 300
START_MARGIN = 30  # s from scheduling a daily time to its minute: a process start on a busy machine fits
# Long enough that a loaded machine never lets a live holder's lease lapse (on SQLite its renewal queues
# behind the catch-up's write lock), short enough that the take-over after a SIGKILL comes within seconds.
LEASE_SECONDS = 10


def clinic_today() -> date:
    return datetime.now(UTC).astimezone(LONDON).date()


def config(directory: Path, daily_at: str = "00:00") -> Path:
    return write_config(directory, f"""
[scheduler]
daily_at = "{daily_at}"
lease_seconds = {LEASE_SECONDS}
""")


class Scheduler:
    """A `bonemon scheduler start` subprocess whose stderr is collected line by line."""

    def __init__(self, cli: Cli, cfg: Path, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BONEMON_")}
        env["PYTHONPATH"] = str(ROOT)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli.main", "--db", cli.url, "--config", str(cfg), "--user", "scheduler",
             "scheduler", "start"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd, env=env)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout: float = DEADLINE) -> None:
        wait_until(lambda: any(text in line for line in self.lines), timeout,
                   lambda: f"{text!r} in the log:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


def wait_until(condition: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    """Poll `condition`; on time-out, describe `what` as it is then (the logs so far, not those at the start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what()}")


@pytest.fixture
def processes() -> Iterator[list[Scheduler]]:
    started: list[Scheduler] = []
    yield started
    for s in started:
        s.kill()


def ledger(cli: Cli) -> list[tuple[date, str, str, int]]:
    return [(as_day(d), o, t, a) for d, o, t, a in cli.sql(
        "SELECT business_date, outcome, trigger, attempts FROM daily_run WHERE clinic = '*' ORDER BY id")]


def done(cli: Cli, day: date) -> bool:
    return any(d == day and o in ("ok", "partial") for d, o, *_ in ledger(cli))


def status(cli: Cli, cfg: Path) -> dict:
    return cli.json("scheduler", "status", "--json", config=cfg)


def seed(cli: Cli, cfg: Path, day: date) -> None:
    """Two patients with open items, and a ledger whose newest date is `day`."""
    from db.engine import make_engine

    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    cli.ok("patient", "add", "P2", "--birth-date", "1951-01-01", "--clinic", "north")
    cli.sql("UPDATE task SET active = false")  # only the items below
    cli.sql("UPDATE alert SET active = false")
    engine = make_engine(cli.url)
    try:
        for mrn, pid in cli.sql("SELECT mrn, id FROM patient"):
            add_task(engine, pid, day - timedelta(days=30), day + timedelta(days=1), rule=f"T{mrn}")
            add_alert(engine, pid)
    finally:
        engine.dispose()
    cli.sql("UPDATE plan_state SET valid_until = '9999-12-31', as_of = '2025-01-01'")  # no replans
    cli.ok("remind", "--as-of", day.isoformat(), config=cfg)


# --------------------------------------------------------------------------- catch-up and a clean stop


def test_scheduler_down_three_days_runs_those_three_dates_once_each_in_order_then_stops_cleanly(
    cli: Cli, tmp_path: Path, processes
):
    cfg = config(tmp_path)
    today = clinic_today()
    seed(cli, cfg, today - timedelta(days=3))
    reminders_before = cli.scalar("SELECT count(*) FROM reminder")

    scheduler = Scheduler(cli, cfg, tmp_path)
    processes.append(scheduler)
    wait_until(lambda: done(cli, today), DEADLINE, lambda: f"the run of {today}:\n{scheduler.log()}")
    scheduler.wait_for_line("daily job added")

    assert ledger(cli) == [(today - timedelta(days=3), "ok", "remind", 1)] + [
        (today - timedelta(days=k), "ok", "catch-up", 1) for k in (2, 1, 0)]
    # each task became overdue once during the outage: one new reminder per task, none duplicated
    assert cli.scalar("SELECT count(*) FROM reminder") == reminders_before + 2
    doc = status(cli, cfg)
    assert str(scheduler.pid) in doc["lease_holder"]
    next_run = datetime.fromisoformat(doc["next_run"]).astimezone(LONDON)
    assert (next_run.date(), next_run.hour, next_run.minute) == (today + timedelta(days=1), 0, 0)

    assert scheduler.stop(signal.SIGTERM) == 0
    assert "scheduler stopped" in scheduler.log() and "Traceback" not in scheduler.log()
    assert status(cli, cfg)["lease_holder"] is None
    stored_job = cli.sql("SELECT next_run_time, job_state FROM apscheduler_jobs")

    again = Scheduler(cli, cfg, tmp_path)
    processes.append(again)
    again.wait_for_line("daily job kept")
    assert again.stop(signal.SIGINT) == 0
    assert len(ledger(cli)) == 4  # nothing was missed, nothing ran again
    assert cli.sql("SELECT next_run_time, job_state FROM apscheduler_jobs") == stored_job  # not re-registered


def test_a_job_stored_by_an_older_bonemon_is_replaced_at_start_without_a_traceback(cli: Cli, tmp_path: Path,
                                                                                    processes):
    import pickle

    cfg = config(tmp_path)
    first = Scheduler(cli, cfg, tmp_path)
    processes.append(first)
    first.wait_for_line("daily job added")
    assert first.stop() == 0
    [(blob,)] = cli.sql("SELECT job_state FROM apscheduler_jobs")
    state = pickle.loads(blob)
    state["func"] = "monitor.jobs:daily_job"  # the reference before monitor/ was split into packages
    cli.sql("UPDATE apscheduler_jobs SET job_state = :s", s=pickle.dumps(state))

    again = Scheduler(cli, cfg, tmp_path)
    processes.append(again)
    again.wait_for_line("daily job replaced")
    assert again.stop() == 0

    assert "Traceback" not in again.log() and "Unable to restore" not in again.log()
    [(blob,)] = cli.sql("SELECT job_state FROM apscheduler_jobs")
    assert pickle.loads(blob)["func"] == "monitor.scheduler.process:daily_job"
    assert status(cli, cfg)["next_run"] is not None


def test_the_daily_trigger_fires_and_runs_today(cli: Cli, tmp_path: Path, processes):
    now = datetime.now(UTC).astimezone(LONDON)
    # The next whole minute at least START_MARGIN ahead: a loaded machine takes seconds to start a process.
    fire = (now + timedelta(seconds=START_MARGIN + 59)).replace(second=0, microsecond=0)
    if fire.date() != now.date() or fire.hour == 1:
        pytest.skip("too close to midnight or the DST hour to schedule a minute or two ahead")
    cfg = config(tmp_path, daily_at=fire.strftime("%H:%M"))
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")

    scheduler = Scheduler(cli, cfg, tmp_path)
    processes.append(scheduler)
    scheduler.wait_for_line("daily job added")
    assert ledger(cli) == []  # an empty ledger has missed nothing
    assert datetime.fromisoformat(status(cli, cfg)["next_run"]) == fire, "registered too late for today's fire"
    wait_until(lambda: done(cli, now.date()), (fire - now).total_seconds() + DEADLINE,
               lambda: f"the scheduled run at {fire}:\n{scheduler.log()}")

    assert ledger(cli) == [(now.date(), "ok", "scheduler", 1)]
    assert scheduler.stop() == 0


# --------------------------------------------------------------------------- two instances


def test_two_schedulers_on_one_database_run_each_date_once_and_the_standby_takes_over(
    cli: Cli, tmp_path: Path, processes
):
    cfg = config(tmp_path)
    today = clinic_today()
    seed(cli, cfg, today - timedelta(days=3))

    first, second = Scheduler(cli, cfg, tmp_path), Scheduler(cli, cfg, tmp_path)
    processes += [first, second]
    wait_until(lambda: done(cli, today), DEADLINE, lambda: f"the run of {today}:\n{first.log()}\n---\n{second.log()}")
    holder_pid = int(status(cli, cfg)["lease_holder"].split(":")[1])
    holder, standby = (first, second) if holder_pid == first.pid else (second, first)
    holder.wait_for_line("daily job added")  # stored before the kill: the standby then finds it, never adds it
    standby.wait_for_line("standby: the lease is held by")

    assert ledger(cli) == [(today - timedelta(days=3), "ok", "remind", 1)] + [
        (today - timedelta(days=k), "ok", "catch-up", 1) for k in (2, 1, 0)]
    assert not any("caught up" in line for line in standby.lines)

    holder.kill()  # SIGKILL: no release, the lease must expire
    wait_until(lambda: str(standby.pid) in (status(cli, cfg)["lease_holder"] or ""), DEADLINE,
               lambda: f"the standby to take over:\n{standby.log()}")
    standby.wait_for_line("daily job kept")

    assert len(ledger(cli)) == 4  # the new holder found nothing missed
    assert standby.stop() == 0
    assert status(cli, cfg)["lease_holder"] is None
