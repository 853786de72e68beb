"""DXA due windows (docs/rules.md D1–D6): the one open DXA task, first of D1 > D5 > D6 > D3 > D2.

Pure. Every rule except D1 is unsatisfied by construction (it counts from the last DXA or from an
event after it); any DXA exam at any site completes the open task. Readings:

- D1 while the AI is PLANNED or CURRENT; anchor = first day of the current AI episode (AI courses
  with gaps of at most `ai_supply_grace_days` are one episode, so a switch between AIs asks for no
  new baseline). Satisfied by a DXA in or after its window, which may predate the AI's record
  ("an existing DXA counts"); one after the window completes it late.
- D5 anchor = the earliest fragility fracture, or the day a glucocorticoid course reaches 3 months
  (start + 3 m, when it has not stopped before), dated after the last DXA; a DXA on or after it
  completes it.
- D6 whenever T is null (NO_BMD or BMD_STALE): STALE counts from the last usable DXA + 24 m, NO_BMD
  from the earliest dated fact (or `as_of` when there is none); a later DXA that gave no usable
  T-score (another site, invalid) moves the anchor to it.
- D3 counts from the last DXA or a later BMA start, stop or switch; D2 from the last DXA; both no
  earlier than 6 months after the last DXA. D4 (holiday, after the AI) needs nothing: the tier decides.
"""

from __future__ import annotations

from datetime import date

from monitor.core.dates import add_days, add_months
from monitor.core.domain import AIStatus, Assessment, DrugClass, TaskKind, Tier
from monitor.core.domain import Task as T
from monitor.core.timeline import AI_DRUGS, Horizon, Timeline, first_after

DXA = TaskKind.DXA


def ai_episode_start(tl: Timeline) -> date | None:
    """First day of the AI treatment episode that is current, else planned, else the last one.

    AI courses (started, or planned and not expired) whose gaps are at most `ai_supply_grace_days`
    form one episode, so a switch between AIs does not ask for a new baseline DXA.
    """
    r = tl.policy.risk
    courses = []
    for c in tl.courses:
        if c.drug not in AI_DRUGS:
            continue
        if c.start is None and (c.planned_start is None or c.stop is not None
                                or tl.on >= add_days(c.planned_start, r.ai_plan_expiry_days)):
            continue
        courses.append(c)
    if not courses:
        return None
    running = [c for c in courses if c.start is not None and c.stop is None]
    plans = [c for c in courses if c.start is None]
    if running:
        relevant = max(running, key=lambda c: c.start)  # type: ignore[arg-type,return-value]
    elif plans:
        relevant = min(plans, key=lambda c: c.planned_start)  # type: ignore[arg-type,return-value]
    else:
        relevant = max(courses, key=lambda c: c.start)  # type: ignore[arg-type,return-value]
    episode_start: date | None = None
    episode_end: date | None = None  # None: open
    for c in sorted(courses, key=lambda c: c.first_day):  # type: ignore[arg-type,return-value]
        first = c.first_day
        assert first is not None
        if episode_start is None or (episode_end is not None and first > add_days(episode_end, r.ai_supply_grace_days)):
            episode_start, episode_end = first, c.stop
        elif episode_end is not None:
            episode_end = None if c.stop is None else max(episode_end, c.stop)
        if c is relevant:
            return episode_start
    return episode_start


def d1_window(tl: Timeline) -> T | None:
    """The D1 task of the current AI episode, open (done_on None) or done by the first DXA in or after it."""
    start = ai_episode_start(tl)
    if start is None:
        return None
    p = tl.policy.dxa
    earliest = add_months(start, -p.d1_earliest_months_before)
    latest = add_days(start, p.d1_latest_days_after)
    return T(DXA, "D1", start, earliest, start, latest,
             f"AI starts {start}: baseline DXA from {p.d1_earliest_months_before} months before to "
             f"{p.d1_latest_days_after} days after the AI start",
             done_on=first_after(tl.dxa_dates, earliest), grace_days=p.d1_latest_days_after)


