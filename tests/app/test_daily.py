"""The daily run (monitor.app.daily, db.reminders) on SQLite and PostgreSQL, with an explicit `now`.

Statuses are derived from the dates of each task; reminders have natural keys; a date runs once;
a bad patient is skipped and named; a run killed mid-way is completed by the next one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

pytest.register_assert_rewrite("tests.dbfixtures")
from tests.dbfixtures import raw_engine, sql  # noqa: E402
from tests.paths import ROOT  # noqa: E402
from tests.plan_rows import NOW, add_alert, add_patient, add_task, as_day  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]

D = date(2025, 6, 2)


# --------------------------------------------------------------------------- fixtures and builders


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    from db.engine import make_engine
    from db.migrate import upgrade

    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def settings():
    from monitor.settings import load_settings

    return load_settings()


def context(settings, now: datetime = NOW):
    from monitor.app.context import Context

    return Context(settings=settings, user="tester", now=now)


def run(engine, settings, day: date = D, clinic: str | None = None, now: datetime = NOW):
    from monitor.app.daily import run_daily

    return run_daily(engine, context(settings, now), clinic=clinic, day=day, trigger="remind")


def reminders(url: str) -> list[tuple]:
    """(task_id, alert_id, stage, severity, run_id, business_date) of every reminder, oldest first."""
    from db.models import ReminderRow

    t = ReminderRow.__table__
    engine = raw_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                sa.select(t.c.task_id, t.c.alert_id, t.c.stage, t.c.severity, t.c.run_id, t.c.business_date)
                .order_by(t.c.id))]
    finally:
        engine.dispose()


def worklist(engine, settings, day: date = D, clinic: str | None = None, run_id: int | None = None) -> list[dict]:
    """The worklist rows as dicts (acknowledged and new as bools)."""
    from db.engine import read_session
    from db.reminders import WORKLIST_COLUMNS, worklist_rows
    from monitor.app.daily import escalation

    with read_session(engine) as session:
        rows = worklist_rows(session, day=day, escalation=escalation(settings), clinic=clinic, run_id=run_id)
    out = [dict(zip(WORKLIST_COLUMNS, row, strict=True)) for row in rows]
    for row in out:
        row["acknowledged"], row["new"] = bool(row["acknowledged"]), bool(row["new"])
    return out


# --------------------------------------------------------------------------- status from dates


LATEST = date(2025, 3, 31)
EARLIEST = date(2025, 1, 1)


@pytest.mark.parametrize(("day", "columns", "expected"), [
    (EARLIEST - timedelta(days=1), {}, None),                                   # upcoming: not on the worklist
    (EARLIEST, {}, ("due", "due", "warn")),                                     # window opens
    (LATEST, {}, ("due", "due", "warn")),                                       # last day of the window
    (LATEST + timedelta(days=1), {}, ("overdue", "overdue", "warn")),           # first day overdue
    (LATEST + timedelta(days=30), {}, ("overdue", "overdue", "warn")),          # 30 days is not longer than 30
    (LATEST + timedelta(days=31), {}, ("overdue", "overdue-high", "high")),     # escalate_high_after_days = 30
    (LATEST + timedelta(days=90), {}, ("overdue", "overdue-high", "high")),
    (LATEST + timedelta(days=91), {}, ("overdue", "overdue-critical", "critical")),  # escalate_critical = 90
    (LATEST, {"done_on": LATEST}, None),                                        # done on the day
    (LATEST, {"done_on": LATEST + timedelta(days=1)}, ("due", "due", "warn")),  # done later: open that day
    (LATEST, {"manual_done_on": EARLIEST}, None),                               # marked done by staff
    (LATEST, {"snoozed_until": LATEST}, None),                                  # snoozed through the day
    (LATEST, {"snoozed_until": LATEST - timedelta(days=1)}, ("due", "due", "warn")),  # snooze ended
    (LATEST, {"active": False}, None),                                          # no longer in the plan
])
def test_a_tasks_status_stage_and_severity_follow_from_its_dates(engine, settings, day, columns, expected):
    pid = add_patient(engine, "P1")
    add_task(engine, pid, EARLIEST, LATEST, **columns)

    rows = worklist(engine, settings, day=day)

    got = [(r["status"], r["stage"], r["severity"]) for r in rows]
    assert got == ([] if expected is None else [expected])


def test_an_acknowledged_task_stays_on_the_worklist_marked(engine, settings):
    pid = add_patient(engine, "P1")
    add_task(engine, pid, EARLIEST, LATEST, acked_at=NOW.replace(tzinfo=None))

    (row,) = worklist(engine, settings, day=LATEST)

    assert row["acknowledged"] is True and row["status"] == "due"


# --------------------------------------------------------------------------- reminders and the ledger


def test_the_same_date_run_twice_creates_no_new_reminders(engine, settings, db_url):
    pid = add_patient(engine, "P1")
    add_task(engine, pid, D - timedelta(days=10), D + timedelta(days=10))
    add_task(engine, pid, D - timedelta(days=100), D - timedelta(days=40), rule="V1", kind="risk_review")
    add_alert(engine, pid)

    first = run(engine, settings)
    before = reminders(db_url)
    second = run(engine, settings, now=NOW + timedelta(hours=3))

    assert (first.outcome, first.created, first.already_done) == ("ok", 3, False)
    assert (second.run_id, second.created, second.already_done) == (first.run_id, 0, True)
    assert reminders(db_url) == before
    assert sql(db_url, "SELECT count(*) FROM daily_run")[0][0] == 1
    assert (first.due, first.overdue, first.escalated, first.alerts) == (1, 1, 1, 1)


def test_reminders_record_their_run_and_business_date(engine, settings, db_url):
    pid = add_patient(engine, "P1")
    task = add_task(engine, pid, D - timedelta(days=10), D + timedelta(days=10))
    alert = add_alert(engine, pid, severity="warn")

    result = run(engine, settings)

    assert sorted(reminders(db_url), key=str) == sorted([
        (task, None, "due", "warn", result.run_id, D),
        (None, alert, "alert", "warn", result.run_id, D),
    ], key=str)


def test_each_stage_of_an_overdue_task_is_reminded_once(engine, settings, db_url):
    pid = add_patient(engine, "P1")
    latest = date(2025, 1, 31)
    task = add_task(engine, pid, date(2024, 12, 1), latest)
    days = [latest, latest + timedelta(days=1), latest + timedelta(days=2), latest + timedelta(days=31),
            latest + timedelta(days=60), latest + timedelta(days=91), latest + timedelta(days=92)]

    created = [run(engine, settings, day=d).created for d in days]

    assert created == [1, 1, 0, 1, 0, 1, 0]
    assert [(r[0], r[2], r[3], r[5]) for r in reminders(db_url)] == [
        (task, "due", "warn", latest),
        (task, "overdue", "warn", latest + timedelta(days=1)),
        (task, "overdue-high", "high", latest + timedelta(days=31)),
        (task, "overdue-critical", "critical", latest + timedelta(days=91)),
    ]


def test_an_alert_is_reminded_again_only_when_its_severity_changes(engine, settings, db_url):
    pid = add_patient(engine, "P1")
    alert = add_alert(engine, pid, severity="warn")
    run(engine, settings, day=D)
    sql(db_url, "UPDATE alert SET severity = 'block' WHERE id = :a", a=alert)
    run(engine, settings, day=D + timedelta(days=1))
    run(engine, settings, day=D + timedelta(days=2))

    assert [(r[1], r[3]) for r in reminders(db_url)] == [(alert, "warn"), (alert, "block")]


def test_snoozed_and_done_tasks_get_no_reminder(engine, settings, db_url):
    pid = add_patient(engine, "P1")
    add_task(engine, pid, D - timedelta(days=5), D + timedelta(days=5), snoozed_until=D + timedelta(days=3))
    add_task(engine, pid, D - timedelta(days=5), D + timedelta(days=5), rule="B2", kind="btm", done_on=D)
    add_task(engine, pid, D + timedelta(days=1), D + timedelta(days=5), rule="V1", kind="risk_review")

    assert run(engine, settings).created == 0
    assert reminders(db_url) == []


def test_a_clinic_run_reminds_only_that_clinic_and_has_its_own_ledger_row(engine, settings, db_url):
    north = add_task(engine, add_patient(engine, "N1", clinic="north"), D, D)
    main = add_task(engine, add_patient(engine, "M1", clinic="main"), D, D)

    first = run(engine, settings, clinic="north")
    everyone = run(engine, settings)

    assert [r[0] for r in reminders(db_url)] == [north, main]
    assert (first.created, everyone.created) == (1, 1)
    ledger = sorted((c, as_day(d)) for c, d in sql(db_url, "SELECT clinic, business_date FROM daily_run"))
    assert ledger == [("*", D), ("north", D)]
    assert [r["mrn"] for r in worklist(engine, settings, clinic="north")] == ["N1"]


def test_the_worklist_marks_what_this_run_created(engine, settings):
    pid = add_patient(engine, "P1")
    add_task(engine, pid, D - timedelta(days=9), D - timedelta(days=1))
    first = run(engine, settings, day=D - timedelta(days=1))
    add_task(engine, pid, D, D + timedelta(days=5), rule="B2", kind="btm")
    second = run(engine, settings, day=D)

    rows = {r["rule"]: r for r in worklist(engine, settings, day=D, run_id=second.run_id)}

    assert first.run_id != second.run_id
    assert (rows["D3"]["new"], rows["D3"]["stage"]) == (True, "overdue")
    assert rows["B2"]["new"] is True
    rows = {r["rule"]: r for r in worklist(engine, settings, day=D, run_id=first.run_id)}
    assert rows["B2"]["new"] is False


# --------------------------------------------------------------------------- replanning and bad records


def _real_patients(engine, settings, mrns: list[str]) -> dict[str, int]:
    """Patients written through the service (their plans made by the planner), then all expired on D."""
    from db.engine import write_session
    from monitor.app import facts as service
    from monitor.app import patients
    from monitor.core.domain import DxaRoi, DxaSite, Menopause, Patient, Sex

    ctx = context(settings, datetime(2025, 5, 1, 11, tzinfo=UTC))
    ids = {}
    with write_session(engine) as session:
        for mrn in mrns:
            ids[mrn] = patients.add_patient(session, ctx, Patient(mrn, date(1955, 3, 1), Sex.FEMALE, Menopause.POST))
            service.record_fact(session, ctx, mrn, DxaRoi(date(2025, 4, 1), DxaSite.TOTAL_HIP, t_score=Decimal("-1.8")))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE plan_state SET valid_until = :d"), {"d": D})
    return ids


def test_expired_plans_are_replanned_by_the_run(engine, settings, db_url):
    _real_patients(engine, settings, ["P1", "P2"])

    result = run(engine, settings)

    assert (result.outcome, result.replanned, result.replan_failed) == ("ok", 2, 0)
    assert all(as_day(r[0]) > D for r in sql(db_url, "SELECT valid_until FROM plan_state"))


def test_one_bad_patient_record_is_skipped_and_named_in_the_ledger(engine, settings, db_url):
    ids = _real_patients(engine, settings, ["P1", "P2", "P3"])
    sql(db_url, "UPDATE dxa SET site = 'moon' WHERE patient_id = :p", p=ids["P2"])  # unreadable fact

    result = run(engine, settings)

    assert (result.outcome, result.replanned, result.replan_failed) == ("partial", 2, 1)
    assert [m for m, _ in result.problems] == ["P2"]
    assert "moon" in result.problems[0][1]
    (stored,) = sql(db_url, "SELECT outcome, problems FROM daily_run")
    assert stored[0] == "partial" and json.loads(stored[1])[0]["mrn"] == "P2"
    valid = {p: as_day(v) for p, v in sql(db_url, "SELECT patient_id, valid_until FROM plan_state")}
    assert valid[ids["P1"]] > D and valid[ids["P3"]] > D and valid[ids["P2"]] == D  # P2 is retried tomorrow


def test_a_run_that_fails_is_marked_failed_then_completed_by_the_next_run(engine, settings, db_url, monkeypatch):
    import monitor.app.daily

    add_task(engine, add_patient(engine, "P1"), D, D)
    original = monitor.app.daily.insert_reminders

    def broken(*args, **kwargs):
        original(*args, **kwargs)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(monitor.app.daily, "insert_reminders", broken)
    with pytest.raises(RuntimeError):
        run(engine, settings)
    assert sql(db_url, "SELECT outcome, attempts FROM daily_run") == [("failed", 1)]
    assert reminders(db_url) == []  # the failed run's writes were rolled back

    monkeypatch.setattr(monitor.app.daily, "insert_reminders", original)
    result = run(engine, settings)

    assert (result.outcome, result.created, result.attempts) == ("ok", 1, 2)
    assert len(reminders(db_url)) == 1


# --------------------------------------------------------------------------- killed mid-way


KILLED_MID_RUN = textwrap.dedent("""
    import sys, time
    from datetime import UTC, date, datetime
    import monitor.app.daily as daily
    from db.engine import make_engine
    from monitor.app.context import Context
    from monitor.settings import load_settings

    original = daily.status_counts

    def counts_then_hang(*args, **kwargs):
        out = original(*args, **kwargs)
        print("reminders written, not committed", flush=True)
        time.sleep(600)
        return out

    daily.status_counts = counts_then_hang
    ctx = Context(settings=load_settings(), user="killed", now=datetime(2025, 6, 2, 5, 30, tzinfo=UTC))
    daily.run_daily(make_engine(sys.argv[1]), ctx, clinic=None, day=date(2025, 6, 2), trigger="remind")
