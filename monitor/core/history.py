"""A patient's history over a period, for the adherence audit (docs/rules.md AUDIT, PDC, ON-TIME).

Pure: facts, a period [start, end] and the policy in, frozen dataclasses out; never reads the clock.

**Task history** (`task_history`). Stored task rows only hold what the replans that really ran
saw, so the history is rebuilt from the facts: `monitor.core.plan` is replayed as of

- `start` and `end`, and
- the day before every fact date in [start, end] (course starts and stops, doses, DXA, markers,
  fractures, FRAX, labs, vitals, dated notes, death).

Between two consecutive replay dates no fact is dated, so each replay shows (a) every task that was
open just before the next fact, and (b) the completion that fact made (the planner keeps the most
recently completed task of each kind, with `done_on`). A task is identified by (rule, anchor), as in
the stored plan. A task that leaves the plan without a completion (superseded, therapy stopped,
pathway exit, death) is *overdue* when it was still open on a day after its latest date; if its
latest falls between two replays one more replay, on latest + 1, decides it. A completion whose
identity changed in the replan that made it is matched to the open task of its kind that left the
plan at that moment. Staff's manual "done" (stored on the task row) counts as a completion on its date.

Outcomes (STATUS, ON-TIME): done in [earliest, latest] is on time, before earliest early, after latest
late; not done by a day after latest is overdue; otherwise the task is still open (not judged). Each
judged task has one *resolution date*: its completion, or latest + 1 when it became overdue; a period
counts the tasks resolved in it, so a task is never counted in two periods' on-time rates.

Cost: about (fact dates in the period + 2) plans per patient, ~1–2 ms each.

**The other audit numbers** (`patient_adherence` bundles them with the task history):

- denosumab doses dated in the period, each against the previous actual dose + 6 m; on time when
  ≤ target + 28 d (adherence.denosumab_timing). The first dose of a course is not timed.
- denosumab stops (a course stop dated in the period): sequenced when a bisphosphonate dose or BP
  course start on or after the stop (the planner's N3 rule) falls on or before last dose +
  `sequential_bp_kpi_months`; not sequenced once that day has passed without one; else pending.
- oral-BP PDC over the period (PQA, adherence.pdc: from the first fill or the period start, to the
  end or death; overlapping fills shifted), for patients with an oral-BP fill dated in the period.
- D1: each AI episode start in the period (AI courses with gaps ≤ ai_supply_grace_days are one
  episode) with a DXA in [start − 12 m, start + 90 d]; B1: a first BMA dose ever in the period with
  a panel marker in [dose − 90 d, dose]. Met, missed, or pending (the window is still open).
- data completeness as of the end: of the items below that apply to her, the share recorded
  (`COMPLETENESS`): the fields the rules and these numbers cannot do without.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum

from monitor.core.adherence import DoseTiming, denosumab_timing, fills, is_adherent, pdc
from monitor.core.dates import add_days, add_months
from monitor.core.domain import (
    Drug,
    DxaSite,
    Mechanism,
    Menopause,
    Patient,
    PatientFacts,
    Plan,
    Route,
    Task,
    TaskKind,
    TaskStatus,
    iter_facts,
)
from monitor.core.lsc import CHANGE_SITES
from monitor.core.plan import plan
from monitor.core.policy import Policy
from monitor.core.risk import assess
from monitor.core.status import task_status

ONE_DAY = timedelta(days=1)

__all__ = [
    "COMPLETENESS", "BaselineRecord", "Completeness", "Met", "Outcome", "PatientAdherence", "PdcRecord", "StopRecord",
    "TaskRecord", "baseline_btm", "baseline_dxa", "completeness", "denosumab_doses", "denosumab_stops",
    "evaluation_dates", "fact_dates", "judge", "oral_bp_pdc", "patient_adherence", "task_history",
]


class Outcome(StrEnum):
    ON_TIME = "on_time"
    EARLY = "early"
    LATE = "late"
    OVERDUE = "overdue"
    OPEN = "open"  # its window had not closed at the period end: not judged
    CANCELLED = "cancelled"  # left the plan before its window closed: not judged


JUDGED = frozenset({Outcome.ON_TIME, Outcome.EARLY, Outcome.LATE, Outcome.OVERDUE})


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One task of the history and its outcome as of the period end."""

    kind: TaskKind
    rule: str
    anchor: date
    earliest: date
    target: date
    latest: date
    done_on: date | None
    outcome: Outcome
    resolved_on: date | None  # completion date, or latest + 1 when overdue; None when not judged
    days_late: int | None  # late: done_on − latest; overdue: days past latest when last seen open
    manual: bool = False  # completed by staff's "done", not by a fact
    open_at_end: bool = False  # still in the plan on the period end (open, or overdue and not done)

    def counted(self, start: date, end: date) -> bool:
        """Judged, and resolved in [start, end]."""
        return self.outcome in JUDGED and self.resolved_on is not None and start <= self.resolved_on <= end


