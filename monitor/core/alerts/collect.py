"""Every alert of a plan on one date, and the first date after it on which they could change.

`plan_alerts` is what the planner calls: the denosumab and bisphosphonate-duration alerts, which
read the planner's own tasks, then `safety_alerts`, the checks that read results, notes and
courses. Facts dated after `as_of` are ignored; undated notes count on every date (A1c). The
next change is a pre-dose window opening, a result ageing out, day 91 of a treatment gap, the
death date, or a fact dated after `as_of` becoming visible; tier changes are the planner's to date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from monitor.core.alerts.bp_duration import duration_alert
from monitor.core.alerts.denosumab import denosumab_delay_alert, rebound_alert
from monitor.core.alerts.dental import dental_alerts, jaw_and_femur_alerts
from monitor.core.alerts.found import Found
from monitor.core.alerts.interactions import interaction_alerts
from monitor.core.alerts.minerals import calcium_alerts, vitamin_d_alerts
from monitor.core.alerts.oral_bp import dual_antiresorptive_alert, ibandronate_dose_alert, oral_admin_alert
from monitor.core.alerts.renal import renal_alerts
from monitor.core.alerts.treatment_gap import treatment_gap_alert
from monitor.core.alerts.view import AlertView
from monitor.core.domain import Alert, Assessment, PatientFacts, Task, TaskKind
from monitor.core.timeline import Horizon, Timeline


def plan_alerts(tl: Timeline, assessment: Assessment, open_tasks: Sequence[Task],
                sequential: Task | None, horizon: Horizon) -> tuple[Alert, ...]:
    """The plan's alerts, most severe first; their change dates go to `horizon`."""
    dose = next((t for t in open_tasks if t.kind is TaskKind.DENOSUMAB_DOSE), None)
    own = [denosumab_delay_alert(dose, tl, horizon), rebound_alert(sequential, tl, horizon),
           duration_alert(tl, horizon)]
    safety, next_change = safety_alerts(tl, assessment, open_tasks)
    horizon.add(next_change)
    return tuple(sorted([a for a in own if a is not None] + list(safety), key=lambda a: (a.severity.rank, a.code)))


def safety_alerts(tl: Timeline, assessment: Assessment, tasks: Sequence[Task]) -> tuple[tuple[Alert, ...], date | None]:
    """The checks on results, notes and courses active on `tl.on`, and the next date they could change."""
    if not assessment.in_pathway:
        return (), None
    out = Found(tl.on)
    v = AlertView(tl, assessment, tasks)
    if v.bma or v.tasks:
        due = v.due_doses()
        renal_alerts(v, due, out)
        calcium_alerts(v, due, out)
        vitamin_d_alerts(v, due, out)
        dental_alerts(v, due, out)
        oral_admin_alert(v, out)
        ibandronate_dose_alert(v, out)
        dual_antiresorptive_alert(v, out)
    jaw_and_femur_alerts(v, out)
    interaction_alerts(v, out)
    treatment_gap_alert(v, out)
    out.change(tl.facts.patient.deceased_date)
    if tl.all_facts is not tl.facts:
        out.change(_first_fact_after(tl.all_facts, tl.on))
    return out.result()


def _first_fact_after(facts: PatientFacts, as_of: date) -> date | None:
    """A fact dated after as_of is invisible today and changes the alerts on its date."""
    found = [x for c in facts.courses for x in (c.start, c.stop) if x is not None and x > as_of]
    for seq in (facts.doses, facts.dxa, facts.fractures, facts.frax, facts.labs, facts.vitals):
        found += [x.date for x in seq if x.date > as_of]
    found += [n.date for n in facts.notes if n.date is not None and n.date > as_of]
    return min(found, default=None)
