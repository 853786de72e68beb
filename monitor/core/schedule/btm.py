"""Bone-turnover-marker due windows (docs/rules.md B1–B4, BTM-PANEL): the one open BTM task, first of
B1 > B3 > B2-dmab > B2-first > B2 > B4.

Pure. Any marker of `btm.panel` or `btm.accepted` completes the open task; markers drawn on one day
count as one draw. A marker on the day of a dose or start belongs to the time before it (same-day
pre-dose draws are the norm). No BMA, no holiday and no transition: no BTM task.

- B1: before the first BMA dose ever (a planned course uses its planned start). Satisfied by a
  marker from first dose − 90 d on (late if after the planned start while the plan is still a plan);
  once the first dose is given without one, no task and the plan flag BASELINE_BTM_MISSING.
- B3: after a documented denosumab stop, the two checks counted from the first BP dose or course
  start on or after the stop. The first check's anchor is that BP start; the second's is the first
  check's target (so the two have distinct identities); both windows count from the BP start.
- B2-dmab: on denosumab, at the next dose visit (dose target ± 28 d), anchored on the last dose.
  It replaces B2-first and B2 on denosumab: once a marker is drawn after the last dose, no BTM task
  is open until the next dose.
- B2-first / B2: on any other BMA, counted from the start of the latest active BMA course (a start
  or switch); B2-first until a marker is drawn after that start, then B2 from the last marker.
- B4: during a BP holiday, two checks at holiday start + 6 m and + 12 m (± 30 d); identities as B3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from monitor.core.dates import add_days, add_months
from monitor.core.domain import Task as T
from monitor.core.domain import TaskKind
from monitor.core.schedule.doses import denosumab_stop
from monitor.core.schedule.holiday import holiday_of, on_bisphosphonate
from monitor.core.timeline import BMA_DRUGS, Timeline, first_after

BTM = TaskKind.BTM


@dataclass(frozen=True, slots=True)
class Baseline:
    task: T | None  # the B1 task, with done_on when a baseline marker was drawn
    missing: bool  # the first dose was given with no baseline marker in the window


def baseline(tl: Timeline) -> Baseline:
    """B1 for the first BMA dose ever, given or planned."""
    first = tl.bma_events[0] if tl.bma_events else None
    if first is None:
        plans = [c.planned_start for c in tl.courses
                 if c.drug in BMA_DRUGS and c.start is None and c.planned_start is not None and c.stop is None]
        if not plans:
            return Baseline(None, False)
        target, what = min(plans), "planned BMA start"
    else:
        target, what = first, "first BMA dose"
    earliest = add_days(target, -tl.policy.btm.b1_earliest_days)
    done = first_after(tl.marker_dates, earliest)
    if first is not None and (done is None or done > first):
        return Baseline(None, True)
    task = T(BTM, "B1", target, earliest, target, target,
             f"Baseline bone turnover markers before the {what} on {target}", done_on=done)
    return Baseline(task, False)


def _checks(rule: str, start: date, months: list[int], markers: list[date], early: int, late: int,
            why: str) -> T | None:
    """The next of a fixed series of checks at start + months[i], counted by the draws after start."""
    i = len(markers) - _index_after(markers, start)  # draws since the start
    if i >= len(months):
        return None
    target = add_months(start, months[i])
    anchor = start if i == 0 else add_months(start, months[i - 1])
    return T(BTM, rule, anchor, add_days(target, -early), target, add_days(target, late),
             f"{why}: check {i + 1} of {len(months)} at {months[i]} months", grace_days=late)


def _index_after(days: list[date], day: date) -> int:
    for i, d in enumerate(days):
        if d > day:
            return i
    return len(days)


def _b3(tl: Timeline) -> T | None:
    stop = denosumab_stop(tl)
    if stop is None or stop.bp_start is None or not on_bisphosphonate(tl):
        return None
    b = tl.policy.btm
    return _checks("B3", stop.bp_start, b.b3_months, tl.marker_dates, b.grace_days, b.grace_days,
                   f"Denosumab stopped, bisphosphonate from {stop.bp_start}")


def _b2_dmab(tl: Timeline) -> T | None:
    last = tl.dmab_dates[-1]
    if first_after(tl.marker_dates, last, inclusive=False) is not None:
        return None
    b = tl.policy.btm
    target = add_months(last, tl.policy.denosumab.interval_months)
    return T(BTM, "B2-dmab", last, add_days(target, -b.dmab_window_days), target,
             add_days(target, b.dmab_window_days),
             f"On denosumab: markers before the next dose due {target}", grace_days=b.dmab_window_days)


def _b2(tl: Timeline) -> T | None:
    active = [c for c in tl.active(tl.courses) if c.drug in BMA_DRUGS]
    if not active:
        return None
    b = tl.policy.btm
    start = max(c.start for c in active)  # type: ignore[type-var]
    last = tl.marker_dates[-1] if tl.marker_dates else None
    if last is None or last <= start:
        target = add_months(start, b.b2_first_target_months)
        latest = add_days(add_months(start, b.b2_first_latest_months), b.grace_days)
        return T(BTM, "B2-first", start, add_days(target, -b.grace_days), target, latest,
                 f"First on-treatment markers after the BMA start on {start}", grace_days=b.grace_days)
    target = add_months(last, b.b2_target_months)
    return T(BTM, "B2", last, add_months(last, b.b2_earliest_months), target, add_days(target, b.grace_days),
             f"On a BMA: markers {b.b2_target_months} months after the last draw on {last}", grace_days=b.grace_days)


def _b4(tl: Timeline) -> T | None:
    hol = holiday_of(tl)
    if hol is None:
        return None
    b = tl.policy.btm
    return _checks("B4", hol.start, b.b4_months, tl.marker_dates, b.b4_window_days, b.b4_window_days,
                   f"Bisphosphonate holiday since {hol.start}")


def btm_task(tl: Timeline) -> T | None:
    """The open BTM task: the first applicable, unsatisfied rule of B1 > B3 > B2-dmab > B2-first > B2 > B4."""
    b1 = baseline(tl).task
    if b1 is not None and b1.done_on is None:
        return b1
    if not tl.bma_events:
        return None
    b3 = _b3(tl)
    if b3 is not None:
        return b3
    if tl.on_denosumab():
        return _b2_dmab(tl)
    if holiday_of(tl) is None:
        b2 = _b2(tl)
        if b2 is not None:
            return b2
    return _b4(tl)
