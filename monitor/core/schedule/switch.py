"""Oral bisphosphonate non-adherence → consider IV zoledronic acid or SC denosumab (docs/rules.md S1).

Pure. Rule S1, kind `adherence_switch`: anchor = earliest = target = the trigger date, latest =
trigger + `switch_latest_days`. Triggers:

- PDC of oral bisphosphonates (any agent, PQA shifting) below the threshold over the last 180 days,
  or over the last 365 days once a full year has passed, evaluated on the monthly anniversaries of
  the index fill of the latest oral BP course once it is ≥ 90 days old (windows never start before
  the index fill); evaluation ends at a documented stop of that course;
- an `oral_bp_intolerance` or `oral_bp_admin_problem` note (undated: dated by the earliest fact);
- no CTX response at B2-first: the first CTX after the oral BP start fell less than 30% from the
  latest CTX on or before that start and is not below the premenopausal upper limit (no baseline:
  no verdict).

Completed by an IV or SC BMA dose or course start on or after the trigger; a trigger on or before a
completed switch is spent. Not open during a holiday or while an IV/SC BMA is running.
"""

from __future__ import annotations

from datetime import date

from monitor.core.adherence import Fill, covered_days
from monitor.core.dates import add_days, add_months
from monitor.core.domain import Dose, MarkerAnalyte, NoteKind, TaskKind
from monitor.core.domain import Task as T
from monitor.core.regimen import Regimen, bp_regimen, iv_schedule
from monitor.core.schedule.doses import current_iv
from monitor.core.schedule.holiday import holiday_of
from monitor.core.therapy import shifted_coverage
from monitor.core.timeline import Horizon, Timeline, first_after

NOTE_TRIGGERS = {NoteKind.ORAL_BP_INTOLERANCE: "oral bisphosphonate intolerance",
                 NoteKind.ORAL_BP_ADMIN_PROBLEM: "cannot follow the oral bisphosphonate dosing instructions"}


def _is_oral_course(tl: Timeline, c) -> bool:
    day = c.start or c.planned_start
    return day is not None and bp_regimen(Dose(c.drug, day, dose_mg=c.dose_mg), c, tl.policy.bp) is Regimen.ORAL


def ivsc_events(tl: Timeline) -> list[date]:
    """Dates of IV or SC BMA doses and course starts."""
    bp = tl.policy.bp
    days = set(tl.dmab_dates)
    days.update(d.date for d in tl.bp_doses if iv_schedule(bp_regimen(d, tl.course_for(d), bp), bp) is not None)
    days.update(c.start for c in tl.bp_courses if c.start is not None and not _is_oral_course(tl, c))
    return sorted(days)


def _pdc_trigger(tl: Timeline, horizon: Horizon | None) -> tuple[date, str] | None:
    oral_courses = [c for c in tl.bp_courses if c.start is not None and _is_oral_course(tl, c)]
    if not oral_courses:
        return None
    course = max(oral_courses, key=lambda c: c.start)
    bp = tl.policy.bp
    fills: list[Fill] = [(d.date, d.days_supply) for d in tl.bp_doses
                         if d.days_supply and bp_regimen(d, tl.course_for(d), bp) is Regimen.ORAL]
    index = next((d for d, _ in fills if d >= course.start), None)  # fills are in date order
    if index is None:
        return None
    a = tl.policy.adherence
    cov = shifted_coverage(fills)
    covered_through = next((c.end for c in cov if c.start <= index <= c.end), index)
    stop = course.stop
    last_end = cov[-1].end
    give_up = add_days(max(last_end, tl.on), a.pdc_long_window_days + a.min_days_on_therapy)
    k = 1
    while True:
        e = add_months(index, k)
        k += 1
        if (stop is not None and e > stop) or e > give_up:
            return None
        days_on = (e - index).days
        if days_on < a.min_days_on_therapy or e <= covered_through:
            continue
        for window in (a.pdc_window_days, a.pdc_long_window_days):
            if window == a.pdc_long_window_days and days_on < window - 1:
                continue
            start = max(index, add_days(e, -(window - 1)))
            value = covered_days(cov, start, e) / ((e - start).days + 1)
            if value < a.pdc_threshold:
                if e > tl.on:
                    if horizon is not None:
                        horizon.add(e)
                    return None
                return e, f"oral bisphosphonate PDC {value:.2f} over the last {window} days"


def _ctx_trigger(tl: Timeline) -> tuple[date, str] | None:
    oral_courses = [c for c in tl.bp_courses if c.start is not None and _is_oral_course(tl, c)]
    if not oral_courses:
        return None
    start = max(c.start for c in oral_courses)
    ctx = [m for m in tl.facts.markers if m.analyte is MarkerAnalyte.CTX]
    before = [m for m in ctx if m.date <= start]
    after = [m for m in ctx if m.date > start]
    if not before or not after:
        return None
    b = tl.policy.btm
    base = max(before, key=lambda m: m.date)
    first = min(after, key=lambda m: m.date)
    fall = (base.value - first.value) / base.value * 100 if base.value else 0.0
    if fall < b.response_fall_pct and first.value >= b.ctx_premenopausal_upper_ng_l:
        return first.date, f"no CTX response ({fall:.0f}% fall, {first.value:g} ng/L on {first.date})"
    return None


def switch_tasks(tl: Timeline, horizon: Horizon | None = None) -> tuple[T | None, T | None]:
    """(open task, most recently completed task) of kind adherence_switch."""
    if holiday_of(tl) is not None:
        return None, None
    triggers: list[tuple[date, str]] = []
    for kind, why in NOTE_TRIGGERS.items():
        triggers += [(d, why) for d in tl.notes_of(kind)]
        if kind in tl.undated_notes and (first := tl.earliest_fact()) is not None:
            triggers.append((first, why))
    for found in (_pdc_trigger(tl, horizon), _ctx_trigger(tl)):
        if found is not None:
            triggers.append(found)
    if not triggers:
        return None, None
    triggers.sort()
    switches = ivsc_events(tl)
    days = tl.policy.adherence.switch_latest_days
    open_task = completed = None
    for day, why in triggers:
        if completed is not None and day <= completed.done_on:
            continue
        task = T(TaskKind.ADHERENCE_SWITCH, "S1", day, day, day, add_days(day, days),
                 f"{why[0].upper()}{why[1:]} on {day}: consider IV zoledronic acid or SC denosumab",
                 done_on=first_after(switches, day), grace_days=days)
        if task.done_on is None:
            open_task = task
            break
        completed = task
    if open_task is not None and (tl.on_denosumab() or current_iv(tl) is not None):
        open_task = None
    return open_task, completed
