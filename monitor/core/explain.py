"""Plain words for rule ids and flags, shared by the terminal view and the physician's report."""

from __future__ import annotations

REASONS = {
    "H1": "hip or vertebral fragility fracture on record",
    "H2": "T-score at or below −2.5 (osteoporosis)",
    "H3a": "osteopenia (−2.5 < T < −1.0) with an aromatase inhibitor planned or taken",
    "H3b": "osteopenia with a fragility fracture of the proximal humerus, pelvis or distal forearm",
    "H3c": "osteopenia with FRAX hip ≥ 3 % or major osteoporotic fracture ≥ 20 %",
    "M1": "normal BMD (T ≥ −1.0) with an aromatase inhibitor planned or taken",
    "M2": "osteopenia (−2.5 < T < −1.0) without further risk factors",
    "L1": "normal BMD (T ≥ −1.0) and no aromatase inhibitor",
    "MX": "no usable DXA, aromatase inhibitor planned or taken: at least moderate (provisional)",
    "UX": "no usable DXA and no aromatase inhibitor: tier unknown until a DXA is done",
}

FLAGS = {
    "NO_BMD": "no DXA on record",
    "BMD_STALE": "latest DXA is more than 24 months old and is not used",
    "BMD_DUE": "latest DXA is 12–24 months old; the tier needs a DXA every 6–12 months",
    "SITE_UNSPECIFIED": "a DXA T-score without a named site was used",
    "AI_SUPPLY_GAP": "aromatase inhibitor supply ran out more than 60 days ago",
    "AI_PLAN_EXPIRED": "a planned aromatase inhibitor start passed 90 days ago without a start",
    "AI_COMPLETED": "aromatase inhibitor finished",
    "OUT_OF_SCOPE": "outside the pathway (man, premenopausal or ovarian suppression)",
    "DECEASED": "date of death recorded",
    "MENOPAUSE_UNKNOWN": "menopausal status not recorded",
    "FX_OUTSIDE_TIER": "fragility fracture that does not raise the tier: clinical review",
    "FRAX_OUTSIDE_TIER": "FRAX above threshold that does not raise the tier: clinical review",
    "FX_MECHANISM_UNKNOWN": "fracture with unknown mechanism: review whether it was a fragility fracture",
    "VERTEBRAL_DEFORMITY_REVIEW": "Genant grade-1 vertebral deformity: review",
    "ATYPICAL_FEMORAL_FRACTURE": "atypical femoral fracture recorded",
    "BMI_LOW": "BMI below 20 kg/m²",
    "BMI_HIGH": "BMI above 24 kg/m²",
    "WAIST_HIGH": "waist 80 cm or more",
    "BASELINE_BTM_MISSING": "no bone turnover markers before the first BMA dose",
}


def reason_text(rule: str) -> str:
    return REASONS.get(rule, rule)


def flag_text(flag: str) -> str:
    return FLAGS.get(flag, flag.replace("_", " ").lower())