""")


@pytest.mark.slow
def test_a_run_killed_with_sigkill_mid_way_is_completed_by_the_next_run_with_nothing_lost_or_duplicated(
    engine, settings, db_url, tmp_path
):
    ids = _real_patients(engine, settings, ["P1", "P2"])
    pid = add_patient(engine, "P3")
    add_task(engine, pid, D - timedelta(days=3), D + timedelta(days=3))
    add_alert(engine, pid)
    before = sql(db_url, "SELECT patient_id, valid_until FROM plan_state ORDER BY patient_id")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BONEMON_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_MID_RUN, db_url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        line = proc.stdout.readline().strip()
        assert line == "reminders written, not committed", proc.stderr.read()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    assert sql(db_url, "SELECT outcome, attempts FROM daily_run") == [("running", 1)]
    assert reminders(db_url) == []
    assert sql(db_url, "SELECT patient_id, valid_until FROM plan_state ORDER BY patient_id") == before  # replans undone

    result = run(engine, settings)
    again = run(engine, settings)

    assert (result.outcome, result.attempts, result.replanned) == ("ok", 2, 2)
    assert again.created == 0
    open_items = worklist(engine, settings)
    stored = reminders(db_url)
    assert len(stored) == result.created == len(open_items)
    assert len({(r[0], r[1], r[2], r[3]) for r in stored}) == len(stored)
    assert all(r[4] == result.run_id for r in stored)
    assert "P3" in {r["mrn"] for r in open_items} and set(ids) == {"P1", "P2"}


CONCURRENT_RUNNER = textwrap.dedent("""
    import sys
    from datetime import UTC, date, datetime
    from db.engine import make_engine
    from monitor.scheduler.business_dates import run_pending
    from monitor.settings import load_settings

    print("ready", flush=True)
    sys.stdin.readline()  # both processes start together
    results = run_pending(make_engine(sys.argv[1]), load_settings(), now=datetime(2025, 6, 2, 9, tzinfo=UTC),
                          trigger="remind")
    print(",".join(f"{r.business_date}:{r.created}:{int(r.already_done)}" for r in results), flush=True)
""")


@pytest.mark.slow
def test_two_processes_running_the_same_dates_at_once_run_each_date_once(engine, settings, db_url, tmp_path):
    pid = add_patient(engine, "P1")
    add_task(engine, pid, D - timedelta(days=30), D - timedelta(days=2))
    add_alert(engine, pid)
    run(engine, settings, day=D - timedelta(days=4))
    env = {k: v for k, v in os.environ.items() if not k.startswith("BONEMON_")}
    env["PYTHONPATH"] = str(ROOT)
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_RUNNER, db_url], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
             for _ in range(2)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    outputs = [p.communicate(timeout=120) for p in procs]

    assert [p.returncode for p in procs] == [0, 0], outputs
    ledger = sorted((as_day(d), o) for d, o in sql(db_url, "SELECT business_date, outcome FROM daily_run"))
    assert ledger == [(D - timedelta(days=k), "ok") for k in (4, 3, 2, 1, 0)]
    stored = reminders(db_url)
    assert len(stored) == 3  # due and alert on D-4, overdue on D-1: each once
    assert len({(r[0], r[1], r[2], r[3]) for r in stored}) == 3