def judge(task: Task, done_on: date | None, end: date) -> tuple[Outcome, date | None, int | None]:
    """Outcome, resolution date and days late of a task as of `end` (completions after `end` are unknown):
    the task's status on `end` (status.task_status), with a completion before its window called early."""
    status = task_status(task if done_on == task.done_on else replace(task, done_on=done_on), end)
    if status is TaskStatus.DONE:
        return (Outcome.EARLY, done_on, None) if done_on < task.earliest else (Outcome.ON_TIME, done_on, 0)  # type: ignore[operator]
    if status is TaskStatus.DONE_LATE:
        return Outcome.LATE, done_on, (done_on - task.latest).days  # type: ignore[operator]
    if status is TaskStatus.OVERDUE:
        return Outcome.OVERDUE, task.latest + ONE_DAY, (end - task.latest).days
    return Outcome.OPEN, None, None


def fact_dates(facts: PatientFacts) -> set[date]:
    """Every date on which a fact can change the plan: fact dates, course starts and stops, death."""
    days: set[date] = set()
    for fact in iter_facts(facts):
        day = getattr(fact, "date", None)
        if day is not None:
            days.add(day)
    for c in facts.courses:
        days.update(d for d in (c.start, c.stop) if d is not None)
    if facts.patient.deceased_date is not None:
        days.add(facts.patient.deceased_date)
    return days


def evaluation_dates(facts: PatientFacts, start: date, end: date) -> list[date]:
    """`start`, `end` and the day before each fact date in [start, end], sorted."""
    days = {start, end}
    days.update(d - ONE_DAY for d in fact_dates(facts) if start <= d <= end)
    return sorted(days)


class _Seen:
    __slots__ = ("first_gone", "last_open", "task")

    def __init__(self, task: Task, day: date) -> None:
        self.task = task
        self.last_open = day
        self.first_gone: date | None = None


def _key(t: Task) -> tuple[str, date]:
    return (t.rule, t.anchor)


