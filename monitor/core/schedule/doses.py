"""Dose schedules (docs/rules.md N1–N5, BP-IV): denosumab N1–N5 and IV bisphosphonates.

Pure. Rule ids and readings:

- N1 (`denosumab_dose`): while the latest denosumab course has no documented stop; target = last
  actual dose + 6 m (a course start counts as a dose date), earliest − 28 d, latest + 28 d.
  ALERT-DMAB-LATE (high) from target + 29 d through target + 112 d; ALERT-DMAB-LONG (critical) from
  target + 113 d. Any later dose completes it and re-anchors on its actual date.
- N3 (`sequential_bp`): a documented stop of the latest denosumab course; anchor = last denosumab
  dose, target + 6 m ± 28 d; completed by the first BP dose or BP course start on or after the stop
  (a BP course that was already running needs a dose recorded on or after the stop).
- N4: ALERT-DMAB-REBOUND (critical) from the N3 latest + 1 d until that BP is given.
- N5 (`transition_plan`): on denosumab with an AI: the AI ends at endocrine start + 60 m (+120 m when
  an `endocrine_extend` note exists), or at the last documented AI stop if every AI course has
  stopped sooner. earliest = target = end − 90 d; latest = the end. Completed by a `transition_plan`
  note dated on or after the denosumab course start (and on or after the latest extension note).
- BP-IV (`bp_dose`): next IV bisphosphonate dose of an active course (not during a holiday):
  ZOL 5 mg last + 12 m ± 30 d; ZOL 4 mg last + 6 m ± 28 d until 6 doses in the course; IV
  ibandronate earliest = target = last + 3 m, latest + 28 d. Oral bisphosphonates: no dose task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from monitor.core.dates import add_days, add_months
from monitor.core.domain import Dose, NoteKind, TaskKind
from monitor.core.domain import Task as T
from monitor.core.policy import DenosumabPolicy
from monitor.core.regimen import Regimen, bp_regimen, iv_schedule
from monitor.core.schedule.holiday import holiday_of
from monitor.core.therapy import is_active
from monitor.core.timeline import AI_DRUGS, Timeline, first_after

# --------------------------------------------------------------------------- N1


def _n1(last: date, p: DenosumabPolicy, done_on: date | None = None) -> T:
    target = add_months(last, p.interval_months)
    return T(TaskKind.DENOSUMAB_DOSE, "N1", last, add_days(target, -p.early_days), target,
             add_days(target, p.on_time_days), f"Denosumab every {p.interval_months} months: last dose on {last}",
             done_on=done_on, grace_days=p.on_time_days)


def denosumab_dose_task(tl: Timeline) -> T | None:
    return _n1(tl.dmab_dates[-1], tl.policy.denosumab) if tl.on_denosumab() else None


def denosumab_dose_done(tl: Timeline) -> T | None:
    """The N1 task the last denosumab dose completed: counted from the dose before it, unless a
    documented stop came between (then that dose was a restart, not an N1 dose)."""
    if len(tl.dmab_dates) < 2:
        return None
    prev, last = tl.dmab_dates[-2], tl.dmab_dates[-1]
    if any(c.stop is not None and prev <= c.stop < last for c in tl.dmab_courses):
        return None
    return _n1(prev, tl.policy.denosumab, last)


# --------------------------------------------------------------------------- N3, N4


@dataclass(frozen=True, slots=True)
class DenosumabStop:
    stop: date
    last_dose: date
    bp_start: date | None  # first BP dose or course start on or after the stop


def denosumab_stop(tl: Timeline) -> DenosumabStop | None:
    """The documented stop of the latest denosumab course, if it has one."""
    started = [c for c in tl.dmab_courses if c.start is not None]
    if not started:
        return None
    latest = max(started, key=lambda c: c.start)  # type: ignore[arg-type,return-value]
    if latest.stop is None:
        return None
    stop = latest.stop
    last = max((d for d in tl.dmab_dates if d <= stop), default=latest.start)
    events = [d.date for d in tl.bp_doses if d.date >= stop]
    events += [c.start for c in tl.bp_courses if c.start is not None and c.start >= stop]
    return DenosumabStop(stop, last, min(events) if events else None)  # type: ignore[arg-type]


def sequential_bp_task(tl: Timeline) -> T | None:
    """N3, with done_on when the sequential bisphosphonate was given."""
    s = denosumab_stop(tl)
    if s is None:
        return None
    p = tl.policy.denosumab
    target = add_months(s.last_dose, p.sequential_bp_months)
    return T(TaskKind.SEQUENTIAL_BP, "N3", s.last_dose, add_days(target, -p.sequential_window_days), target,
             add_days(target, p.sequential_window_days),
             f"Denosumab stopped on {s.stop} (last dose {s.last_dose}): sequential bisphosphonate "
             f"{p.sequential_bp_months} months after the last dose", done_on=s.bp_start,
             grace_days=p.sequential_window_days)


# --------------------------------------------------------------------------- N5


def transition_plan_task(tl: Timeline) -> T | None:
    """N5, with done_on when a transition plan was recorded."""
    if not tl.on_denosumab():
        return None
    endocrine = [c.start for c in tl.endocrine_courses if c.start is not None]
    ai = [c for c in tl.endocrine_courses if c.drug in AI_DRUGS and c.start is not None]
    if not endocrine or not ai:
        return None
    e = tl.policy.endocrine
    extended = tl.has_note(NoteKind.ENDOCRINE_EXTEND)
    end = add_months(min(endocrine), e.extended_total_months if extended else e.review_target_months)
    if all(c.stop is not None for c in ai):
        end = min(end, max(c.stop for c in ai))  # type: ignore[type-var]
    target = add_days(end, -tl.policy.denosumab.transition_plan_days)
    dmab_start = max(c.start for c in tl.dmab_courses if c.start is not None)  # type: ignore[type-var]
    extensions = tl.notes_of(NoteKind.ENDOCRINE_EXTEND)
    since = max(dmab_start, extensions[-1]) if extended and extensions else dmab_start
    return T(TaskKind.TRANSITION_PLAN, "N5", end, target, target, end,
             f"AI ends {end} while on denosumab: plan the transition (continue, or a sequential bisphosphonate)",
             done_on=first_after(tl.notes_of(NoteKind.TRANSITION_PLAN), since))


# --------------------------------------------------------------------------- IV bisphosphonates (BP-IV)


@dataclass(frozen=True, slots=True)
class IvCourse:
    last: Dose
    regimen: Regimen
    doses_in_course: int  # doses of this regimen in the course (ZOL 4 mg ends after zol4_max_doses)
    complete: bool


def current_iv(tl: Timeline) -> IvCourse | None:
    """The IV bisphosphonate regimen running on `tl.on`: its course is active and no holiday is in progress."""
    if not tl.bp_doses or holiday_of(tl) is not None:
        return None
    bp = tl.policy.bp
    ivs = [(d, tl.course_for(d)) for d in tl.bp_doses]
    ivs = [(d, c, r) for d, c in ivs if iv_schedule(r := bp_regimen(d, c, bp), bp) is not None]
    if not ivs:
        return None
    last, course, regimen = ivs[-1]
    if course is not None and not is_active(course, tl.on):
        return None
    if tl.on_denosumab() and tl.dmab_dates[-1] > last.date:
        return None
    n = sum(1 for d, c, r in ivs if c is course and r is regimen)
    return IvCourse(last, regimen, n, regimen is Regimen.ZOL4 and n >= bp.zol4_max_doses)


def bp_dose_task(tl: Timeline) -> T | None:
    iv = current_iv(tl)
    if iv is None or iv.complete:
        return None
    s = iv_schedule(iv.regimen, tl.policy.bp)
    assert s is not None
    target = add_months(iv.last.date, s.interval_months)
    name = {Regimen.ZOL5: "Zoledronic acid 5 mg", Regimen.ZOL4: "Zoledronic acid 4 mg (adjuvant)",
            Regimen.IBANDRONATE_IV: "Ibandronate IV"}[iv.regimen]
    return T(TaskKind.BP_DOSE, "BP-IV", iv.last.date, add_days(target, -s.early_days), target,
             add_days(target, s.late_days), f"{name} every {s.interval_months} months: last dose on {iv.last.date}",
             grace_days=s.late_days)


def six_monthly_drug(tl: Timeline) -> bool:
    """V1: denosumab, or the ZOL 4 mg regimen still running."""
    if tl.on_denosumab():
        return True
    iv = current_iv(tl)
    return iv is not None and iv.regimen is Regimen.ZOL4 and not iv.complete
