"""Measurements of the synthetic cohort: DXA series, fractures, FRAX, bone turnover markers, vitals.

Private to monitor.demo.cohort. BMD follows the treatment state written by monitor.demo.therapy: it falls
1–3 %/year on an AI without a bone-modifying agent (docs/rules.md CHANGE), is stable or rises on one, and
rebounds downwards after denosumab ends without a bisphosphonate. T-scores are computed from the
rounded BMD against one young-adult reference per site: T = (BMD − mean) / SD, two decimals.
"""

from __future__ import annotations

import math
from decimal import Decimal
from itertools import pairwise

from monitor.core.domain import (
    DxaRoi,
    DxaSite,
    Fracture,
    FractureSite,
    Frax,
    Marker,
    MarkerAnalyte,
    Mechanism,
    NoteKind,
    Side,
    Vitals,
)
from monitor.demo.story import YEAR, Story, day, noise, randint

# Young-adult reference (g/cm²): site, mean, SD, short-term precision (CV) of one measurement.
REFERENCE = (
    (DxaSite.LUMBAR_SPINE, 1.047, 0.110, 0.013),
    (DxaSite.FEMORAL_NECK, 0.858, 0.120, 0.020),
    (DxaSite.TOTAL_HIP, 0.942, 0.122, 0.012),
)
# Scanner ids and their small calibration offset against the reference (why CHANGE compares one scanner only).
SCANNERS = {"HOLOGIC-A": 1.000, "HOLOGIC-B": 1.008, "GE-A": 0.991, "GE-B": 1.012}
SCANNER_IDS = tuple(SCANNERS)
NATURAL = (-0.007, -0.006, -0.006)  # late postmenopause, ~0.5–1 %/year
TAMOXIFEN = (0.004, 0.002, 0.003)
T_MIN_HUNDREDTHS, T_MAX_HUNDREDTHS = -600, 450
T_DECIMAL = tuple(Decimal(f"{k / 100:.2f}") for k in range(T_MIN_HUNDREDTHS, T_MAX_HUNDREDTHS + 1))

FRACTURE_SITES = (FractureSite.HIP, FractureSite.VERTEBRA, FractureSite.DISTAL_FOREARM,
                  FractureSite.PROXIMAL_HUMERUS, FractureSite.PELVIS, FractureSite.OTHER)
FRACTURE_WEIGHTS = (0.14, 0.30, 0.28, 0.13, 0.05, 0.10)
MECHANISMS = (Mechanism.FRAGILITY, Mechanism.TRAUMA, Mechanism.UNKNOWN)
MECHANISM_WEIGHTS = (0.70, 0.25, 0.05)
MARKER_SPACING_DAYS = 45


def t_decimal(t: float) -> Decimal:
    k = min(T_MAX_HUNDREDTHS, max(T_MIN_HUNDREDTHS, round(t * 100)))
    return T_DECIMAL[k - T_MIN_HUNDREDTHS]


def exam_days(s: Story, *, planned: bool) -> list[int]:
    """Baseline DXA up to ~3 months before the AI start, then every 12–24 months; some series lapse."""
    rng = s.rng
    if planned:
        if rng.random() < 0.3:
            return []
        first = s.today - randint(rng, 0, 120)
    else:
        first = min(s.ai_first, s.end) - randint(rng, 0, 100)
    first = max(first, s.birth + int(40 * YEAR))
    if first > s.end:
        return []
    lo, hi = (340, 430) if rng.random() < 0.6 else (520, 730)
    lapse = None
    if s.ai_stop is not None and rng.random() < 0.35:
        lapse = s.ai_stop + randint(rng, 60, 300)
    elif rng.random() < 0.05:
        lapse = first + randint(rng, 300, 1500)
    days = [first]
    on = first + randint(rng, lo, hi)
    while on <= s.end and (lapse is None or on <= lapse):
        days.append(on)
        on += randint(rng, lo, hi)
    return days


