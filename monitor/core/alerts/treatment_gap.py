"""ALERT-TREATMENT-GAP (warn): tier moderate or high for more than `[alerts] treatment_gap_days` with no BMA.

The tier is MODERATE or HIGH exactly when H1 holds, a usable T is below normal, or the AI is planned
or current (rules H1–H3, A4), so the run of such days is computed from those facts (`raised_spans`)
without calling risk.assess per date. It is a gap unless a BMA course ran on some day of that run;
it starts on run start + gap days + 1 (day 91), and a bma_declined or bma_contraindicated note
stops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from monitor.core.alerts.found import Found
from monitor.core.alerts.view import AlertView
from monitor.core.dates import add_months
from monitor.core.domain import Dose, FractureSite, NoteKind, PatientFacts, Severity, TherapyCourse, Tier
from monitor.core.policy import Policy
from monitor.core.risk import H1_SITES, round_t, tiering_rois
from monitor.core.therapy import effective_courses

ONE_DAY = timedelta(days=1)


def raised_spans(facts: PatientFacts, as_of: date, policy: Policy,
                 known: Sequence[TherapyCourse] | None = None) -> list[tuple[date, date | None]]:
    """Half-open [from, to) spans up to as_of on which the tier is MODERATE or HIGH: a hip or vertebral
    fragility fracture (H1), a usable T below normal, or an AI planned or current (A4)."""
    r = policy.risk
    spans: list[tuple[date, date | None]] = [
        (f.date, None) for f in facts.fractures
        if f.date <= as_of and f.is_fragility and f.site in H1_SITES
        and not (f.site is FractureSite.VERTEBRA and f.genant_grade == 1)
    ]
    rois = tiering_rois(facts, as_of, policy)
    exams = sorted({x.date for x in rois})
    normal = Decimal(str(r.normal_t_min))
    for i, exam in enumerate(exams):
        lo = exam - timedelta(days=r.assessment_window_days)
        if min(round_t(x.t_score) for x in rois if lo <= x.date <= exam) < normal:  # type: ignore[arg-type]
            end = add_months(exam, r.bmd_stale_months) + ONE_DAY
            spans.append((exam, min(end, exams[i + 1]) if i + 1 < len(exams) else end))
    for c in known if known is not None else effective_courses(facts):
        if c.drug.is_ai:
            spans += _ai_spans(c, facts.doses, policy)
    return spans


def _ai_spans(c: TherapyCourse, doses: Sequence[Dose], policy: Policy) -> list[tuple[date, date | None]]:
    """therapy.ai_state as spans: PLANNED around the planned start; CURRENT from start to stop, except
    from the day the supply has run out by more than the grace days until the next dispense."""
    r = policy.risk
    spans: list[tuple[date, date | None]] = []
    if c.planned_start is not None:
        end = min([c.planned_start + timedelta(days=r.ai_plan_expiry_days)] + [x for x in (c.start, c.stop) if x])
        spans.append((c.planned_start - timedelta(days=r.ai_plan_lookahead_days), end))
    if c.start is None:
        return spans
    fills = sorted((x.date, x.days_supply) for x in doses
                   if x.drug is c.drug and x.days_supply and x.days_supply > 0 and x.date >= c.start)
    current: list[tuple[date, date | None]] = []
    begin: date | None = c.start
    free: date | None = None
    for i, (day, supply) in enumerate(fills):  # shifted coverage as in therapy.shifted_coverage
        last = (day if free is None or day >= free else free) + timedelta(days=supply - 1)
        free = last + ONE_DAY
        nxt = fills[i + 1][0] if i + 1 < len(fills) else None
        gap_from = last + timedelta(days=r.ai_supply_grace_days + 1)
        if nxt != day and (nxt is None or gap_from < nxt):
            current.append((begin, gap_from))  # type: ignore[arg-type]
            begin = nxt
    if begin is not None:
        current.append((begin, None))
    stop = c.stop
    return spans + [(a, b if stop is None else stop if b is None else min(b, stop)) for a, b in current]


def raised_since(spans: Sequence[tuple[date, date | None]], as_of: date) -> date | None:
    """Start of the unbroken run of spans that covers as_of, or None when as_of is not covered."""
    start: date | None = None
    reach: date | None = None
    for a, b in sorted(spans, key=lambda s: s[0]):
        if b is not None and b <= a:
            continue
        if a > as_of:
            break
        if start is None or (reach is not None and a > reach):
            start, reach = a, b
        elif reach is not None:
            reach = None if b is None else max(reach, b)
    return start if start is not None and (reach is None or reach > as_of) else None


def treatment_gap_alert(v: AlertView, out: Found) -> None:
    if v.assessment.tier not in (Tier.MODERATE, Tier.HIGH):
        return
    if v.notes.get(NoteKind.BMA_DECLINED) or v.notes.get(NoteKind.BMA_CONTRAINDICATED):
        return
    bma = [c for c in v.started if c.drug.is_bma]
    if any(c.stop is None for c in bma):  # a course stopped after as_of is still running on as_of
        return
    since = raised_since(raised_spans(v.facts, v.as_of, v.policy, v.courses), v.as_of)
    if since is None or any(c.stop > since for c in bma):  # type: ignore[operator]
        return  # (None cannot happen while raised_spans mirrors risk.assess: never guess an alert)
    gap = v.policy.alerts.treatment_gap_days
    starts = since + timedelta(days=gap + 1)
    if v.as_of < starts:
        out.change(starts)
        return
    out.add("ALERT-TREATMENT-GAP", Severity.WARN, starts,
            f"Fracture-risk tier moderate or high since {since} (now {v.assessment.tier.value}: "
            f"{', '.join(v.assessment.reasons)}) and no bone-modifying agent for more than {gap} days: start a "
            "bisphosphonate or denosumab, or record bma_declined or bma_contraindicated")
