"""Oral bisphosphonate orders and dual therapy: ALERT-ORAL-BP-ADMIN, ALERT-IBN-DOSE, ALERT-DUAL-ANTIRESORPTIVE.

ALERT-IBN-DOSE: a 150 mg ibandronate course whose interval is not the monthly one, or, among 150 mg
doses, a dispense of fewer days than `[alerts] ibandronate_min_spacing_days`, or two doses closer
than that when the first carried no longer supply (an early refill is no error).
ALERT-DUAL-ANTIRESORPTIVE: a bisphosphonate started once the sequential window after the last
denosumab dose opened, with no denosumab since, is the transition (N3), not dual therapy.
"""

from __future__ import annotations

from monitor.core.alerts.found import Found, num
from monitor.core.alerts.view import AlertView
from monitor.core.dates import add_days, add_months
from monitor.core.domain import Drug, NoteKind, Severity
from monitor.core.regimen import ORAL_AGENTS, Agent, agent_name, agent_names


def oral_admin_alert(v: AlertView, out: Found) -> None:
    oral = [b for b in v.bma if b.agent in ORAL_AGENTS]
    for note in v.notes.get(NoteKind.ORAL_BP_ADMIN_PROBLEM, ()) if oral else ():
        since = max([v.note_day(note)] + [b.start for b in oral if b.start is not None])
        out.add("ALERT-ORAL-BP-ADMIN", Severity.BLOCK, since,
                f"Cannot take an oral bisphosphonate as instructed (recorded {v.note_day(note)}): do not give "
                f"{agent_names([b.agent for b in oral], v.policy.bp)}; switch to IV zoledronic acid or SC denosumab")


def ibandronate_dose_alert(v: AlertView, out: Found) -> None:
    a, bp = v.policy.alerts, v.policy.bp
    if not any(b.course.drug is Drug.IBANDRONATE for b in v.bma):
        return
    monthly_mg, gap = bp.ibandronate_oral_monthly_mg, a.ibandronate_min_spacing_days
    for b in v.bma:
        c = b.course
        if c.drug is Drug.IBANDRONATE and c.dose_mg == monthly_mg and c.interval_months not in (
                None, a.ibandronate_oral_interval_months):
            out.add("ALERT-IBN-DOSE", Severity.BLOCK, b.start or v.fallback(),
                    f"Ibandronate {num(monthly_mg)} mg ordered every {c.interval_months} months: {num(monthly_mg)} "
                    "mg is given once a month only; correct the order")
    tablets = sorted((x for x in v.doses.get(Drug.IBANDRONATE, ()) if x.dose_mg == monthly_mg), key=lambda x: x.date)

    def too_often(i: int) -> bool:
        this, prev = tablets[i], tablets[i - 1] if i else None
        short = this.days_supply is not None and this.days_supply < gap
        return short or (prev is not None and (this.date - prev.date).days < gap
                         and (prev.days_supply is None or prev.days_supply < gap))

    if tablets and too_often(len(tablets) - 1):
        i = len(tablets) - 1
        while i > 0 and too_often(i - 1):
            i -= 1
        last = tablets[-1]
        apart = (last.date - tablets[-2].date).days if len(tablets) > 1 else gap
        how = f"{apart} days after the one before" if apart < gap else f"for {last.days_supply} days"
        out.add("ALERT-IBN-DOSE", Severity.BLOCK, tablets[i].date,
                f"Ibandronate {num(monthly_mg)} mg on {last.date} {how}: {num(monthly_mg)} mg is given once a "
                "month only; correct the dose")


def dual_antiresorptive_alert(v: AlertView, out: Found) -> None:
    dmab = [b for b in v.bma if b.agent is Agent.DENOSUMAB and not b.planned]
    if not dmab:
        return
    dm, shots = v.policy.denosumab, [x.date for x in v.doses.get(Drug.DENOSUMAB, ())]
    for b in v.bma:
        if b.agent is Agent.DENOSUMAB or b.start is None:
            continue
        last = max((x for x in shots if x <= b.start), default=None)
        if last is not None and not any(x > b.start for x in shots) and b.start >= add_days(
                add_months(last, dm.sequential_bp_months), -dm.sequential_window_days):
            continue  # the sequential bisphosphonate of a denosumab stop (N3)
        out.add("ALERT-DUAL-ANTIRESORPTIVE", Severity.WARN, max(b.start, dmab[0].start),  # type: ignore[type-var]
                f"Denosumab (since {dmab[0].start}) and {agent_name(b.agent, v.policy.bp)} (since {b.start}) are "
                "both running outside a denosumab-to-bisphosphonate switch: stop one anti-resorptive")