def task_history(
    facts: PatientFacts, *, start: date, end: date, policy: Policy,
    manual_done: Mapping[tuple[str, date], date] | None = None,
) -> tuple[TaskRecord, ...]:
    """Every task that was open or completed between `start` and `end`, with its outcome as of `end`.

    `manual_done` maps (rule, anchor) to the date staff marked the task done. Sorted by resolution
    (unjudged last), kind and rule.
    """
    if end < start:
        raise ValueError(f"period end {end} is before its start {start}")
    plans: dict[date, Plan] = {}

    def plan_on(day: date) -> Plan:
        p = plans.get(day)
        if p is None:
            p = plans[day] = plan(facts, assess(facts, as_of=day, policy=policy), as_of=day, policy=policy)
        return p

    seen: dict[tuple[str, date], _Seen] = {}
    done: dict[tuple[str, date], Task] = {}
    previous: set[tuple[str, date]] = set()
    for day in evaluation_dates(facts, start, end):
        current = set()
        for t in plan_on(day).tasks:
            k = _key(t)
            if t.done_on is not None and t.done_on <= day:
                done[k] = t
                continue
            current.add(k)
            s = seen.get(k)
            if s is None:
                seen[k] = _Seen(t, day)
            else:
                s.task, s.last_open, s.first_gone = t, day, None
        for k in previous - current:
            if k in seen and seen[k].first_gone is None:
                seen[k].first_gone = day
        previous = current

    orphans = {k: t for k, t in done.items() if k not in seen}
    manual_done = manual_done or {}
    records: list[TaskRecord] = []
    for k, s in seen.items():
        t = s.task
        completion = done.get(k)
        if completion is None and s.first_gone is not None:
            completion = _replanned_completion(t, s, orphans)
        if completion is not None:
            records.append(_record(completion, completion.done_on, end))
            continue
        manual = manual_done.get(k)
        if manual is not None and manual <= end:
            records.append(_record(t, manual, end, manual=True))
            continue
        if s.first_gone is None:  # still in the plan at the end
            records.append(_record(t, None, end, open_at_end=True))
            continue
        after = t.latest + ONE_DAY
        if s.last_open < after < s.first_gone and k in {_key(x) for x in plan_on(after).tasks if x.done_on is None}:
            s.last_open = after  # it was still open the day it became overdue
        if s.last_open > t.latest:
            records.append(TaskRecord(t.kind, t.rule, t.anchor, t.earliest, t.target, t.latest, None,
                                      Outcome.OVERDUE, t.latest + ONE_DAY, (s.last_open - t.latest).days))
        else:
            records.append(TaskRecord(t.kind, t.rule, t.anchor, t.earliest, t.target, t.latest, None,
                                      Outcome.CANCELLED, None, None))
    records += [_record(t, t.done_on, end) for t in orphans.values()]
    records.sort(key=lambda r: (r.resolved_on is None, r.resolved_on or date.max, r.kind.value, r.rule, r.anchor))
    return tuple(records)


def _replanned_completion(t: Task, s: _Seen, orphans: dict[tuple[str, date], Task]) -> Task | None:
    """A completion of the task's kind, made by the fact that removed it, under another identity."""
    for k, c in orphans.items():
        if c.kind is t.kind and c.done_on is not None and s.last_open < c.done_on <= s.first_gone:  # type: ignore[operator]
            del orphans[k]
            return Task(t.kind, t.rule, t.anchor, t.earliest, t.target, t.latest, t.reason, done_on=c.done_on)
    return None


def _record(t: Task, done_on: date | None, end: date, *, manual: bool = False,
            open_at_end: bool = False) -> TaskRecord:
    outcome, resolved, late = judge(t, done_on, end)
    return TaskRecord(t.kind, t.rule, t.anchor, t.earliest, t.target, t.latest,
                      done_on if done_on is not None and done_on <= end else None, outcome, resolved, late,
                      manual=manual, open_at_end=open_at_end)




# --------------------------------------------------------------------------- the other audit numbers


class Met(StrEnum):
    MET = "met"
    MISSED = "missed"
    PENDING = "pending"  # the window had not closed at the period end


@dataclass(frozen=True, slots=True)
class StopRecord:
    """A documented denosumab stop and the sequential bisphosphonate (N3, AUDIT)."""

    stop: date
    last_dose: date
    deadline: date  # last dose + sequential_bp_kpi_months
    bp_on: date | None  # first BP dose or BP course start on or after the stop, up to the period end
    outcome: Met


@dataclass(frozen=True, slots=True)
class PdcRecord:
    start: date  # the first fill or the period start, whichever is later
    end: date  # the period end, or death
    pdc: float
    adherent: bool
    fills: int  # oral-BP fills dated in the period


@dataclass(frozen=True, slots=True)
class BaselineRecord:
    """D1 (a DXA around an AI episode start) or B1 (markers before the first BMA dose)."""

    rule: str  # "D1" or "B1"
    event: date  # the AI episode start or the first BMA dose
    earliest: date
    latest: date
    done_on: date | None  # the first DXA / panel marker on or after earliest, up to the period end
    outcome: Met


# item → what it asks; only the items that apply to a patient count.
COMPLETENESS = {
    "menopause": "menopausal status recorded",
    "dxa_bmd_scanner": "every spine/hip DXA result has BMD (g/cm²) and a scanner id (needed for LSC)",
    "dxa_site": "every DXA result names its site (no `unspecified`)",
    "oral_days_supply": "every oral dispense has its days supply (needed for PDC and AI status)",
    "bma_dose_mg": "every denosumab and zoledronic acid dose has its dose in mg (needed for the regimen)",
    "fracture_mechanism": "every fracture has a known mechanism",
}


