"""Where a task stands on a day: its status and, once overdue, its reminder stage. The one home of both.

Status is derived, never stored (healthchecks' `get_status`): terminal states first (done by a fact
or by hand), then a snooze, then the window (upcoming before `earliest`, due through `latest`,
overdue after). The reminder stage escalates an overdue task once it has been overdue strictly
longer than `[reminders] escalate_high_after_days` / `escalate_critical_after_days`; each stage has
one severity. The daily run evaluates the same rules in SQL (db/reminders.py), and a test checks the
SQL against these functions on every boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from monitor.core.domain import Severity, Task, TaskStatus


def task_status(task: Task, as_of: date, *, snoozed_until: date | None = None,
                manual_done_on: date | None = None) -> TaskStatus:
    """The task's status on `as_of`; `manual_done_on` is staff's "done" when no fact completed it."""
    done_on = task.done_on if task.done_on is not None and task.done_on <= as_of else None
    if done_on is None and manual_done_on is not None and manual_done_on <= as_of:
        done_on = manual_done_on
    if done_on is not None:
        return TaskStatus.DONE_LATE if done_on > task.latest else TaskStatus.DONE
    if snoozed_until is not None and as_of <= snoozed_until:
        return TaskStatus.SNOOZED
    if as_of < task.earliest:
        return TaskStatus.UPCOMING
    if as_of <= task.latest:
        return TaskStatus.DUE
    return TaskStatus.OVERDUE


class Stage(StrEnum):
    """The reminder stage of an open task (alerts have their own severity)."""

    DUE = "due"
    OVERDUE = "overdue"
    OVERDUE_HIGH = "overdue-high"
    OVERDUE_CRITICAL = "overdue-critical"


STAGE_SEVERITY = {Stage.DUE: Severity.WARN, Stage.OVERDUE: Severity.WARN, Stage.OVERDUE_HIGH: Severity.HIGH,
                  Stage.OVERDUE_CRITICAL: Severity.CRITICAL}
ESCALATED = (Stage.OVERDUE_HIGH, Stage.OVERDUE_CRITICAL)


@dataclass(frozen=True, slots=True)
class Escalation:
    """Days overdue after which a task's reminder is raised (strictly longer than this many days)."""

    high_after_days: int
    critical_after_days: int

    def cuts(self, day: date) -> tuple[date, date]:
        """(high, critical): on `day` a task is escalated when its `latest` is before the cut."""
        return day - timedelta(days=self.high_after_days), day - timedelta(days=self.critical_after_days)


def reminder_stage(latest: date, day: date, escalation: Escalation) -> Stage:
    """The stage on `day` of an open task whose window closes on `latest`."""
    if latest >= day:
        return Stage.DUE
    high_cut, critical_cut = escalation.cuts(day)
    if latest < critical_cut:
        return Stage.OVERDUE_CRITICAL
    if latest < high_cut:
        return Stage.OVERDUE_HIGH
    return Stage.OVERDUE