def baseline_t(s: Story, first_exam: int, *, premenopausal: bool, male: bool) -> tuple[float, float, float]:
    """True T-scores (lumbar spine, femoral neck, total hip) at the first exam, lower with age."""
    rng = s.rng
    age = s.age_years(first_exam)
    mean = -0.2 if premenopausal else -0.85 - 0.035 * (age - 62.0) + (0.4 if male else 0.0)
    latent = rng.gauss(mean, 0.9)
    return (latent + rng.gauss(0.0, 0.45), latent + rng.gauss(-0.15, 0.35), latent + rng.gauss(0.30, 0.35))


def fracture(s: Story, t_min: float | None) -> bool:
    """~8 % have a fracture, more with low BMD. True when it is a hip or vertebral fragility fracture."""
    rng = s.rng
    p = 0.07 if t_min is None else 0.16 if t_min <= -2.5 else 0.08 if t_min < -1.0 else 0.05
    if rng.random() >= p:
        return False
    lo = max(s.birth + int(50 * YEAR), s.end - int(8 * YEAR))
    if lo > s.end:
        return False
    site = rng.choices(FRACTURE_SITES, FRACTURE_WEIGHTS)[0]
    mechanism = rng.choices(MECHANISMS, MECHANISM_WEIGHTS)[0]
    grade = rng.choice((1, 2, 2, 3)) if site is FractureSite.VERTEBRA and rng.random() < 0.5 else None
    s.fractures.append(Fracture(day(randint(rng, lo, s.end)), site, mechanism, grade))
    return mechanism is Mechanism.FRAGILITY and site in (FractureSite.HIP, FractureSite.VERTEBRA) and grade != 1


def _rates(s: Story, on: int, ai_rates: tuple[float, float, float]) -> tuple[float, float, float]:
    seg = s.segment_at(on)
    if seg is not None:
        return seg[2]
    if s.on_ai(on):
        return ai_rates
    return TAMOXIFEN if s.on_tamoxifen(on) else NATURAL