@dataclass(frozen=True, slots=True)
class Completeness:
    items: tuple[tuple[str, bool], ...]  # (item, recorded) for the items that apply

    @property
    def applicable(self) -> int:
        return len(self.items)

    @property
    def present(self) -> int:
        return sum(1 for _, ok in self.items if ok)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(name for name, ok in self.items if not ok)


@dataclass(frozen=True, slots=True)
class PatientAdherence:
    """Everything the adherence audit needs of one patient over [start, end]."""

    patient: Patient
    start: date
    end: date
    tasks: tuple[TaskRecord, ...]
    denosumab_doses: tuple[DoseTiming, ...]
    denosumab_stops: tuple[StopRecord, ...]
    oral_bp: PdcRecord | None
    baselines: tuple[BaselineRecord, ...]
    completeness: Completeness


def patient_adherence(
    facts: PatientFacts, *, start: date, end: date, policy: Policy,
    manual_done: Mapping[tuple[str, date], date] | None = None,
) -> PatientAdherence:
    return PatientAdherence(
        patient=facts.patient, start=start, end=end,
        tasks=task_history(facts, start=start, end=end, policy=policy, manual_done=manual_done),
        denosumab_doses=denosumab_doses(facts, start=start, end=end, policy=policy),
        denosumab_stops=denosumab_stops(facts, start=start, end=end, policy=policy),
        oral_bp=oral_bp_pdc(facts, start=start, end=end, policy=policy),
        baselines=baseline_dxa(facts, start=start, end=end, policy=policy)
        + baseline_btm(facts, start=start, end=end, policy=policy),
        completeness=completeness(facts, end=end),
    )


def denosumab_doses(facts: PatientFacts, *, start: date, end: date, policy: Policy) -> tuple[DoseTiming, ...]:
    """Timing of the denosumab doses dated in the period; a dose that starts a new course is not timed."""
    days = sorted({d.date for d in facts.doses if d.drug is Drug.DENOSUMAB and d.date <= end})
    starts = [c.start for c in facts.courses if c.drug is Drug.DENOSUMAB and c.start is not None]
    out = []
    for timing, previous in zip(denosumab_timing(days, policy.denosumab), days, strict=False):
        if start <= timing.date and not any(previous < s <= timing.date for s in starts):
            out.append(timing)
    return tuple(out)


def denosumab_stops(facts: PatientFacts, *, start: date, end: date, policy: Policy) -> tuple[StopRecord, ...]:
    until = _until(facts, end)
    dmab = sorted({d.date for d in facts.doses if d.drug is Drug.DENOSUMAB})
    bp_events = sorted([d.date for d in facts.doses if d.drug.is_bp]
                       + [c.start for c in facts.courses if c.drug.is_bp and c.start is not None])
    out = []
    for c in facts.courses:
        if c.drug is not Drug.DENOSUMAB or c.start is None or c.stop is None or not start <= c.stop <= end:
            continue
        last = max((d for d in dmab if c.start <= d <= c.stop), default=c.start)
        deadline = add_months(last, policy.adherence.sequential_bp_kpi_months)
        bp = next((d for d in bp_events if c.stop <= d <= end), None)
        if bp is not None and bp <= deadline:
            outcome = Met.MET
        elif deadline < until:
            outcome = Met.MISSED
        else:
            outcome = Met.PENDING
        out.append(StopRecord(c.stop, last, deadline, bp, outcome))
    return tuple(sorted(out, key=lambda r: r.stop))


def oral_bp_pdc(facts: PatientFacts, *, start: date, end: date, policy: Policy) -> PdcRecord | None:
    until = _until(facts, end)
    oral = [f for f in fills(facts.doses, facts.courses, policy, oral_bp=True) if f[0] <= until]
    in_period = [f for f in oral if start <= f[0]]
    if not in_period or until < start:
        return None
    value = pdc(oral, until, start=start)
    if value is None:
        return None
    begin = max(start, min(d for d, _ in oral))
    return PdcRecord(begin, until, value, bool(is_adherent(value, policy)), len(in_period))


