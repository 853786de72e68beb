"""Renal checks before a bone-modifying agent: ALERT-RENAL-ZOL5/-ZOL4/-ALN/-RIS/-IBN and ALERT-DMAB-CKD.

CrCl, eGFR are compared as labs report them (1 decimal). The 30-day creatinine check before a dose
is for zoledronic acid 5 mg only; ALERT-DMAB-CKD reads eGFR and dialysis only. Acute renal
impairment counts until a creatinine or CrCl result dated after the note.
"""

from __future__ import annotations

from datetime import date

from monitor.core.alerts.found import Found, num, rounded
from monitor.core.alerts.predose import Span, pre_dose
from monitor.core.alerts.view import AlertView, Bma
from monitor.core.domain import LabAnalyte, NoteKind, Severity
from monitor.core.regimen import Agent, agent_name


def renal_alerts(v: AlertView, due: dict[Agent | None, date], out: Found) -> None:
    a = v.policy.alerts
    renal = v.renal() if any(b.agent is not Agent.DENOSUMAB for b in v.bma) else None
    for b in v.bma:
        if b.agent is Agent.DENOSUMAB:
            denosumab_ckd(v, b, out)
            continue
        name = agent_name(b.agent, v.policy.bp)
        if b.agent is Agent.ZOL5:
            latest = v.latest(LabAnalyte.CREATININE, LabAnalyte.CRCL)
            for note in v.notes.get(NoteKind.ACUTE_RENAL_IMPAIRMENT, ()):
                if note.date is None or latest is None or note.date >= latest.date:
                    out.add("ALERT-RENAL-ZOL5", Severity.BLOCK, v.note_day(note),
                            f"Acute renal impairment recorded ({v.note_day(note)}): do not give {name} "
                            "until renal function has recovered")
        if renal is None:
            continue
        since = max(renal.day, b.start or renal.day)
        if b.agent is Agent.ZOL5 and renal.crcl < a.crcl_zol5_block:
            out.add("ALERT-RENAL-ZOL5", Severity.BLOCK, since,
                    f"{renal.text} is below {num(a.crcl_zol5_block)}: do not give {name}")
        elif b.agent is Agent.ZOL4 and renal.crcl < a.crcl_zol4_block:
            out.add("ALERT-RENAL-ZOL4", Severity.BLOCK, since,
                    f"{renal.text} is below {num(a.crcl_zol4_block)}: {name} is not recommended")
        elif b.agent is Agent.ZOL4 and renal.crcl <= a.crcl_zol4_reduce:
            out.add("ALERT-RENAL-ZOL4", Severity.WARN, since,
                    f"{renal.text} is {num(a.crcl_zol4_reduce)} or less: reduce the {name} dose as labelled")
        elif b.agent is Agent.ALENDRONATE and renal.crcl < a.crcl_alendronate_block:
            out.add("ALERT-RENAL-ALN", Severity.BLOCK, since,
                    f"{renal.text} is below {num(a.crcl_alendronate_block)}: do not give {name}")
        elif b.agent in (Agent.RISEDRONATE, Agent.IBANDRONATE_ORAL, Agent.IBANDRONATE_IV) \
                and renal.crcl < a.crcl_ris_ibn_block:
            out.add("ALERT-RENAL-RIS" if b.agent is Agent.RISEDRONATE else "ALERT-RENAL-IBN", Severity.BLOCK, since,
                    f"{renal.text} is below {num(a.crcl_ris_ibn_block)}: do not give {name}")
    if Agent.ZOL5 in due:
        target = due[Agent.ZOL5]
        check = pre_dose(target, v.dates(LabAnalyte.CREATININE, LabAnalyte.CRCL), v.as_of,
                         Span(days=a.creatinine_check_days))
        out.change(check.next_change)
        if check.missing_since is not None:
            out.add("ALERT-RENAL-ZOL5", Severity.BLOCK, check.missing_since,
                    f"No creatinine result in the {a.creatinine_check_days} days before the "
                    f"{agent_name(Agent.ZOL5, v.policy.bp)} dose due {target}: check creatinine and CrCl before "
                    "giving it")


def denosumab_ckd(v: AlertView, b: Bma, out: Found) -> None:
    limit = v.policy.alerts.egfr_denosumab_warn
    advice = ("risk of severe hypocalcaemia on denosumab; evaluate CKD-mineral and bone disorder and give it only "
              "under specialist supervision")
    egfr = v.latest(LabAnalyte.EGFR)
    if egfr is not None and rounded(egfr.value, 1) < limit:
        out.add("ALERT-DMAB-CKD", Severity.HIGH, max(egfr.date, b.start or egfr.date),
                f"eGFR {num(rounded(egfr.value, 1))} mL/min/1.73m² on {egfr.date} is below {num(limit)}: {advice}")
    for note in v.notes.get(NoteKind.DIALYSIS, ()):
        out.add("ALERT-DMAB-CKD", Severity.HIGH, v.note_day(note), f"On dialysis ({v.note_day(note)}): {advice}")