def _growth(s: Story, a: int, b: int, ai_rates: tuple[float, float, float]) -> tuple[float, float, float]:
    """Σ annual log-rate × years over [a, b), cut wherever the treatment state changes."""
    cuts = {a, b}
    for seg in (*s.rebound, *s.bma_spans):
        cuts.update(x for x in (seg[0], seg[1] + 1) if a < x < b)
    for x0, x1 in (*s.ai_spans, *s.tam_spans):
        cuts.update(x for x in (x0, x1 + 1) if a < x < b)
    ls = fn = th = 0.0
    for lo, hi in pairwise(sorted(cuts)):
        r = _rates(s, (lo + hi) // 2, ai_rates)
        years = (hi - lo) / YEAR
        ls += r[0] * years
        fn += r[1] * years
        th += r[2] * years
    return ls, fn, th


def dxa_series(s: Story, exams: list[int], t0: tuple[float, float, float], *, ai_loss: float, frax: bool,
               fragility_fx: bool) -> None:
    """ROIs of every exam (femoral neck, total hip, L1–L4 or L1–L3), with FRAX, labs and reviews beside some."""
    rng = s.rng
    ai_rates = (-ai_loss * 1.1, -ai_loss, -ai_loss * 0.9)
    bmd0 = [mean + t * sd for t, (_, mean, sd, _) in zip(t0, REFERENCE, strict=True)]
    primary = rng.choice(SCANNER_IDS)
    side = Side.LEFT if rng.random() < 0.85 else Side.RIGHT
    cum = [0.0, 0.0, 0.0]
    prev = exams[0]
    on_bma = s.bma_first is not None
    for k, on in enumerate(exams):
        g = _growth(s, prev, on, ai_rates)
        cum = [c + x for c, x in zip(cum, g, strict=True)]
        prev = on
        scanner = primary if rng.random() < 0.92 else rng.choice(SCANNER_IDS)
        cal = SCANNERS[scanner]
        vertebrae = 4 if rng.random() < 0.92 else 3
        bmd = [round(min(2.2, max(0.25, b * math.exp(c) * cal * (1.0 + noise(rng, ref[3])))), 3)
               for b, c, ref in zip(bmd0, cum, REFERENCE, strict=True)]
        t = [t_decimal((b - ref[1]) / ref[2]) for b, ref in zip(bmd, REFERENCE, strict=True)]
        d = day(on)
        s.dxa += (
            DxaRoi(d, DxaSite.LUMBAR_SPINE, t[0], Side.NONE, None, bmd[0], scanner, vertebrae),
            DxaRoi(d, DxaSite.FEMORAL_NECK, t[1], side, None, bmd[1], scanner),
            DxaRoi(d, DxaSite.TOTAL_HIP, t[2], side, None, bmd[2], scanner),
        )
        t_fn = float(t[1])
        if frax and (k == len(exams) - 1 or rng.random() < 0.5):
            _frax(s, on, t_fn, fragility_fx)
        if rng.random() < 0.4:
            s.note(NoteKind.RISK_REVIEW, on + randint(rng, 0, 21), "fracture risk and adherence reviewed")
        if not on_bma and rng.random() < 0.5:
            lab_day = max(s.birth, on - randint(rng, 0, 14))
            s.calcium(lab_day)
            s.vitamin_d(lab_day)


def _frax(s: Story, on: int, t_fn: float, fragility_fx: bool) -> None:
    rng = s.rng
    age = s.age_years(on)
    hip = 0.3 * math.exp(-0.85 * t_fn + 0.07 * (age - 65.0)) * rng.lognormvariate(0.0, 0.25)
    hip *= 1.8 if fragility_fx else 1.0
    hip = min(60.0, hip)
    mof = min(90.0, max(1.0, 5.0 + 2.4 * hip + noise(rng, 1.5)))
    s.frax.append(Frax(day(on), round(hip, 1), round(mof, 1), True))


def markers(s: Story) -> None:
    """CTX (ng/L) and P1NP (µg/L) on the BTM days the therapy history chose, scaled by the treatment state."""
    rng = s.rng
    kept = -MARKER_SPACING_DAYS
    for on in sorted(s.marker_days):
        if not s.birth <= on <= s.end or on - kept < MARKER_SPACING_DAYS:
            continue  # two schedules (e.g. denosumab, then the sequential bisphosphonate) share a draw
        kept = on
        seg = s.segment_at(on)
        if seg is not None:
            f_ctx, f_p1np = seg[3], seg[4]
        elif s.on_ai(on):
            f_ctx = f_p1np = 1.0
        else:
            f_ctx, f_p1np = (0.75, 0.8) if s.on_tamoxifen(on) else (0.9, 0.9)
        d = day(on)
        ctx = round(min(5000.0, s.ctx0 * f_ctx * math.exp(noise(rng, 0.15))))
        s.markers.append(Marker(d, MarkerAnalyte.CTX, float(ctx), "ng/L"))
        if rng.random() < 0.9:
            p1np = round(min(1500.0, s.p1np0 * f_p1np * math.exp(noise(rng, 0.15))), 1)
            s.markers.append(Marker(d, MarkerAnalyte.P1NP, p1np, "ug/L"))


def vitals(s: Story, first: int) -> None:
    """Weight, height, BMI and (mostly) waist about once a year from `first` to the end."""
    rng = s.rng
    weight = s.weight
    height = min(182.0, max(142.0, rng.gauss(161.0, 6.5)))
    on = max(first, s.birth + int(40 * YEAR)) + randint(rng, 0, 60)
    while on <= s.end:
        weight = min(140.0, max(40.0, weight + noise(rng, 1.5)))
        height -= 0.25
        bmi = round(weight / (height / 100.0) ** 2, 1)
        waist = round(0.78 * weight + 30.0 + noise(rng, 4.0), 1) if rng.random() < 0.7 else None
        s.vitals.append(Vitals(day(on), round(weight, 1), round(height, 1), bmi, waist))
        on += randint(rng, 330, 400)
