"""Denosumab given late or stopped without a bisphosphonate: ALERT-DMAB-LATE, -LONG and -REBOUND.

- ALERT-DMAB-LATE (high) from the N1 target + `[denosumab] on_time_days` + 1 d; ALERT-DMAB-LONG
  (critical) from target + `[denosumab] long_delay_days` + 1 d, replacing LATE. Any later dose ends
  both (the N1 task re-anchors on its actual date).
- ALERT-DMAB-REBOUND (critical, rule N4) from the N3 latest + 1 d until the sequential
  bisphosphonate is given.
"""

from __future__ import annotations

from monitor.core.dates import add_days
from monitor.core.domain import Alert, Severity
from monitor.core.domain import Task as T
from monitor.core.timeline import Horizon, Timeline


def denosumab_delay_alert(task: T | None, tl: Timeline, horizon: Horizon) -> Alert | None:
    """ALERT-DMAB-LATE / ALERT-DMAB-LONG for an open N1 task (LONG replaces LATE)."""
    if task is None:
        return None
    p = tl.policy.denosumab
    late = add_days(task.target, p.on_time_days + 1)
    long = add_days(task.target, p.long_delay_days + 1)
    horizon.add(late)
    horizon.add(long)
    if tl.on >= long:
        return Alert("ALERT-DMAB-LONG", Severity.CRITICAL, long,
                     f"Denosumab dose due {task.target} is more than {p.long_delay_days} days late: "
                     "rebound fracture risk, give it now")
    if tl.on >= late:
        return Alert("ALERT-DMAB-LATE", Severity.HIGH, late,
                     f"Denosumab dose due {task.target} is more than {p.on_time_days} days late: give it now")
    return None


def rebound_alert(task: T | None, tl: Timeline, horizon: Horizon) -> Alert | None:
    """N4: no bisphosphonate by the end of the N3 window."""
    if task is None or (task.done_on is not None and task.done_on <= tl.on):
        return None
    since = add_days(task.latest, 1)
    horizon.add(since)
    if tl.on < since:
        return None
    return Alert("ALERT-DMAB-REBOUND", Severity.CRITICAL, since,
                 f"Denosumab stopped with no sequential bisphosphonate by {task.latest}: "
                 "rebound vertebral fracture risk, give a bisphosphonate now")
