"""Policy: every interval, window and threshold of the clinical rules (docs/rules.md), as a declared registry.

Each section is a frozen dataclass; each field declares in its metadata its unit, a one-line help and
the ids of the docs/rules.md rules that read it. The values themselves live only in `config.toml`
(monitor/settings.py reads it); no clinical number is a literal in code. docs/config.md's table is
generated from this registry by docs/config_table.py and checked against it by tests/test_docs.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def key(unit: str, help: str, spec: str = "", choices: tuple[str, ...] = ()) -> Any:
    """A config key: no default here, the value comes from config.toml."""
    return field(metadata={"unit": unit, "help": help, "spec": spec, "choices": choices})


@dataclass(frozen=True)
class RiskPolicy:
    profile: str = key("name", "threshold profile for bma_indicated", "PROFILES",
                       ("paper", "hadji2017", "asco2019"))
    normal_t_min: float = key("T-score", "T at or above this is normal (−1.0 counts as normal)", "M1, L1, A3")
    osteoporosis_t_max: float = key("T-score", "T at or below this is osteoporosis (−2.5 counts)", "H2, A3")
    t_score_lowest: float = key("T-score", "lowest T- or Z-score accepted as input", "T-MIN")
    t_score_highest: float = key("T-score", "highest T- or Z-score accepted as input", "T-MIN")
    lumbar_min_vertebrae: int = key("vertebrae", "fewest evaluable vertebrae for a lumbar ROI", "A1")
    assessment_window_days: int = key("days", "ROIs this close to the latest exam join its assessment", "A2")
    bmd_fresh_months: int = key("months", "a DXA up to this old is FRESH", "A6")
    bmd_stale_months: int = key("months", "a DXA older than this is STALE (ignored)", "A6")
    ai_supply_grace_days: int = key("days", "AI is CURRENT until last supply end + this", "A4, A4-GAP")
    ai_plan_lookahead_days: int = key("days", "a planned AI within this many days is PLANNED", "A4")
    ai_plan_expiry_days: int = key("days", "a plan this long past its start without a start expires", "A4")
    frax_hip_threshold: float = key("%", "FRAX 10-year hip probability at or above this is a factor", "A8")
    frax_mof_threshold: float = key("%", "FRAX 10-year MOF probability at or above this is a factor", "A8")
    frax_max_age_months: int = key("months", "FRAX older than this is not usable", "A8")
    hadji_t_bma: float = key("T-score", "hadji2017: BMA when T is below this", "PROFILES")
    hadji_t_bma_with_factor: float = key("T-score", "hadji2017: BMA when T below this with ≥1 factor", "PROFILES")
    hadji_factors_without_bmd: int = key("factors", "hadji2017: BMA with this many factors and no BMD", "PROFILES")
    hadji_age_factor_years: int = key("years", "hadji2017: age above this is a risk factor", "PROFILES")
    hadji_bmi_factor: float = key("kg/m²", "hadji2017: BMI below this is a risk factor", "PROFILES")
    hadji_glucocorticoid_months: int = key("months", "hadji2017: oral glucocorticoids longer than this", "PROFILES")
    fragility_fracture_age_years: int = key("years", "hadji2017: fragility fracture after this age", "PROFILES")


@dataclass(frozen=True)
class LifestylePolicy:
    bmi_low: float = key("kg/m²", "BMI below this flags BMI_LOW", "A14")
    bmi_high: float = key("kg/m²", "BMI above this flags BMI_HIGH", "A14")
    waist_high_cm: float = key("cm", "waist at or above this flags WAIST_HIGH", "A14")
    task_latest_days: int = key("days", "lifestyle counselling task latest = vitals date + this", "A14")


@dataclass(frozen=True)
class DxaPolicy:
    d1_earliest_months_before: int = key("months", "D1 earliest = AI start − this", "D1")
    d1_latest_days_after: int = key("days", "D1 latest = AI start + this", "D1")
    d2_earliest_months: int = key("months", "D2 earliest = last DXA + this", "D2")
    d2_target_months: int = key("months", "D2 target = last DXA + this", "D2")
    d3_earliest_months: int = key("months", "D3 earliest = anchor + this", "D3")
    d3_target_months: int = key("months", "D3 target = anchor + this", "D3")
    grace_days_long: int = key("days", "booking grace for intervals ≥ 12 months", "WINDOW, D2, D3")
    d5_days: int = key("days", "D5 target and latest = event + this", "D5")
    d5_glucocorticoid_months: int = key("months", "a glucocorticoid course this long triggers D5", "D5")
    d6_grace_days: int = key("days", "D6 latest = anchor + this", "D6")
    min_spacing_months: int = key("months", "no routine DXA sooner than this after the last", "D2, D3")


@dataclass(frozen=True)
class BtmPolicy:
    panel: list[str] = key("analytes", "markers that complete a BTM task (the default panel)", "A15, BTM-PANEL")
    accepted: list[str] = key("analytes", "other markers that also complete a BTM task", "A15, BTM-PANEL")
    b1_earliest_days: int = key("days", "B1 earliest = first BMA dose − this", "B1")
    b2_first_target_months: int = key("months", "B2-first target = BMA start + this", "B2-first")
    b2_first_latest_months: int = key("months", "B2-first latest = BMA start + this + grace", "B2-first")
    b2_earliest_months: int = key("months", "B2 earliest = last BTM + this", "B2")
    b2_target_months: int = key("months", "B2 target = last BTM + this", "B2")
    grace_days: int = key("days", "BTM booking grace (before earliest, after latest)", "WINDOW, B2-first, B2, B3")
    dmab_window_days: int = key("days", "B2-dmab window = dose target ± this", "B2-dmab")
    b3_months: list[int] = key("months", "B3 checks after a denosumab→BP switch", "B3")
    b4_months: list[int] = key("months", "B4 checks after a holiday starts", "B4")
    b4_window_days: int = key("days", "B4 window = target ± this", "B4")
    response_fall_pct: float = key("%", "CTX fall at least this much is a response", "BTM-RESPONSE, S1")
    ctx_premenopausal_upper_ng_l: float = key(
        "ng/L", "top of the premenopausal CTX range (your assay)", "BTM-RESPONSE, H-RESUME")


@dataclass(frozen=True)
class VisitPolicy:
    v1_earliest_months: int = key("months", "V1 earliest = anchor + this", "V1")
    v1_target_months_six_monthly: int = key("months", "V1 target on a 6-monthly drug", "V1")
    v1_target_months: int = key("months", "V1 target otherwise", "V1")
    v1_latest_months: int = key("months", "V1 latest = anchor + this + grace", "V1, V2")
    v2_earliest_months: int = key("months", "V2 earliest = anchor + this", "V2")
    v2_target_months: int = key("months", "V2 target = anchor + this", "V2")
    grace_days: int = key("days", "visit booking grace after latest", "WINDOW, V1, V2")


@dataclass(frozen=True)
class DenosumabPolicy:
    interval_months: int = key("months", "next dose target = last actual dose + this", "N1, B2-dmab")
    early_days: int = key("days", "earliest = target − this", "N1")
    on_time_days: int = key("days", "on time up to target + this", "N1, ALERT-DMAB-LATE")
    long_delay_days: int = key("days", "LONG-DELAY after target + this", "N1, ALERT-DMAB-LONG")
    osteoporosis_dose_mg: float = key("mg", "the 60 mg osteoporosis dose", "REGIMEN")
    metastatic_dose_mg: float = key(
        "mg", "a dose at or above this is the metastatic regimen (exit)", "SCOPE, ALERT-EXIT")
    predose_calcium_days: int = key("days", "calcium result needed this close before a dose", "N2")
    sequential_bp_months: int = key("months", "sequential BP due at last dose + this", "N3")
    sequential_window_days: int = key("days", "sequential BP window = target ± this", "N3")
    transition_plan_days: int = key("days", "TRANSITION-PLAN task at AI planned end − this", "N5")
    cover_days: int = key("days", "days one injection covers (PDC)", "COVER")


@dataclass(frozen=True)
class BisphosphonatePolicy:
    ibandronate_iv_interval_months: int = key("months", "IV ibandronate next due = last + this", "BP-IV")
    ibandronate_iv_grace_days: int = key("days", "IV ibandronate latest = due + this", "BP-IV")
    ibandronate_iv_max_mg: float = key("mg", "an ibandronate dose up to this is IV (2 or 3 mg)", "REGIMEN")
    ibandronate_oral_monthly_mg: float = key("mg", "the oral monthly ibandronate dose", "ALERT-IBN-DOSE")
    zol5_dose_mg: float = key("mg", "zoledronic acid osteoporosis dose", "REGIMEN")
    zol5_interval_months: int = key("months", "ZOL 5 mg next due = last + this", "BP-IV")
    zol5_window_days: int = key("days", "ZOL 5 mg window = target ± this", "BP-IV")
    zol4_dose_mg: float = key("mg", "zoledronic acid adjuvant dose", "REGIMEN")
    zol4_interval_months: int = key("months", "ZOL 4 mg next due = last + this", "BP-IV, REGIMEN")
    zol4_window_days: int = key("days", "ZOL 4 mg window = target ± this", "BP-IV")
    zol4_max_doses: int = key("doses", "ZOL 4 mg adjuvant regimen ends after this many doses", "BP-IV")
    metastatic_interval_days: int = key(
        "days", "ZOL doses closer than this are the metastatic regimen", "SCOPE, ALERT-EXIT")
    cover_days_ibandronate_iv: int = key("days", "days one IV ibandronate dose covers", "COVER")
    cover_days_zol5: int = key("days", "days one ZOL 5 mg dose covers", "COVER")
    cover_days_zol4: int = key("days", "days one ZOL 4 mg dose covers", "COVER")
    iv_crcl_days: int = key("days", "creatinine/CrCl result needed this close before an IV dose", "BP-IV")
    iv_vitamin_d_months: int = key("months", "25(OH)D result needed this close before IV BP/denosumab", "BP-IV")


@dataclass(frozen=True)
class HolidayPolicy:
    oral_days_full: int = key("days", "oral days that make E = 1 (5 years)", "EXPOSURE")
    iv_months_full: int = key("months", "IV months that make E = 1 (3 years)", "EXPOSURE")
    review_window_days: int = key("days", "holiday review window = target ± this", "H-REVIEW, H-HOLIDAY")
    max_oral_days: int = key("days", "oral exposure that needs a mandatory review", "ALERT-BP-DURATION")
    max_iv_months: int = key("months", "IV exposure that needs a mandatory review", "ALERT-BP-DURATION")
    fn_soft_t_max: float = key("T-score", "femoral neck T at or below this is a softer continue criterion", "H-REVIEW")
    older_age_years: int = key("years", "age at or above this is a continue criterion", "H-REVIEW")
    review_months_short: int = key("months", "holiday review after this (risedronate, ibandronate)", "H-HOLIDAY")
    review_months_long: int = key("months", "holiday review after this (alendronate, ZOL)", "H-HOLIDAY")
    review_latest_months: int = key("months", "holiday review latest", "H-HOLIDAY")
    resume_review_days: int = key("days", "holiday review after a resume trigger: latest = trigger + this", "H-RESUME")


@dataclass(frozen=True)
class EndocrinePolicy:
    review_earliest_months: int = key("months", "review earliest = endocrine start + this", "E1")
    review_target_months: int = key("months", "review target = endocrine start + this", "E1, N5")
    review_grace_days: int = key("days", "review latest = target + this", "E1, E2")
    extended_total_months: int = key("months", "next review when extended: start + this", "E2, N5")


@dataclass(frozen=True)
class AdherencePolicy:
    pdc_threshold: float = key("fraction", "adherent when PDC is at least this", "PDC, S1")
    pdc_window_days: int = key("days", "short PDC window (evaluated monthly)", "S1")
    pdc_long_window_days: int = key("days", "long PDC window", "S1")
    min_days_on_therapy: int = key("days", "evaluate PDC only after this long on therapy", "S1")
    persistence_gap_days: int = key("days", "oral persistence: no gap longer than this", "PERSISTENCE")
    switch_latest_days: int = key("days", "adherence-switch task latest = trigger + this", "S1")
    sequential_bp_kpi_months: int = key("months", "audit KPI: a BP by last denosumab dose + this sequences it", "AUDIT")


@dataclass(frozen=True)
class LscPolicy:
    fallback_pct_lumbar_spine: float = key("%", "ISCD fallback LSC for the lumbar spine", "LSC")
    fallback_pct_total_hip: float = key("%", "ISCD fallback LSC for the total hip", "LSC")
    fallback_pct_femoral_neck: float = key("%", "ISCD fallback LSC for the femoral neck", "LSC")
    facility: dict[str, dict[str, float]] = key(
        "g/cm²", "facility LSC per scanner and site: {scanner = {site = g/cm²}}", "LSC")
    annual_loss_pct_consider: float = key(
        "%/year", "annual loss at or above this: consider anti-resorptive", "CHANGE-FLAGS")


@dataclass(frozen=True)
class AlertPolicy:
    crcl_zol5_block: float = key("mL/min", "ZOL 5 mg blocked below this CrCl", "ALERT-RENAL-ZOL5")
    crcl_zol4_block: float = key("mL/min", "ZOL 4 mg blocked below this CrCl", "ALERT-RENAL-ZOL4")
    crcl_zol4_reduce: float = key("mL/min", "ZOL 4 mg dose reduction warning at or below this", "ALERT-RENAL-ZOL4")
    crcl_alendronate_block: float = key("mL/min", "alendronate blocked below this CrCl", "ALERT-RENAL-ALN")
    crcl_ris_ibn_block: float = key(
        "mL/min", "risedronate/ibandronate blocked below this CrCl", "ALERT-RENAL-RIS, ALERT-RENAL-IBN")
    egfr_denosumab_warn: float = key("mL/min/1.73m²", "denosumab warning below this eGFR", "ALERT-DMAB-CKD")
    calcium_lower_mmol_l: float = key("mmol/L", "calcium below this blocks (8.4 mg/dL)", "ALERT-HYPOCA")
    calcium_check_days: int = key("days", "calcium result needed this close before a dose", "ALERT-HYPOCA, N2")
    creatinine_check_days: int = key("days", "creatinine needed this close before ZOL 5 mg", "ALERT-RENAL-ZOL5")
    vitamin_d_block_ng_ml: float = key("ng/mL", "25(OH)D below this blocks", "ALERT-VITD")
    vitamin_d_warn_ng_ml: float = key("ng/mL", "25(OH)D below this warns", "ALERT-VITD")
    vitamin_d_max_age_months: int = key("months", "25(OH)D older than this counts as missing", "ALERT-VITD")
    dental_months: int = key("months", "dental assessment needed this close before the first BMA dose", "ALERT-DENTAL")
    treatment_gap_days: int = key("days", "MODERATE/HIGH this long without a BMA → warning", "ALERT-TREATMENT-GAP")
    aff_symptom_bp_years: int = key("years", "thigh pain on a BP this long → warning", "ALERT-AFF-SYMPTOM")
    ibandronate_oral_interval_months: int = key(
        "months", "oral ibandronate 150 mg at any other course interval → ALERT-IBN-DOSE", "ALERT-IBN-DOSE")
    ibandronate_min_spacing_days: int = key(
        "days", "oral ibandronate 150 mg doses (or supplies) shorter than this are not monthly", "ALERT-IBN-DOSE")


@dataclass(frozen=True)
class Policy:
    """Everything the pure core needs; built once from config.toml."""

    risk: RiskPolicy
    lifestyle: LifestylePolicy
    dxa: DxaPolicy
    btm: BtmPolicy
    visits: VisitPolicy
    denosumab: DenosumabPolicy
    bp: BisphosphonatePolicy
    holiday: HolidayPolicy
    endocrine: EndocrinePolicy
    adherence: AdherencePolicy
    lsc: LscPolicy
    alerts: AlertPolicy


POLICY_SECTIONS: dict[str, type] = {
    "risk": RiskPolicy,
    "lifestyle": LifestylePolicy,
    "dxa": DxaPolicy,
    "btm": BtmPolicy,
    "visits": VisitPolicy,
    "denosumab": DenosumabPolicy,
    "bp": BisphosphonatePolicy,
    "holiday": HolidayPolicy,
    "endocrine": EndocrinePolicy,
    "adherence": AdherencePolicy,
    "lsc": LscPolicy,
    "alerts": AlertPolicy,
}