def _d5(tl: Timeline, horizon: Horizon | None) -> T | None:
    p = tl.policy.dxa
    last = tl.last_dxa()
    events: list[tuple[date, str]] = [
        (f.date, f"Fragility fracture ({f.site.value}) on {f.date}") for f in tl.facts.fractures if f.is_fragility
    ]
    for c in tl.courses:
        if c.drug.drug_class is DrugClass.GLUCOCORTICOID and c.start is not None:
            reached = add_months(c.start, p.d5_glucocorticoid_months)
            if c.stop is not None and c.stop < reached:
                continue
            if reached <= tl.on:
                events.append((reached, f"Glucocorticoids since {c.start} reached {p.d5_glucocorticoid_months} "
                                        f"months on {reached}"))
            elif horizon is not None and c.stop is None:
                horizon.add(reached)
    pending = [e for e in events if last is None or e[0] > last]
    if not pending:
        return None
    anchor, why = min(pending)
    end = add_days(anchor, p.d5_days)
    return T(DXA, "D5", anchor, anchor, end, end, f"{why}: DXA within {p.d5_days} days")


def _d6(tl: Timeline, a: Assessment, horizon: Horizon | None) -> T | None:
    p = tl.policy.dxa
    last = tl.last_dxa()
    if "BMD_STALE" in a.flags and a.bmd_date is not None:
        anchor = add_months(a.bmd_date, tl.policy.risk.bmd_stale_months)
        why = f"Last usable DXA on {a.bmd_date} is older than {tl.policy.risk.bmd_stale_months} months: DXA now"
    elif "NO_BMD" in a.flags:
        earliest = tl.earliest_fact()
        if earliest is None:
            anchor = tl.on
            if horizon is not None:
                horizon.add(add_days(tl.on, 1))
        else:
            anchor = earliest
        why = "No usable BMD on record: DXA now"
    else:
        return None
    if last is not None and last > anchor:
        anchor = last
    return T(DXA, "D6", anchor, anchor, anchor, add_days(anchor, p.d6_grace_days), why, grace_days=p.d6_grace_days)


def _routine(tl: Timeline, a: Assessment) -> T | None:
    """D3 (MODERATE or HIGH) or D2 (LOW), counting from the last DXA or a later BMA start, stop or switch."""
    p = tl.policy.dxa
    last = tl.last_dxa()
    if last is None:
        return None
    spacing = p.min_spacing_months  # no routine DXA sooner than this after the last one
    if a.tier in (Tier.MODERATE, Tier.HIGH):
        change = tl.bma_changes[-1] if tl.bma_changes else None
        if change is not None and change > last:
            anchor, since = change, f"the BMA start, stop or switch on {change}"
            earliest = max(add_months(anchor, p.d3_earliest_months), add_months(last, spacing))
        else:
            anchor, since = last, f"the last DXA on {last}"
            earliest = add_months(last, max(p.d3_earliest_months, spacing))
        target = add_months(anchor, p.d3_target_months)
        return T(DXA, "D3", anchor, earliest, target,
                 add_days(target, p.grace_days_long),
                 f"Tier {a.tier.name}: DXA {p.d3_target_months} months after {since}", grace_days=p.grace_days_long)
    if a.tier is Tier.LOW:
        target = add_months(last, p.d2_target_months)
        return T(DXA, "D2", last, add_months(last, max(p.d2_earliest_months, spacing)), target,
                 add_days(target, p.grace_days_long),
                 f"Tier LOW: DXA {p.d2_target_months} months after the last DXA on {last}",
                 grace_days=p.grace_days_long)
    return None


def dxa_task(tl: Timeline, a: Assessment, horizon: Horizon | None = None) -> T | None:
    """The open DXA task: the first applicable, unsatisfied rule of D1 > D5 > D6 > D3 > D2."""
    if a.ai_status in (AIStatus.PLANNED, AIStatus.CURRENT):
        d1 = d1_window(tl)
        if d1 is not None and d1.done_on is None:
            return d1
    return _d5(tl, horizon) or _d6(tl, a, horizon) or _routine(tl, a)
