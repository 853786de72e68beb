"""Reviews and visits: fracture-risk visits V1/V2 (docs/rules.md V1, V2), the endocrine-therapy review
(E1, E2) and lifestyle counselling (A14).

Pure. Rule ids and readings:

- V1 (tier MODERATE or HIGH) / V2 (tier LOW), kind `risk_review`: anchor = the latest FRAX or
  `risk_review` note, else the first AI or BMA start, else the earliest fact; completed by a FRAX or
  a `risk_review` note. V1: +6 m / +6 m on denosumab or a running ZOL 4 mg regimen, else +12 m /
  +12 m +30 d. V2: +11 m / +12 m / +12 m +30 d. No visit for tier UNKNOWN.
- E1 / E2, kind `endocrine_review`: anchor = the first tamoxifen or AI start; E1 at +54 m / +60 m /
  +60 m +30 d; E2 (after an `endocrine_extend` note) at +114 m / +120 m / +120 m +30 d. Completed
  by an `endocrine_review`, `endocrine_extend` or `endocrine_stop` note dated on or after the
  window's earliest date (an earlier note is about something else). Open only while an endocrine
  course is running: a documented stop of all of them is the decision.
- A14, kind `lifestyle`: when BMI_LOW, BMI_HIGH or WAIST_HIGH holds, anchor = earliest = target =
  the date of the latest vitals that carry a BMI or waist, latest + 90 d; completed by a
  `lifestyle_counselling` note on or after that date.
"""

from __future__ import annotations

from datetime import date

from monitor.core.dates import add_days, add_months
from monitor.core.domain import Assessment, NoteKind, TaskKind, Tier
from monitor.core.domain import Task as T
from monitor.core.schedule.doses import six_monthly_drug
from monitor.core.timeline import AI_DRUGS, BMA_DRUGS, Horizon, Timeline, first_after

LIFESTYLE_FLAGS = ("BMI_LOW", "BMI_HIGH", "WAIST_HIGH")
AI_OR_BMA = AI_DRUGS | BMA_DRUGS
ENDOCRINE_NOTES = (NoteKind.ENDOCRINE_REVIEW, NoteKind.ENDOCRINE_EXTEND, NoteKind.ENDOCRINE_STOP)


# --------------------------------------------------------------------------- V1 / V2


def visit_completions(tl: Timeline) -> list[date]:
    """Dates of the facts that complete a visit: FRAX results and `risk_review` notes."""
    return sorted({f.date for f in tl.facts.frax} | set(tl.notes_of(NoteKind.RISK_REVIEW)))


def visit_task(tl: Timeline, a: Assessment, horizon: Horizon | None = None) -> T | None:
    if a.tier not in (Tier.LOW, Tier.MODERATE, Tier.HIGH):
        return None
    v = tl.policy.visits
    done = visit_completions(tl)
    if done:
        anchor, since = done[-1], f"the last risk review on {done[-1]}"
    else:
        starts = [c.start for c in tl.courses if c.start is not None
                  and c.drug in AI_OR_BMA]
        if starts:
            anchor = min(starts)
            since = f"the first AI or BMA start on {anchor}"
        else:
            earliest = tl.earliest_fact()
            if earliest is None:
                anchor = tl.on
                if horizon is not None:
                    horizon.add(add_days(tl.on, 1))
            else:
                anchor = earliest
            since = f"the first record on {anchor}"
    latest = add_days(add_months(anchor, v.v1_latest_months), v.grace_days)
    if a.tier is Tier.LOW:
        return T(TaskKind.RISK_REVIEW, "V2", anchor, add_months(anchor, v.v2_earliest_months),
                 add_months(anchor, v.v2_target_months), latest,
                 f"Tier LOW: fracture-risk review {v.v2_target_months} months after {since}", grace_days=v.grace_days)
    months = v.v1_target_months_six_monthly if six_monthly_drug(tl) else v.v1_target_months
    return T(TaskKind.RISK_REVIEW, "V1", anchor, add_months(anchor, v.v1_earliest_months),
             add_months(anchor, months), latest,
             f"Tier {a.tier.name}: fracture-risk and adherence review {months} months after {since}",
             grace_days=v.grace_days)


# --------------------------------------------------------------------------- E1 / E2


def endocrine_tasks(tl: Timeline) -> tuple[T | None, T | None]:
    """(open task, most recently completed task) of kind endocrine_review."""
    starts = [c.start for c in tl.endocrine_courses if c.start is not None]
    if not starts:
        return None, None
    e = tl.policy.endocrine
    anchor = min(starts)
    running = any(c.start is not None and c.stop is None for c in tl.endocrine_courses)
    notes = tl.notes_of(*ENDOCRINE_NOTES)
    lead = e.review_target_months - e.review_earliest_months

    def review(rule: str, months: int, why: str) -> T:
        target = add_months(anchor, months)
        earliest = add_months(anchor, months - lead)
        return T(TaskKind.ENDOCRINE_REVIEW, rule, anchor, earliest, target, add_days(target, e.review_grace_days),
                 f"Endocrine therapy since {anchor}: {why} (stop or extend; bone plan follows)",
                 done_on=first_after(notes, earliest), grace_days=e.review_grace_days)

    e1 = review("E1", e.review_target_months, f"{e.review_target_months}-month review")
    if e1.done_on is None:
        return (e1 if running else None), None
    if not tl.has_note(NoteKind.ENDOCRINE_EXTEND):
        return None, e1
    e2 = review("E2", e.extended_total_months, f"extended: review at {e.extended_total_months} months")
    if e2.done_on is None:
        return (e2 if running else None), e1
    return None, e2


# --------------------------------------------------------------------------- A14


def lifestyle_task(tl: Timeline, flags: tuple[str, ...] | list[str]) -> T | None:
    """The open A14 task (None when no lifestyle flag holds or the counselling was given)."""
    held = [f for f in LIFESTYLE_FLAGS if f in flags]
    if not held:
        return None
    measured = [v.date for v in tl.facts.vitals if v.bmi_value is not None or v.waist_cm is not None]
    if not measured:
        return None
    anchor = max(measured)
    if first_after(tl.notes_of(NoteKind.LIFESTYLE_COUNSELLING), anchor) is not None:
        return None
    lp = tl.policy.lifestyle
    days = lp.task_latest_days
    return T(TaskKind.LIFESTYLE, "A14", anchor, anchor, anchor, add_days(anchor, days),
             f"{', '.join(held)} on {anchor}: lifestyle counselling (targets BMI {lp.bmi_low:g}–{lp.bmi_high:g} "
             f"kg/m², waist < {lp.waist_high_cm:g} cm)", grace_days=days)
