"""Fracture-risk tier as of a date (docs/rules.md TIER, H1–UX): `assess(facts, *, as_of, policy) -> Assessment`.

Pure. Facts dated after `as_of` are ignored; undated notes count on every date (A1c). Order of
the algorithm follows TIER: every H rule that holds is a reason; otherwise the one rule that
decided.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from monitor.core.dates import add_days, add_months, age_on
from monitor.core.domain import (
    TIERING_SITES,
    AIStatus,
    Assessment,
    BmdStatus,
    Drug,
    DrugClass,
    DxaRoi,
    DxaSite,
    FractureSite,
    Mechanism,
    Menopause,
    NoteKind,
    PatientFacts,
    Sex,
    Tier,
)
from monitor.core.policy import Policy
from monitor.core.therapy import ai_plus, ai_state, courses_as_of

ONE_DECIMAL = Decimal("0.1")
# Tie-break when two sites share T_min: the named sites before `unspecified`.
SITE_ORDER = (DxaSite.LUMBAR_SPINE, DxaSite.FEMORAL_NECK, DxaSite.TOTAL_HIP, DxaSite.RADIUS_33, DxaSite.UNSPECIFIED)
H1_SITES = (FractureSite.HIP, FractureSite.VERTEBRA)
H3B_SITES = (FractureSite.PROXIMAL_HUMERUS, FractureSite.PELVIS, FractureSite.DISTAL_FOREARM)
ASCO_SITES = (DxaSite.LUMBAR_SPINE, DxaSite.FEMORAL_NECK, DxaSite.TOTAL_HIP)


def round_t(value: Decimal) -> Decimal:
    """A3: one decimal, half away from zero, in decimal arithmetic (−1.05 → −1.1)."""
    return value.quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class BmdAssessment:
    """T-MIN, A1–A2, A6: one DXA assessment and how old it is."""

    rois: tuple[DxaRoi, ...]
    t_min: Decimal | None
    t_min_site: DxaSite | None
    exam_date: date | None
    status: BmdStatus

    @property
    def usable_t(self) -> Decimal | None:
        return self.t_min if self.status in (BmdStatus.FRESH, BmdStatus.AGING) else None


def tiering_rois(facts: PatientFacts, as_of: date, policy: Policy) -> list[DxaRoi]:
    min_vertebrae = policy.risk.lumbar_min_vertebrae
    return [
        r for r in facts.dxa
        if r.date <= as_of and r.valid and r.t_score is not None and r.site in TIERING_SITES
        and not (r.site is DxaSite.LUMBAR_SPINE and r.vertebrae is not None and r.vertebrae < min_vertebrae)
    ]


def bmd_assessment(facts: PatientFacts, as_of: date, policy: Policy) -> BmdAssessment:
    rois = tiering_rois(facts, as_of, policy)
    if not rois:
        return BmdAssessment((), None, None, None, BmdStatus.NONE)
    latest = max(r.date for r in rois)
    window_start = add_days(latest, -policy.risk.assessment_window_days)
    group = tuple(r for r in rois if window_start <= r.date <= latest)
    best = min(group, key=lambda r: (round_t(r.t_score), SITE_ORDER.index(r.site), -r.date.toordinal()))
    if as_of <= add_months(latest, policy.risk.bmd_fresh_months):
        status = BmdStatus.FRESH
    elif as_of <= add_months(latest, policy.risk.bmd_stale_months):
        status = BmdStatus.AGING
    else:
        status = BmdStatus.STALE
    return BmdAssessment(group, round_t(best.t_score), best.site, latest, status)


@dataclass(frozen=True, slots=True)
class FraxReading:
    usable: bool
    above_threshold: bool


def frax_reading(facts: PatientFacts, as_of: date, policy: Policy) -> FraxReading:
    """A8: the latest FRAX counts if ≤ 12 m old and not older than the latest fracture or DXA."""
    past = [f for f in facts.frax if f.date <= as_of]
    if not past:
        return FraxReading(False, False)
    latest = max(past, key=lambda f: f.date)
    r = policy.risk
    usable = as_of <= add_months(latest.date, r.frax_max_age_months)
    last_fx = max((f.date for f in facts.fractures if f.date <= as_of), default=None)
    last_dxa = max((d.date for d in facts.dxa if d.date <= as_of), default=None)
    if last_fx is not None and latest.date < last_fx:
        usable = False
    if last_dxa is not None and latest.date < last_dxa:
        usable = False
    above = (latest.hip is not None and latest.hip >= r.frax_hip_threshold) or (
        latest.mof is not None and latest.mof >= r.frax_mof_threshold
    )
    return FraxReading(usable, usable and above)


def exit_reasons(facts: PatientFacts, as_of: date, policy: Policy) -> tuple[list[str], list[str]]:
    """SCOPE, A11, ALERT-EXIT: (reasons the patient leaves the pathway, flags)."""
    exits: list[str] = []
    flags: list[str] = []
    p = facts.patient
    if p.deceased_date is not None and p.deceased_date <= as_of:
        exits.append("DECEASED")
        flags.append("DECEASED")
    if p.sex is Sex.MALE:
        exits.append("MALE")
        flags.append("OUT_OF_SCOPE")
    if p.menopause is Menopause.PRE:
        exits.append("PREMENOPAUSAL")
        flags.append("OUT_OF_SCOPE")
    notes = [n for n in facts.notes if n.date is None or n.date <= as_of]
    if any(n.kind is NoteKind.OFS for n in notes):
        exits.append("OFS")
        flags.append("OUT_OF_SCOPE")
    if any(n.kind is NoteKind.BONE_METASTASIS for n in notes):
        exits.append("BONE_METASTASIS")
    if any(f.mechanism is Mechanism.PATHOLOGICAL and f.date <= as_of for f in facts.fractures):
        exits.append("PATHOLOGICAL_FRACTURE")
    dmab_metastatic = policy.denosumab.metastatic_dose_mg
    if any(d.drug is Drug.DENOSUMAB and d.date <= as_of and d.dose_mg is not None and d.dose_mg >= dmab_metastatic
           for d in facts.doses) or any(
        c.drug is Drug.DENOSUMAB and c.dose_mg is not None and c.dose_mg >= dmab_metastatic
        for c in courses_as_of(facts, as_of, DrugClass.DENOSUMAB)
    ):
        exits.append("DENOSUMAB_120")
    zol = sorted(d.date for d in facts.doses if d.drug is Drug.ZOLEDRONIC_ACID and d.date <= as_of)
    ordered_monthly = any(
        c.interval_months is not None and c.interval_months * 30 < policy.bp.metastatic_interval_days
        for c in courses_as_of(facts, as_of, DrugClass.BISPHOSPHONATE) if c.drug is Drug.ZOLEDRONIC_ACID
    )
    if ordered_monthly or any((b - a).days < policy.bp.metastatic_interval_days for a, b in itertools.pairwise(zol)):
        exits.append("ZOL_METASTATIC_REGIMEN")
    return list(dict.fromkeys(exits)), list(dict.fromkeys(flags))


def lifestyle_flags(facts: PatientFacts, as_of: date, policy: Policy) -> list[str]:
    """A14, from the latest vitals that carry each measurement."""
    flags: list[str] = []
    past = [v for v in facts.vitals if v.date <= as_of]
    bmi = next((v.bmi_value for v in sorted(past, key=lambda v: v.date, reverse=True) if v.bmi_value is not None), None)
    waist = next((v.waist_cm for v in sorted(past, key=lambda v: v.date, reverse=True) if v.waist_cm is not None), None)
    lp = policy.lifestyle
    if bmi is not None and bmi < lp.bmi_low:
        flags.append("BMI_LOW")
    if bmi is not None and bmi > lp.bmi_high:
        flags.append("BMI_HIGH")
    if waist is not None and waist >= lp.waist_high_cm:
        flags.append("WAIST_HIGH")
    return flags


def _hadji_factors(facts: PatientFacts, as_of: date, policy: Policy, ai_positive: bool) -> int:
    r = policy.risk
    p = facts.patient
    n = 0
    n += ai_positive
    n += any(
        f.is_fragility and age_on(p.birth_date, f.date) > r.fragility_fracture_age_years
        for f in facts.fractures if f.date <= as_of
    )
    for c in courses_as_of(facts, as_of, DrugClass.GLUCOCORTICOID):
        if c.start is not None and add_months(c.start, r.hadji_glucocorticoid_months) < (c.stop or as_of):
            n += 1
            break
    notes = {nt.kind for nt in facts.notes if nt.date is None or nt.date <= as_of}
    n += NoteKind.SMOKER in notes
    n += NoteKind.FAMILY_HIP_FRACTURE in notes
    n += age_on(p.birth_date, as_of) > r.hadji_age_factor_years
    bmis = [v.bmi_value for v in sorted(facts.vitals, key=lambda v: v.date) if v.date <= as_of and v.bmi_value]
    n += bool(bmis) and bmis[-1] < r.hadji_bmi_factor
    return n


def bma_indicated(
    tier: Tier, t: Decimal | None, bmd: BmdAssessment, frax: FraxReading, facts: PatientFacts, as_of: date,
    policy: Policy, ai_positive: bool,
) -> bool:
    """PROFILES: profiles change only this output."""
    r = policy.risk
    if r.profile == "paper":
        return tier in (Tier.MODERATE, Tier.HIGH)
    if r.profile == "hadji2017":
        factors = _hadji_factors(facts, as_of, policy, ai_positive)
        if t is None:
            return factors >= r.hadji_factors_without_bmd
        return t < Decimal(str(r.hadji_t_bma)) or (t < Decimal(str(r.hadji_t_bma_with_factor)) and factors >= 1)
    # asco2019: T ≤ −2.5 at LS, FN or TH, or FRAX above threshold.
    axial = [round_t(x.t_score) for x in bmd.rois if x.site in ASCO_SITES and x.t_score is not None]
    osteo = bmd.usable_t is not None and axial and min(axial) <= Decimal(str(r.osteoporosis_t_max))
    return bool(osteo) or frax.above_threshold


def assess(facts: PatientFacts, *, as_of: date, policy: Policy) -> Assessment:
    r = policy.risk
    normal_min = Decimal(str(r.normal_t_min))
    osteo_max = Decimal(str(r.osteoporosis_t_max))
    flags: list[str] = []

    exits, scope_flags = exit_reasons(facts, as_of, policy)
    flags += scope_flags
    if facts.patient.menopause is Menopause.UNKNOWN and facts.patient.sex is not Sex.MALE:
        flags.append("MENOPAUSE_UNKNOWN")

    bmd = bmd_assessment(facts, as_of, policy)
    t = bmd.usable_t
    if bmd.status is BmdStatus.NONE:
        flags.append("NO_BMD")
    elif bmd.status is BmdStatus.STALE:
        flags.append("BMD_STALE")
    elif any(x.site is DxaSite.UNSPECIFIED for x in bmd.rois):
        flags.append("SITE_UNSPECIFIED")

    ai = ai_state(facts, as_of, r)
    flags += ai.flags
    positive = ai_plus(ai.status)

    fractures = [f for f in facts.fractures if f.date <= as_of]
    h1 = any(
        f.is_fragility and f.site in H1_SITES and not (f.site is FractureSite.VERTEBRA and f.genant_grade == 1)
        for f in fractures
    )
    h3b_fx = any(f.is_fragility and f.site in H3B_SITES for f in fractures)
    if any(f.is_fragility and f.site is FractureSite.VERTEBRA and f.genant_grade == 1 for f in fractures):
        flags.append("VERTEBRAL_DEFORMITY_REVIEW")
    if any(f.mechanism is Mechanism.UNKNOWN for f in fractures):
        flags.append("FX_MECHANISM_UNKNOWN")
    if any(f.mechanism is Mechanism.ATYPICAL for f in fractures):
        flags.append("ATYPICAL_FEMORAL_FRACTURE")
    frax = frax_reading(facts, as_of, policy)

    osteoporosis = t is not None and t <= osteo_max
    osteopenia = t is not None and osteo_max < t < normal_min
    normal = t is not None and t >= normal_min

    reasons = [
        rule for rule, holds in (
            ("H1", h1),
            ("H2", osteoporosis),
            ("H3a", osteopenia and positive),
            ("H3b", osteopenia and h3b_fx),
            ("H3c", osteopenia and frax.above_threshold),
        ) if holds
    ]
    provisional = False
    if reasons:
        tier = Tier.HIGH
    elif normal and positive:
        tier, reasons = Tier.MODERATE, ["M1"]
    elif osteopenia:
        tier, reasons = Tier.MODERATE, ["M2"]
    elif normal:
        tier, reasons = Tier.LOW, ["L1"]
    elif positive:
        tier, reasons, provisional = Tier.MODERATE, ["MX"], True
    else:
        tier, reasons = Tier.UNKNOWN, ["UX"]

    if not osteopenia and not osteoporosis and h3b_fx:
        flags.append("FX_OUTSIDE_TIER")
    if not osteopenia and not osteoporosis and frax.above_threshold:
        flags.append("FRAX_OUTSIDE_TIER")
    if bmd.status is BmdStatus.AGING and tier in (Tier.MODERATE, Tier.HIGH):
        flags.append("BMD_DUE")
    flags += lifestyle_flags(facts, as_of, policy)

    return Assessment(
        as_of=as_of,
        tier=tier,
        provisional=provisional,
        reasons=tuple(reasons),
        flags=tuple(dict.fromkeys(flags)),
        t_min=bmd.t_min if t is not None else None,
        t_min_site=bmd.t_min_site if t is not None else None,
        bmd_date=bmd.exam_date,
        bmd_status=bmd.status,
        ai_status=ai.status,
        bma_indicated=bma_indicated(tier, t, bmd, frax, facts, as_of, policy, positive),
        in_pathway=not exits,
        exit_reasons=tuple(exits),
    )


__all__ = ["AIStatus", "BmdAssessment", "assess", "bmd_assessment", "round_t"]
