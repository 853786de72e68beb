"""Treatment histories of the synthetic cohort: endocrine therapy and bone-modifying agents.

Private to monitor.demo.cohort. Writes courses, doses, pre-dose labs, notes and the bone-state segments
(monitor.demo.story.Segment) that the DXA and marker model reads.
"""

from __future__ import annotations

from monitor.core.dates import add_months
from monitor.core.domain import Dose, Drug, NoteKind, Route, TherapyCourse
from monitor.demo.story import Story, day, randint

AI_DRUGS: tuple[tuple[Drug, float], ...] = ((Drug.ANASTROZOLE, 1.0), (Drug.LETROZOLE, 2.5), (Drug.EXEMESTANE, 25.0))
AI_WEIGHTS = (0.45, 0.40, 0.15)
TAMOXIFEN_MG = 20.0
SUPPLY_DAYS = 90
COMPLETED = "completed 5 years"

# Annual log-rates of BMD change (lumbar spine, femoral neck, total hip) on each agent while on an AI,
# and the factor on the baseline CTX and P1NP (orders of magnitude of docs/rules.md CHANGE and BTM-RESPONSE).
DMAB = ((0.030, 0.016, 0.019), 0.12, 0.30)
ZOL = ((0.022, 0.011, 0.014), 0.40, 0.50)
ALN_GOOD = ((0.016, 0.008, 0.010), 0.45, 0.55)
ALN_POOR = ((0.002, -0.004, -0.002), 0.80, 0.85)
REBOUND = ((-0.065, -0.040, -0.045), 1.60, 1.40)


def months_later(on: int, months: int) -> int:
    return add_months(day(on), months).toordinal()


def _pick_ai(s: Story, exclude: Drug | None = None) -> tuple[Drug, float]:
    while True:
        drug, mg = s.rng.choices(AI_DRUGS, AI_WEIGHTS)[0]
        if drug is not exclude:
            return drug, mg


def _dispense(s: Story, drug: Drug, mg: float, first: int, last: int, gap_p: float = 0.04) -> None:
    """90-day dispenses from `first` while ≤ `last`: a few early refills (overlaps) and occasional gaps."""
    rng, doses, on = s.rng, s.doses, first
    while on <= last:
        doses.append(Dose(drug, day(on), mg, SUPPLY_DAYS, Route.ORAL))
        on += SUPPLY_DAYS + randint(rng, -12, 3)
        if rng.random() < gap_p:
            on += randint(rng, 20, 100)


def _ai_course(s: Story, drug: Drug, mg: float, start: int, stop: int | None, reason: str | None) -> None:
    last = s.end if stop is None else stop - 75
    s.courses.append(TherapyCourse(drug, day(start), None, None if stop is None else day(stop), reason, mg))
    _dispense(s, drug, mg, start, last)
    s.ai_spans.append((start, s.end if stop is None else stop))
    s.ai_first = start if s.ai_first is None else min(s.ai_first, start)
    s.ai_stop = stop


def _tamoxifen(s: Story, start: int, stop: int | None, reason: str | None) -> None:
    s.courses.append(TherapyCourse(Drug.TAMOXIFEN, day(start), None, None if stop is None else day(stop), reason,
                                   TAMOXIFEN_MG))
    _dispense(s, Drug.TAMOXIFEN, TAMOXIFEN_MG, start, s.end if stop is None else stop - 75)
    s.tam_spans.append((start, s.end if stop is None else stop))


