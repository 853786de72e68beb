"""ALERT-EXIT (critical): she has left the AI bone-health pathway and needs other bone care.

Raised for bone metastasis, a metastatic regimen (denosumab 120 mg, zoledronic acid every 3–4
weeks), a pathological (tumour) fracture, premenopause or ovarian function suppression; not for
men (out of scope only) and not once she has died. Dated by the earliest triggering fact.
"""

from __future__ import annotations

import itertools
from datetime import date

from monitor.core.alerts.found import num
from monitor.core.alerts.view import earliest_fact_day
from monitor.core.domain import Alert, Assessment, Drug, Mechanism, NoteKind, PatientFacts, Severity

METASTATIC_EXITS = frozenset({"BONE_METASTASIS", "DENOSUMAB_120", "ZOL_METASTATIC_REGIMEN", "PATHOLOGICAL_FRACTURE"})
SCOPE_EXITS = frozenset({"PREMENOPAUSAL", "OFS"})


def exit_alert(facts: PatientFacts, assessment: Assessment) -> Alert | None:
    """ALERT-EXIT for the exit reasons risk.assess found, or None."""
    reasons = set(assessment.exit_reasons)
    if {"DECEASED", "MALE"} & reasons or not reasons & (METASTATIC_EXITS | SCOPE_EXITS):
        return None
    as_of = assessment.as_of
    fallback = earliest_fact_day(facts, as_of)

    def first_note(kind: NoteKind) -> date:
        return min((n.date or fallback for n in facts.notes if n.kind is kind and (n.date or as_of) <= as_of),
                   default=fallback)

    found: list[tuple[date, str]] = []
    if "BONE_METASTASIS" in reasons:
        day = first_note(NoteKind.BONE_METASTASIS)
        found.append((day, f"Bone metastasis recorded ({day})"))
    if "PATHOLOGICAL_FRACTURE" in reasons:
        fx = min((f for f in facts.fractures if f.mechanism is Mechanism.PATHOLOGICAL and f.date <= as_of),
                 key=lambda f: f.date, default=None)
        where = f"of the {fx.site.value.replace('_', ' ')} on {fx.date}" if fx else ""
        found.append((fx.date if fx else fallback, f"Pathological (tumour) fracture {where}".strip()))
    if "DENOSUMAB_120" in reasons:
        found.append(_denosumab_metastatic(facts, as_of, fallback))
    if "ZOL_METASTATIC_REGIMEN" in reasons:
        found.append(_zoledronic_metastatic(facts, as_of, fallback))
    action = "metastatic bone care" if found else "premenopausal bone care with Z-scores"
    if "PREMENOPAUSAL" in reasons:
        found.append((fallback, "Recorded as premenopausal"))
    if "OFS" in reasons:
        day = first_note(NoteKind.OFS)
        found.append((day, f"Ovarian function suppression recorded ({day})"))
    return Alert("ALERT-EXIT", Severity.CRITICAL, min(x for x, _ in found),
                 f"{'; '.join(t for _, t in found)}: {action}, leave the AI bone-health pathway")


def _denosumab_metastatic(facts: PatientFacts, as_of: date, fallback: date) -> tuple[date, str]:
    """risk.exit_reasons found the metastatic strength (exit_alert has no policy): date it by the earliest
    dose or course at the highest denosumab strength on record; a course only planned dates from `fallback`."""
    doses = [x for x in facts.doses if x.drug is Drug.DENOSUMAB and x.date <= as_of and x.dose_mg is not None]
    courses = [c for c in facts.courses if c.drug is Drug.DENOSUMAB and c.dose_mg is not None]
    top = max([x.dose_mg for x in doses] + [c.dose_mg for c in courses], default=None)  # type: ignore[type-var]
    days = [x.date for x in doses if x.dose_mg == top] + [
        c.start if c.start is not None and c.start <= as_of else fallback for c in courses if c.dose_mg == top]
    day = min(days, default=fallback)
    return day, f"Denosumab{f' {num(top)} mg' if top else ''} (the metastatic regimen) from {day}"


def _zoledronic_metastatic(facts: PatientFacts, as_of: date, fallback: date) -> tuple[date, str]:
    """Dated by the closest pair of doses, else by a monthly order."""
    zol = sorted(x.date for x in facts.doses if x.drug is Drug.ZOLEDRONIC_ACID and x.date <= as_of)
    pair = min(itertools.pairwise(zol), key=lambda p: ((p[1] - p[0]).days, p[1]), default=None)
    monthly = [c.first_day for c in facts.courses if c.drug is Drug.ZOLEDRONIC_ACID and c.interval_months == 1
               and c.first_day is not None]
    if pair:
        return pair[1], (f"Zoledronic acid doses {(pair[1] - pair[0]).days} days apart ({pair[0]}, {pair[1]}), "
                         "the metastatic regimen")
    if monthly:
        return min(monthly), f"Zoledronic acid ordered every month from {min(monthly)}, the metastatic regimen"
    return fallback, "Zoledronic acid at the metastatic interval"
