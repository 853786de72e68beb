"""Dental checks and jaw and femur safety: ALERT-DENTAL, ALERT-ONJ, ALERT-AFF, ALERT-AFF-SYMPTOM.

ALERT-DENTAL looks at her first BMA dose ever: once it was given without a check in the 6 months
before, the warning stands (while on a BMA) until a dental check is recorded; an undated check
counts on every date (A1c). A planned invasive dental procedure counts until a later dental check.
ALERT-AFF-SYMPTOM counts cumulative days on a bisphosphonate course up to the note (a holiday does
not count).
"""

from __future__ import annotations

from datetime import date

from monitor.core.alerts.found import Found
from monitor.core.alerts.predose import Span, pre_dose
from monitor.core.alerts.view import AlertView
from monitor.core.dates import add_months
from monitor.core.domain import Mechanism, NoteKind, Severity
from monitor.core.regimen import Agent, agent_names

HOLD = "no further anti-resorptive (bisphosphonate or denosumab) until specialist review"
ONJ_RISK = "jaw osteonecrosis risk"


def dental_alerts(v: AlertView, due: dict[Agent | None, date], out: Found) -> None:
    a = v.policy.alerts
    checks = v.notes.get(NoteKind.DENTAL_CHECK, [])
    check_days = [n.date for n in checks if n.date is not None]
    span = Span(months=a.dental_months)
    first = min((x.date for drug, xs in v.doses.items() if drug.is_bma for x in xs), default=None)
    if any(n.date is None for n in checks):
        pass  # an undated dental check counts on every date (A1c)
    elif first is not None:
        if v.bma and not any(span.last_day(c) >= first for c in check_days):  # none before the dose, none since
            out.add("ALERT-DENTAL", Severity.WARN, first,
                    f"No dental check in the {a.dental_months} months before the first bone-modifying dose on "
                    f"{first}: arrange a dental assessment ({ONJ_RISK})")
    elif v.bma or due:
        dose = min(list(due.values()) + [b.first_day for b in v.bma])
        check = pre_dose(dose, check_days, v.as_of, span)
        out.change(check.next_change)
        if check.missing_since is not None:
            out.add("ALERT-DENTAL", Severity.WARN, check.missing_since,
                    f"No dental check in the {a.dental_months} months before the first bone-modifying dose due "
                    f"{dose}: arrange a dental assessment first ({ONJ_RISK})")
    for note in v.notes.get(NoteKind.DENTAL_PROCEDURE_PLANNED, ()) if v.bma else ():
        if note.date is None or not any(c > note.date for c in check_days):
            out.add("ALERT-DENTAL", Severity.WARN, v.note_day(note),
                    f"Invasive dental procedure planned ({v.note_day(note)}) on "
                    f"{agent_names([b.agent for b in v.bma], v.policy.bp)}: agree its timing with the dentist and "
                    f"the prescriber ({ONJ_RISK})")


def jaw_and_femur_alerts(v: AlertView, out: Found) -> None:
    for note in v.notes.get(NoteKind.ONJ, ()):
        out.add("ALERT-ONJ", Severity.BLOCK, v.note_day(note),
                f"Osteonecrosis of the jaw recorded ({v.note_day(note)}): {HOLD}")
    for fx in v.facts.fractures:
        if fx.mechanism is Mechanism.ATYPICAL:
            out.add("ALERT-AFF", Severity.BLOCK, fx.date, f"Atypical femoral fracture on {fx.date}: {HOLD}")
    bps = [c for c in v.started if c.drug.is_bp]
    years = v.policy.alerts.aff_symptom_bp_years
    for note in v.notes.get(NoteKind.THIGH_PAIN, ()) if bps else ():
        on = note.date or v.as_of
        spans = sorted((c.start, min(c.stop or on, on)) for c in bps if c.start <= on)  # type: ignore[operator]
        days, reach = 0, date.min
        for start, stop in spans:
            start = max(start, reach)
            if stop > start:
                days, reach = days + (stop - start).days, stop
        if spans and days >= (add_months(spans[0][0], 12 * years) - spans[0][0]).days:
            out.add("ALERT-AFF-SYMPTOM", Severity.WARN, v.note_day(note),
                    f"Thigh or groin pain recorded ({v.note_day(note)}) after {days / 365.25:.1f} years on a "
                    "bisphosphonate: image both femurs for an atypical fracture")
