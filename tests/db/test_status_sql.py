"""The daily run's SQL derives exactly what monitor.core.status derives, on every boundary, on both backends.

One stored task per boundary case (window opening, closing, each escalation cut the day before, on
and after it; done by a fact or by hand the day before, on and after; a snooze ending); the status
step of the daily run (db.reminders.derive_statuses) must list exactly the tasks `task_status` calls
due or overdue, each at `reminder_stage` with its STAGE_SEVERITY.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

pytest.register_assert_rewrite("tests.dbfixtures")
from monitor.core.domain import Task, TaskKind, TaskStatus  # noqa: E402
from monitor.core.status import STAGE_SEVERITY, Escalation, reminder_stage, task_status  # noqa: E402
from tests.plan_rows import add_patient, add_task  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]

DAY = date(2025, 6, 2)
ESC = Escalation(high_after_days=30, critical_after_days=90)
ONE = timedelta(days=1)


def _cases() -> list[dict]:
    """(earliest, latest, done_on, manual_done_on, snoozed_until) around every boundary of DAY."""
    high_cut, critical_cut = ESC.cuts(DAY)
    cases = []
    for latest in (DAY + ONE, DAY, DAY - ONE, high_cut + ONE, high_cut, high_cut - ONE,
                   critical_cut + ONE, critical_cut, critical_cut - ONE):
        cases.append({"earliest": latest - timedelta(days=60), "latest": latest})
    for earliest in (DAY - ONE, DAY, DAY + ONE):
        cases.append({"earliest": earliest, "latest": DAY + timedelta(days=30)})
    for field in ("done_on", "manual_done_on", "snoozed_until"):
        for day in (DAY - ONE, DAY, DAY + ONE):
            cases.append({"earliest": DAY - timedelta(days=40), "latest": DAY - timedelta(days=10), field: day})
    return cases


CASES = _cases()


@pytest.fixture
def engine(db_url: str) -> Iterator[sa.Engine]:
    from db.engine import make_engine
    from db.migrate import upgrade

    eng = make_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()


def test_the_status_step_of_the_daily_run_agrees_with_the_pure_status_functions(engine):
    from db.engine import write_session
    from db.reminders import derive_statuses, drop_statuses

    pid = add_patient(engine, "P1")
    expected = {}
    for i, case in enumerate(CASES):
        columns = {k: v for k, v in case.items() if k not in ("earliest", "latest")}
        task_id = add_task(engine, pid, case["earliest"], case["latest"], rule=f"D3-{i}", **columns)
        task = Task(TaskKind.DXA, "D3", case["earliest"], case["earliest"], case["latest"], case["latest"], "r",
                    done_on=case.get("done_on"))
        status = task_status(task, DAY, snoozed_until=case.get("snoozed_until"),
                             manual_done_on=case.get("manual_done_on"))
        if status in (TaskStatus.DUE, TaskStatus.OVERDUE):
            stage = reminder_stage(case["latest"], DAY, ESC)
            expected[task_id] = (stage.value, STAGE_SEVERITY[stage].value)
    with write_session(engine) as session:
        statuses = derive_statuses(session, day=DAY, escalation=ESC, clinic=None)
        got = {r.task_id: (r.stage, r.severity) for r in session.execute(sa.select(statuses))}
        drop_statuses(session, statuses)
    assert got == expected
    assert {stage for stage, _ in got.values()} == {"due", "overdue", "overdue-high", "overdue-critical"}


@pytest.mark.parametrize(("latest", "stage"), [
    (DAY, "due"), (DAY - ONE, "overdue"), (DAY - timedelta(days=30), "overdue"),
    (DAY - timedelta(days=31), "overdue-high"), (DAY - timedelta(days=90), "overdue-high"),
    (DAY - timedelta(days=91), "overdue-critical"),
])
def test_a_reminder_escalates_once_overdue_strictly_longer_than_the_configured_days(latest, stage):
    assert reminder_stage(latest, DAY, ESC).value == stage
