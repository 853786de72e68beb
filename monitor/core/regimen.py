"""Which bisphosphonate regimen a dose belongs to (docs/rules.md REGIMEN, BP-IV), its interval, window and cover,
and the agent (drug and regimen) a BMA course gives, as the safety alerts tell them apart.

Pure. The regimen decides the next-dose window of an IV bisphosphonate, the days one dose covers
for PDC (COVER) and the months it adds to holiday exposure (EXPOSURE). Oral bisphosphonates have no
per-dose schedule: adherence is measured by PDC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from monitor.core.domain import Dose, Drug, Route, TherapyCourse
from monitor.core.policy import BisphosphonatePolicy


class Regimen(StrEnum):
    ORAL = "oral"
    ZOL5 = "zol5"  # zoledronic acid 5 mg every 12 months (osteoporosis)
    ZOL4 = "zol4"  # zoledronic acid 4 mg every 6 months (adjuvant oncology, at most 6 doses)
    IBANDRONATE_IV = "ibandronate_iv"  # 2 or 3 mg every 3 months


@dataclass(frozen=True, slots=True)
class IvSchedule:
    """Next-dose window of an IV regimen (BP-IV): target = last dose + interval."""

    interval_months: int
    early_days: int  # earliest = target − this
    late_days: int  # latest = target + this (the booking grace)
    cover_days: int  # days one dose covers for PDC (COVER)


def bp_regimen(dose: Dose, course: TherapyCourse | None, policy: BisphosphonatePolicy) -> Regimen:
    """REGIMEN: from the dose's strength, else the course's strength or interval, else ZOL 5 mg.

    A zoledronic-acid strength below the 5 mg osteoporosis dose is the adjuvant 4 mg regimen (its
    renal dose reductions are 3.0–3.5 mg). Ibandronate is IV when its route says so or its strength
    is at most `ibandronate_iv_max_mg`; with neither known, a 3-monthly course is IV, else oral.
    """
    if dose.drug is Drug.ZOLEDRONIC_ACID:
        mg = dose.dose_mg if dose.dose_mg is not None else (course.dose_mg if course is not None else None)
        if mg is not None:
            return Regimen.ZOL4 if mg < policy.zol5_dose_mg else Regimen.ZOL5
        if course is not None and course.interval_months == policy.zol4_interval_months:
            return Regimen.ZOL4
        return Regimen.ZOL5
    if dose.drug is Drug.IBANDRONATE:
        if dose.route is Route.IV:
            return Regimen.IBANDRONATE_IV
        if dose.route is Route.ORAL:
            return Regimen.ORAL
        mg = dose.dose_mg if dose.dose_mg is not None else (course.dose_mg if course is not None else None)
        if mg is not None:
            return Regimen.IBANDRONATE_IV if mg <= policy.ibandronate_iv_max_mg else Regimen.ORAL
        if course is not None and course.interval_months == policy.ibandronate_iv_interval_months:
            return Regimen.IBANDRONATE_IV
    return Regimen.ORAL


def iv_schedule(regimen: Regimen, policy: BisphosphonatePolicy) -> IvSchedule | None:
    """The window of the next IV dose; None for oral regimens."""
    if regimen is Regimen.ZOL5:
        return IvSchedule(policy.zol5_interval_months, policy.zol5_window_days, policy.zol5_window_days,
                          policy.cover_days_zol5)
    if regimen is Regimen.ZOL4:
        return IvSchedule(policy.zol4_interval_months, policy.zol4_window_days, policy.zol4_window_days,
                          policy.cover_days_zol4)
    if regimen is Regimen.IBANDRONATE_IV:
        # "not more often" than every 3 months: earliest = target.
        return IvSchedule(policy.ibandronate_iv_interval_months, 0, policy.ibandronate_iv_grace_days,
                          policy.cover_days_ibandronate_iv)
    return None


class Agent(StrEnum):
    """A bone-modifying agent as the safety checks tell them apart: the drug and, for a bisphosphonate,
    its regimen (the renal limits and pre-dose checks differ by both)."""

    DENOSUMAB = "denosumab"
    ZOL5 = "zol5"
    ZOL4 = "zol4"
    IBANDRONATE_IV = "ibandronate_iv"
    ALENDRONATE = "alendronate"
    RISEDRONATE = "risedronate"
    IBANDRONATE_ORAL = "ibandronate_oral"


IV_AGENTS = (Agent.ZOL5, Agent.ZOL4, Agent.IBANDRONATE_IV)
ORAL_AGENTS = (Agent.ALENDRONATE, Agent.RISEDRONATE, Agent.IBANDRONATE_ORAL)
_ORAL_AGENT = {Drug.ALENDRONATE: Agent.ALENDRONATE, Drug.RISEDRONATE: Agent.RISEDRONATE,
               Drug.IBANDRONATE: Agent.IBANDRONATE_ORAL}
_IV_AGENT = {Regimen.ZOL5: Agent.ZOL5, Regimen.ZOL4: Agent.ZOL4, Regimen.IBANDRONATE_IV: Agent.IBANDRONATE_IV}


def agent_of(course: TherapyCourse, doses: Sequence[Dose], policy: BisphosphonatePolicy) -> Agent | None:
    """The agent of a BMA course, read as `bp_regimen` reads its latest dose (else the course alone);
    None for a drug that is not bone-modifying."""
    if course.drug is Drug.DENOSUMAB:
        return Agent.DENOSUMAB
    if not course.drug.is_bp:
        return None
    latest = max(doses, key=lambda x: x.date, default=None)
    if latest is None:  # no dose yet: the course's own strength and interval decide
        latest = Dose(course.drug, course.first_day or date.min, dose_mg=course.dose_mg)
    regimen = bp_regimen(latest, course, policy)
    return _IV_AGENT.get(regimen) or _ORAL_AGENT.get(course.drug)


def agent_name(agent: Agent | None, policy: BisphosphonatePolicy) -> str:
    """How an alert names the agent ("zoledronic acid 5 mg"); a bisphosphonate not chosen yet is generic."""
    def mg(value: float) -> str:
        return f"{value:g}"
    return {
        Agent.DENOSUMAB: "denosumab", Agent.ZOL5: f"zoledronic acid {mg(policy.zol5_dose_mg)} mg",
        Agent.ZOL4: f"zoledronic acid {mg(policy.zol4_dose_mg)} mg", Agent.ALENDRONATE: "alendronate",
        Agent.RISEDRONATE: "risedronate", Agent.IBANDRONATE_ORAL: "oral ibandronate",
        Agent.IBANDRONATE_IV: "IV ibandronate",
    }.get(agent, "bisphosphonate")  # type: ignore[arg-type]


def agent_names(agents: Iterable[Agent | None], policy: BisphosphonatePolicy, joiner: str = " and ") -> str:
    return joiner.join(sorted({agent_name(x, policy) for x in agents}))