def _ai_episode_starts(facts: PatientFacts, policy: Policy) -> list[date]:
    """First days of the AI episodes actually started (gaps ≤ ai_supply_grace_days join courses)."""
    grace = policy.risk.ai_supply_grace_days
    starts: list[date] = []
    episode_end: date | None = None  # None: the episode is open (a course without a stop)
    for c in sorted((c for c in facts.courses if c.drug.is_ai and c.start is not None), key=lambda c: c.start):
        assert c.start is not None
        if not starts or (episode_end is not None and c.start > add_days(episode_end, grace)):
            starts.append(c.start)
            episode_end = c.stop
        elif episode_end is not None:
            episode_end = None if c.stop is None else max(episode_end, c.stop)
    return starts


def _baseline(rule: str, event: date, earliest: date, latest: date, days: list[date], until: date) -> BaselineRecord:
    done = next((d for d in days if earliest <= d <= until), None)
    if done is not None and done <= latest:
        outcome = Met.MET
    elif done is not None or latest < until:
        outcome = Met.MISSED
    else:
        outcome = Met.PENDING
    return BaselineRecord(rule, event, earliest, latest, done, outcome)


def baseline_dxa(facts: PatientFacts, *, start: date, end: date, policy: Policy) -> tuple[BaselineRecord, ...]:
    """D1 for each AI episode that started in the period."""
    p = policy.dxa
    days = sorted({r.date for r in facts.dxa})
    until = _until(facts, end)
    return tuple(
        _baseline("D1", s, add_months(s, -p.d1_earliest_months_before), add_days(s, p.d1_latest_days_after), days,
                  until)
        for s in _ai_episode_starts(facts, policy) if start <= s <= end
    )


def baseline_btm(facts: PatientFacts, *, start: date, end: date, policy: Policy) -> tuple[BaselineRecord, ...]:
    """B1 when the first BMA dose ever (a dose or a course start) falls in the period."""
    events = [d.date for d in facts.doses if d.drug.is_bma]
    events += [c.start for c in facts.courses if c.drug.is_bma and c.start is not None]
    if not events or not start <= min(events) <= end:
        return ()
    first = min(events)
    panel = policy.btm.panel + policy.btm.accepted
    days = sorted({m.date for m in facts.markers if m.analyte.value in panel})
    return (_baseline("B1", first, add_days(first, -policy.btm.b1_earliest_days), first, days, end),)


def completeness(facts: PatientFacts, *, end: date) -> Completeness:
    """Which of COMPLETENESS's items apply to her (facts up to `end`) and whether each is recorded."""
    dxa = [r for r in facts.dxa if r.date <= end]
    doses = [d for d in facts.doses if d.date <= end]
    fractures = [f for f in facts.fractures if f.date <= end]
    items = [("menopause", facts.patient.menopause is not Menopause.UNKNOWN)]
    change = [r for r in dxa if r.site in CHANGE_SITES and r.valid]
    if change:
        items.append(("dxa_bmd_scanner", all(r.bmd is not None and r.scanner for r in change)))
    if dxa:
        items.append(("dxa_site", all(r.site is not DxaSite.UNSPECIFIED for r in dxa)))
    oral = [d for d in doses if d.route is Route.ORAL or d.drug.is_ai or d.drug is Drug.TAMOXIFEN]
    if oral:
        items.append(("oral_days_supply", all(d.days_supply for d in oral)))
    injected = [d for d in doses if d.drug in (Drug.DENOSUMAB, Drug.ZOLEDRONIC_ACID)]
    if injected:
        items.append(("bma_dose_mg", all(d.dose_mg for d in injected)))
    if fractures:
        items.append(("fracture_mechanism", all(f.mechanism is not Mechanism.UNKNOWN for f in fractures)))
    return Completeness(tuple(items))


def _until(facts: PatientFacts, end: date) -> date:
    death = facts.patient.deceased_date
    return death if death is not None and death < end else end
