"""Calcium and vitamin D before a bone-modifying agent: ALERT-HYPOCA and ALERT-VITD.

Calcium is compared at 2 decimals (8.4 mg/dL, 2.0958 mmol/L, reads 2.10); the albumin-corrected
result wins its day. The pre-dose calcium check covers every dose due, including an oral
bisphosphonate start and a sequential bisphosphonate; a low value blocks denosumab and IV
bisphosphonates. ALERT-VITD looks at the first dose of each IV bisphosphonate or denosumab course
(a restart is a first dose again); 25(OH)D is compared at 1 decimal.
"""

from __future__ import annotations

from datetime import date

from monitor.core.alerts.found import Found, num, rounded
from monitor.core.alerts.predose import Span, pre_dose
from monitor.core.alerts.view import AlertView
from monitor.core.domain import LabAnalyte, Severity
from monitor.core.regimen import IV_AGENTS, ORAL_AGENTS, Agent, agent_name, agent_names


def calcium_alerts(v: AlertView, due: dict[Agent | None, date], out: Found) -> None:
    a = v.policy.alerts
    by_day: dict[date, tuple[float, bool]] = {}  # the albumin-corrected result wins its day
    for corrected, analyte in ((False, LabAnalyte.CALCIUM), (True, LabAnalyte.CALCIUM_CORRECTED)):
        for lab in v.labs.get(analyte, ()):
            by_day[lab.date] = (lab.value, corrected)
    days = sorted(by_day)
    span = Span(days=a.calcium_check_days)
    for agent, target in due.items():
        check = pre_dose(target, days, v.as_of, span)
        out.change(check.next_change)
        if check.missing_since is not None:
            what = "start" if agent in ORAL_AGENTS else "dose"
            out.add("ALERT-HYPOCA", Severity.BLOCK, check.missing_since,
                    f"No calcium result in the {a.calcium_check_days} days before the "
                    f"{agent_name(agent, v.policy.bp)} {what} due {target}: check albumin-corrected calcium before "
                    "giving it")
    agents = [b for b in v.bma if b.agent is Agent.DENOSUMAB or b.agent in IV_AGENTS]
    if not days or not (agents or due):
        return

    def low(day: date) -> bool:
        return rounded(by_day[day][0], 2) < a.calcium_lower_mmol_l

    run = len(days) - 1
    if not low(days[run]):
        return
    while run > 0 and low(days[run - 1]):
        run -= 1
    value, corrected = by_day[days[-1]]
    since = max([days[run]] + [b.start for b in agents if b.start is not None])
    out.add("ALERT-HYPOCA", Severity.BLOCK, since,
            f"{'Albumin-corrected calcium' if corrected else 'Calcium'} {rounded(value, 2):.2f} mmol/L on "
            f"{days[-1]} is below {a.calcium_lower_mmol_l:.2f}: correct hypocalcaemia before "
            f"{agent_names([b.agent for b in agents] + list(due), v.policy.bp, ' or ')}")


def vitamin_d_alerts(v: AlertView, due: dict[Agent | None, date], out: Found) -> None:
    a = v.policy.alerts
    results = v.labs.get(LabAnalyte.VITAMIN_D, [])
    for b in v.bma:
        if not b.first_pending or not (b.agent is Agent.DENOSUMAB or b.agent in IV_AGENTS):
            continue
        dose, name = due.get(b.agent, b.first_day), agent_name(b.agent, v.policy.bp)
        check = pre_dose(dose, [r.date for r in results], v.as_of, Span(months=a.vitamin_d_max_age_months))
        out.change(check.next_change)
        if check.missing_since is not None:
            out.add("ALERT-VITD", Severity.BLOCK, check.missing_since,
                    f"No 25(OH)D result in the {a.vitamin_d_max_age_months} months before the first {name} dose "
                    f"due {dose}: check vitamin D before giving it")
            continue
        if check.result is None:
            continue
        lab = [r for r in results if r.date == check.result][-1]
        value = rounded(lab.value, 1)
        if value < a.vitamin_d_block_ng_ml:
            out.add("ALERT-VITD", Severity.BLOCK, lab.date,
                    f"25(OH)D {num(value)} ng/mL on {lab.date} is below {num(a.vitamin_d_block_ng_ml)}: "
                    f"replete vitamin D before the first {name} dose")
        elif value < a.vitamin_d_warn_ng_ml:
            out.add("ALERT-VITD", Severity.WARN, lab.date,
                    f"25(OH)D {num(value)} ng/mL on {lab.date} is below {num(a.vitamin_d_warn_ng_ml)} "
                    f"(insufficient): supplement vitamin D around the first {name} dose")