def endocrine(s: Story, kind: str) -> None:
    """kind: planned | current | completed | stopped (an AI stopped early for side effects)."""
    rng, end = s.rng, s.end
    drug, mg = _pick_ai(s)
    switch = rng.random() < (0.30 if kind == "planned" else 0.15)
    if kind == "planned":
        planned = s.today + randint(rng, -20, 60)
        s.courses.append(TherapyCourse(drug, None, day(planned), dose_mg=mg))
        s.ai_first = planned
        if switch:
            _tamoxifen(s, end - randint(rng, 700, 1100), None, None)
        return
    if kind == "completed":
        stop = end - randint(rng, 1, 1100)
        if switch:
            tam_start = months_later(stop, -60)
            start = tam_start + randint(rng, 600, 1000)
            _tamoxifen(s, tam_start, start - 1, "switched to an aromatase inhibitor")
        else:
            start = months_later(stop, -60)
        _ai_course(s, drug, mg, start, stop, COMPLETED)
        return
    if kind == "stopped":
        start = end - randint(rng, 240, 1700)
        stop = start + randint(rng, 60, min(600, end - start - 60))
        _ai_course(s, drug, mg, start, stop, "stopped: arthralgia")
        if rng.random() < 0.6:
            other, other_mg = _pick_ai(s, exclude=drug)
            _ai_course(s, other, other_mg, stop + randint(rng, 14, 45), None, None)
        else:
            _tamoxifen(s, stop + randint(rng, 14, 45), None, None)
        return
    start = end - randint(rng, 20, 1790)
    if switch:
        _tamoxifen(s, start - randint(rng, 600, 1000), start - 1, "switched to an aromatase inhibitor")
    _ai_course(s, drug, mg, start, None, None)


# --------------------------------------------------------------------------- bone-modifying agents


def start_bma(s: Story, first: int) -> None:
    """Choose an agent and write its history from `first` (≤ end): doses, pre-dose labs, BTM days."""
    rng = s.rng
    s.bma_first = first
    if rng.random() < 0.9:
        s.note(NoteKind.DENTAL_CHECK, first - randint(rng, 14, 150), "dental assessment before bone therapy")
    if rng.random() < 0.85:
        s.marker_days.append(first - randint(rng, 1, 60))  # B1 baseline, before the first dose
    on = max(s.birth, first - randint(rng, 3, 25))  # baseline labs, also the first dose's pre-dose labs
    s.calcium(on)
    s.vitamin_d(on)
    s.renal(on, egfr=True, crcl=rng.random() < 0.7, creatinine=True)
    u = rng.random()
    if u < 0.40:
        _denosumab(s, first)
    elif u < 0.55:
        _zoledronic(s, first, 5.0, 12, max_doses=99)
    elif u < 0.70:
        _zoledronic(s, first, 4.0, 6, max_doses=6)
    else:
        _alendronate(s, first)


def _on_treatment_markers(s: Story, first: int, last: int) -> None:
    on = first + randint(s.rng, 80, 110)
    while on <= min(last, s.end):
        s.marker_days.append(on)
        on += randint(s.rng, 90, 182)


def _holiday_from(s: Story) -> int | None:
    """Half of the bisphosphonate users who completed their AI pause it: no dose after the AI stop."""
    if s.ai_stop is None or s.rng.random() >= 0.5:
        return None
    return s.ai_stop


def _holiday(s: Story, stop: int) -> None:
    """Close the bisphosphonate course just appended with a holiday (HOLIDAY)."""
    if stop > s.end:
        return
    s.note(NoteKind.HOLIDAY_REVIEW, stop - randint(s.rng, 0, 30), "AI completed, fracture risk reviewed: pause")
    s.note(NoteKind.HOLIDAY_START, stop)
    c = s.courses[-1]
    s.courses[-1] = TherapyCourse(c.drug, c.start, None, day(stop), "bisphosphonate holiday", c.dose_mg,
                                  c.interval_months)


def _denosumab(s: Story, first: int) -> None:
    rng, end = s.rng, s.end
    p_late = 0.04 if rng.random() < 0.7 else 0.30
    stop_after = None  # last day on which a dose may still be given before a documented stop
    if s.ai_stop is not None and s.ai_stop > first and rng.random() < 0.6:
        stop_after = s.ai_stop
    elif rng.random() < 0.12:
        stop_after = months_later(first, 6 * randint(rng, 1, 7))
    doses: list[int] = []
    on = first
    while on <= end and (stop_after is None or on <= stop_after):
        if doses:
            s.predose_labs(on, iv=False, vitamin_d=len(doses) % 2 == 0)
        doses.append(on)
        late = randint(rng, 30, 120) if rng.random() < p_late else randint(rng, -14, 21)
        on = months_later(on, 6) + late
    course = TherapyCourse(Drug.DENOSUMAB, day(first), dose_mg=60.0, interval_months=6)
    s.doses.extend(Dose(Drug.DENOSUMAB, day(d), 60.0, None, Route.SC) for d in doses)
    last = doses[-1]
    effect_end = last + 210
    stop = last + randint(rng, 120, 200) if stop_after is not None else None
    s.courses.append(course)
    if stop is not None and stop <= end:
        reason = "aromatase inhibitor stopped" if stop_after == s.ai_stop else rng.choice(
            ("patient choice", "dental concerns", "moved to bisphosphonate"))
        s.courses[-1] = TherapyCourse(Drug.DENOSUMAB, day(first), None, day(stop), reason, 60.0, 6)
    s.bma_spans.append((first, min(effect_end, end), *DMAB))
    _on_treatment_markers(s, first, effect_end + 200)
    if effect_end >= end:
        return
    sequential = months_later(last, 6) + randint(rng, -10, 30)
    if stop is not None and rng.random() < 0.6 and sequential <= end:
        _zoledronic(s, sequential, 5.0, 12, max_doses=2)
    else:  # stopped without a sequential bisphosphonate, or simply not given: rebound bone loss
        s.rebound.append((effect_end, effect_end + 400, *REBOUND))


