"""The monitoring plan: `plan(facts, assessment, *, as_of, policy) -> Plan`: the monitoring tasks, the
CHANGE-FLAGS and the safety alerts of docs/rules.md (ONE-OPEN, COMPLETION, VALID-UNTIL).

Pure: never reads the clock; facts dated after `as_of` are ignored. For each task kind the plan
holds at most one open task (the first applicable, unsatisfied rule in ONE-OPEN precedence) and the
most recently completed one (`done_on` set), so status is derived by `domain.task_status`.

The completed task of a kind is the task that was open just before the completing fact: the
schedule rules are run again on the facts known the day before it (`_Past`: one more timeline, and
for DXA and visits one assessment of that day, the only place the past tier is needed), and the
task gets `done_on` = that fact's date. D1 and B1 are judged by their windows instead (a DXA or
marker drawn before the AI or BMA was even recorded completes them); N1 counts from the dose before
the last; the note-completed reviews and N3, N5, E1/E2, holiday reviews and S1 carry their own
`done_on`. When the patient had no dated fact before the completing one, nothing was open.

`valid_until` is the first date after `as_of` on which the plan or the assessment stored with it
can change with no new fact: BMD turning AGING or STALE, an AI plan entering the look-ahead or
expiring, AI supply end + grace, FRAX expiry, death, the start of a late or rebound alert, the
first failing monthly PDC evaluation, a glucocorticoid course reaching 3 months, the duration
alert, and the safety alerts' own next change. Out of pathway, nothing changes with time alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta

from monitor.core.adherence import coverage_end
from monitor.core.alerts.collect import plan_alerts
from monitor.core.alerts.exit import exit_alert
from monitor.core.dates import add_days, add_months
from monitor.core.domain import Assessment, Drug, NoteKind, PatientFacts, Plan, Task, TaskKind
from monitor.core.lsc import BmdChange, Direction, latest_bmd_changes
from monitor.core.policy import Policy
from monitor.core.regimen import bp_regimen, iv_schedule
from monitor.core.risk import assess, lifestyle_flags
from monitor.core.schedule.btm import baseline, btm_task
from monitor.core.schedule.doses import (
    bp_dose_task,
    denosumab_dose_done,
    denosumab_dose_task,
    sequential_bp_task,
    transition_plan_task,
)
from monitor.core.schedule.dxa import d1_window, dxa_task
from monitor.core.schedule.holiday import holiday_review_tasks
from monitor.core.schedule.reviews import endocrine_tasks, lifestyle_task, visit_completions, visit_task
from monitor.core.schedule.switch import switch_tasks
from monitor.core.therapy import is_active
from monitor.core.timeline import AI_DRUGS, BMA_DRUGS, FAR, Horizon, Timeline

ONE_DAY = timedelta(days=1)
KIND_ORDER = {k: i for i, k in enumerate(TaskKind)}

__all__ = ["plan"]


def plan(facts: PatientFacts, assessment: Assessment, *, as_of: date, policy: Policy) -> Plan:
    if not assessment.in_pathway:
        alert = exit_alert(facts, assessment)
        return Plan(as_of, (), (alert,) if alert is not None else (), FAR)
    tl = Timeline(facts, as_of, policy)
    horizon = Horizon(as_of)
    horizon.add(facts.patient.deceased_date)
    _assessment_changes(tl, assessment, horizon)
    past = _Past(facts, policy)
    flags: list[str] = []
    sequential = sequential_bp_task(tl)
    pairs: list[tuple[Task | None, Task | None]] = [
        _dxa(tl, assessment, horizon, past),
        _btm(tl, past, flags),
        (denosumab_dose_task(tl), denosumab_dose_done(tl)),
        _by_last(bp_dose_task(tl), _iv_dose_dates(tl), past, lambda v: bp_dose_task(v)),
        _split(sequential, as_of),
        _split(transition_plan_task(tl), as_of),
        _by_last(visit_task(tl, assessment, horizon), visit_completions(tl), past,
                 lambda v: visit_task(v, past.assessment(v.on))),
        endocrine_tasks(tl),
        holiday_review_tasks(tl),
        switch_tasks(tl, horizon),
        _by_last(lifestyle_task(tl, assessment.flags), tl.notes_of(NoteKind.LIFESTYLE_COUNSELLING), past,
                 lambda v: lifestyle_task(v, lifestyle_flags(v.facts, v.on, policy))),
    ]
    open_tasks = [o for o, _ in pairs if o is not None]
    tasks = sorted((t for pair in pairs for t in pair if t is not None),
                   key=lambda t: (KIND_ORDER[t.kind], t.done_on is None, t.target))

    by_kind = {t.kind: t for t in open_tasks}
    holiday_open = by_kind.get(TaskKind.BP_HOLIDAY_REVIEW)
    if holiday_open is not None and holiday_open.rule == "H-RESUME":
        flags.append("HOLIDAY_RESUME_TRIGGER")
    if len(tl.dxa_dates) > 1:
        flags += _lsc_flags(tl, latest_bmd_changes(tl.facts.dxa, policy))
    alerts = plan_alerts(tl, assessment, open_tasks, sequential, horizon)
    return Plan(as_of, tuple(tasks), tuple(alerts), horizon.first, tuple(dict.fromkeys(flags)))


# --------------------------------------------------------------------------- completed tasks


class _Past:
    """Timelines and assessments of earlier dates, built once each per plan."""

    __slots__ = ("assessments", "facts", "policy", "timelines")

    def __init__(self, facts: PatientFacts, policy: Policy) -> None:
        self.facts = facts
        self.policy = policy
        self.timelines: dict[date, Timeline] = {}
        self.assessments: dict[date, Assessment] = {}

    def timeline(self, on: date) -> Timeline:
        tl = self.timelines.get(on)
        if tl is None:
            tl = self.timelines[on] = Timeline(self.facts, on, self.policy)
        return tl

    def assessment(self, on: date) -> Assessment:
        """The assessment on an earlier date, for its tier, AI status and BMD flags only: it is built
        from the facts those depend on (DXA, AI courses and doses, fractures, FRAX). Pathway exits
        need no check: they never lapse, so a patient in the pathway now was in it then."""
        a = self.assessments.get(on)
        if a is None:
            f = self.timeline(on).facts
            tier_facts = PatientFacts(
                patient=f.patient,
                courses=tuple([c for c in f.courses if c.drug in AI_DRUGS]),
                doses=tuple([d for d in f.doses if d.drug in AI_DRUGS]),
                dxa=f.dxa,
                fractures=f.fractures,
                frax=f.frax,
            )
            a = self.assessments[on] = assess(tier_facts, as_of=on, policy=self.policy)
        return a


def _before(last: date, past: _Past, rule: Callable[[Timeline], Task | None]) -> Task | None:
    """The task the rule had open the day before `last`, completed on `last` (none when the patient
    had no dated fact yet: her record starts with the completing fact)."""
    view = past.timeline(last - ONE_DAY)
    if view.earliest_fact() is None:
        return None
    task = rule(view)
    return replace(task, done_on=last) if task is not None else None


def _by_last(open_task: Task | None, completions: list[date], past: _Past,
             rule: Callable[[Timeline], Task | None]) -> tuple[Task | None, Task | None]:
    return open_task, (_before(completions[-1], past, rule) if completions else None)


def _split(task: Task | None, as_of: date) -> tuple[Task | None, Task | None]:
    if task is None:
        return None, None
    return (None, task) if task.done_on is not None and task.done_on <= as_of else (task, None)


def _dxa(tl: Timeline, a: Assessment, horizon: Horizon, past: _Past) -> tuple[Task | None, Task | None]:
    open_task = dxa_task(tl, a, horizon)
    last = tl.last_dxa()
    if last is None:
        return open_task, None
    d1 = d1_window(tl)
    if d1 is not None and d1.done_on == last and last <= d1.latest:
        return open_task, d1
    return open_task, _before(last, past, lambda v: dxa_task(v, past.assessment(v.on)))


def _btm(tl: Timeline, past: _Past, flags: list[str]) -> tuple[Task | None, Task | None]:
    b1 = baseline(tl)
    if b1.missing:
        flags.append("BASELINE_BTM_MISSING")
    open_task = btm_task(tl)
    if not tl.marker_dates:
        return open_task, None
    last = tl.marker_dates[-1]
    if b1.task is not None and b1.task.done_on == last:
        return open_task, b1.task
    return open_task, _before(last, past, btm_task)


def _iv_dose_dates(tl: Timeline) -> list[date]:
    bp = tl.policy.bp
    return [d.date for d in tl.bp_doses if iv_schedule(bp_regimen(d, tl.course_for(d), bp), bp) is not None]


# --------------------------------------------------------------------------- flags and alerts


def _lsc_flags(tl: Timeline, latest: list[BmdChange]) -> list[str]:
    """CHANGE-FLAGS for the latest comparison (the changes measured on the latest exam date)."""
    flags = []
    losses = [c for c in latest if c.direction is Direction.LOSS]
    if losses:
        flags.append("BMD_SIGNIFICANT_LOSS")
    if any(c.direction is Direction.GAIN for c in latest):
        flags.append("BMD_SIGNIFICANT_GAIN")
    if losses:
        exam = losses[0].date
        bma = [c for c in tl.courses if c.drug in BMA_DRUGS]
        if any(is_active(c, exam) or c.start == exam for c in bma):
            flags.append("ADHERENCE_CHECK")
        elif not tl.active(bma):
            flags.append("BMA_REVIEW")
            if any(-c.annual_percent >= tl.policy.lsc.annual_loss_pct_consider for c in losses):
                flags.append("CONSIDER_ANTIRESORPTIVE")
    return flags


# --------------------------------------------------------------------------- when the assessment changes


def _assessment_changes(tl: Timeline, a: Assessment, horizon: Horizon) -> None:
    """Dates on which risk.assess can give another answer with no new fact (A4, A6, A8)."""
    r = tl.policy.risk
    if a.bmd_date is not None:
        horizon.add(add_days(add_months(a.bmd_date, r.bmd_fresh_months), 1))
        horizon.add(add_days(add_months(a.bmd_date, r.bmd_stale_months), 1))
    for c in tl.courses:
        if c.drug in AI_DRUGS:
            if c.start is None and c.planned_start is not None and c.stop is None:
                horizon.add(add_days(c.planned_start, -r.ai_plan_lookahead_days))
                horizon.add(add_days(c.planned_start, r.ai_plan_expiry_days))
            elif c.start is not None and c.stop is None:  # therapy.supply_end, as risk.assess reads it
                end = coverage_end([(d.date, d.days_supply) for d in tl.facts.doses
                                    if d.drug is c.drug and d.days_supply and d.date >= c.start])
                if end is not None:
                    horizon.add(add_days(end, r.ai_supply_grace_days + 1))
        elif (r.profile == "hadji2017" and c.drug is Drug.GLUCOCORTICOID and c.start is not None
              and c.stop is None):
            horizon.add(add_days(add_months(c.start, r.hadji_glucocorticoid_months), 1))
    if tl.facts.frax:
        latest = max(f.date for f in tl.facts.frax)
        horizon.add(add_days(add_months(latest, r.frax_max_age_months), 1))
    if r.profile == "hadji2017":
        horizon.add(add_months(tl.facts.patient.birth_date, 12 * (r.hadji_age_factor_years + 1)))