def _zoledronic(s: Story, first: int, mg: float, interval: int, *, max_doses: int) -> None:
    rng, end = s.rng, s.end
    pause = _holiday_from(s) if max_doses > 2 else None
    doses: list[int] = []
    on = first
    while on <= end and len(doses) < max_doses and (pause is None or on <= pause or not doses):
        if doses or s.bma_first != first:
            s.predose_labs(on, iv=True, vitamin_d=True)
        doses.append(on)
        on = months_later(on, interval) + (randint(rng, -20, 45) if interval == 12 else randint(rng, -14, 28))
    s.doses.extend(Dose(Drug.ZOLEDRONIC_ACID, day(d), mg, None, Route.IV) for d in doses)
    s.courses.append(TherapyCourse(Drug.ZOLEDRONIC_ACID, day(first), dose_mg=mg, interval_months=interval))
    last = doses[-1]
    if mg == 4.0 and len(doses) == max_doses and months_later(last, 6) <= end:
        stop = months_later(last, 6)
        s.courses[-1] = TherapyCourse(Drug.ZOLEDRONIC_ACID, day(first), None, day(stop),
                                      "adjuvant regimen completed (3 years)", mg, interval)
    elif pause is not None and on > pause:
        _holiday(s, months_later(last, interval))
    s.bma_spans.append((first, last + (540 if interval == 12 else 365), *ZOL))
    _on_treatment_markers(s, first, last + 365)


def _alendronate(s: Story, first: int) -> None:
    rng, end = s.rng, s.end
    supply = 28 if rng.random() < 0.4 else 84
    u = rng.random()
    gap_p, gap_max = (0.03, 20) if u < 0.6 else (0.25, 60) if u < 0.85 else (0.6, 120)
    intolerant = rng.random() < 0.08
    pause = None if intolerant else _holiday_from(s)
    quit_after = first + randint(rng, 60, 400) if intolerant else pause
    fills: list[int] = []
    on = checked = first
    while on <= end and (quit_after is None or on <= quit_after or not fills):
        if on - checked >= 365:  # yearly calcium and renal function on an oral bisphosphonate
            checked = on
            lab_day = on - randint(rng, 0, 20)
            s.calcium(lab_day)
            s.renal(lab_day, egfr=False, crcl=True, creatinine=True)
        fills.append(on)
        on += supply + randint(rng, -5, 7)
        if rng.random() < gap_p:
            on += randint(rng, 7, gap_max)
    s.doses.extend(Dose(Drug.ALENDRONATE, day(d), 70.0, supply, Route.ORAL) for d in fills)
    s.courses.append(TherapyCourse(Drug.ALENDRONATE, day(first), dose_mg=70.0))
    last = fills[-1] + supply
    if intolerant and last <= end:
        s.note(NoteKind.ORAL_BP_INTOLERANCE, last - randint(rng, 0, 14), "heartburn on alendronate")
        s.courses[-1] = TherapyCourse(Drug.ALENDRONATE, day(first), None, day(last), "intolerance", 70.0)
    elif pause is not None and on > pause:
        _holiday(s, last)
    s.bma_spans.append((first, min(last + 60, end), *(ALN_GOOD if gap_p < 0.5 else ALN_POOR)))
    _on_treatment_markers(s, first, last)
