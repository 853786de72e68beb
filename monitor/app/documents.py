"""The patient document (`patient show --json`, docs/cli.md), built from plain values.

Pure: facts, the assessment and plan as of a date, and what staff did to the stored tasks
(snooze, manual done) go in; a JSON-ready dict comes out. The human view renders the same dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Protocol

from monitor.core.domain import Assessment, PatientFacts, Plan, Task, TaskStatus
from monitor.core.status import task_status


class StoredTaskLike(Protocol):
    id: int
    manual_done_on: date | None
    snoozed_until: date | None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def task_document(task: Task, as_of: date, stored: StoredTaskLike | None) -> dict[str, Any]:
    manual = stored.manual_done_on if stored is not None else None
    snoozed = stored.snoozed_until if stored is not None else None
    status = task_status(task, as_of, snoozed_until=snoozed, manual_done_on=manual)
    done_on = task.done_on if task.done_on is not None and task.done_on <= as_of else None
    if done_on is None and status in (TaskStatus.DONE, TaskStatus.DONE_LATE):
        done_on = manual
    return {
        "id": stored.id if stored is not None else None,
        "kind": task.kind.value,
        "rule": task.rule,
        "earliest": task.earliest.isoformat(),
        "target": task.target.isoformat(),
        "latest": task.latest.isoformat(),
        "status": status.value,
        "reason": task.reason,
        "anchor": task.anchor.isoformat(),
        "grace_days": task.grace_days,
        "done_on": _iso(done_on),
        "snoozed_until": _iso(snoozed) if status is TaskStatus.SNOOZED else None,
    }


def patient_document(
    facts: PatientFacts, assessment: Assessment, plan: Plan, as_of: date,
    stored: Mapping[tuple[str, date], StoredTaskLike] | None = None,
) -> dict[str, Any]:
    p = facts.patient
    stored = stored or {}
    tasks = [task_document(t, as_of, stored.get((t.rule, t.anchor))) for t in plan.tasks]
    tasks.sort(key=lambda t: (t["target"], t["kind"], t["rule"]))
    return {
        "mrn": p.mrn,
        "as_of": as_of.isoformat(),
        "tier": assessment.tier.value,
        "provisional": assessment.provisional,
        "reasons": list(assessment.reasons),
        "flags": list(dict.fromkeys((*assessment.flags, *plan.flags))),
        "t_min": float(assessment.t_min) if assessment.t_min is not None else None,
        "t_min_site": assessment.t_min_site.value if assessment.t_min_site is not None else None,
        "bmd_date": _iso(assessment.bmd_date),
        "bmd_status": assessment.bmd_status.value,
        "ai_status": assessment.ai_status.value,
        "bma_indicated": assessment.bma_indicated,
        "in_pathway": assessment.in_pathway,
        "exit_reasons": list(assessment.exit_reasons),
        "tasks": tasks,
        "alerts": [
            {"code": a.code, "severity": a.severity.value, "since": a.since.isoformat(), "message": a.message}
            for a in plan.alerts
        ],
        "valid_until": plan.valid_until.isoformat(),
        "name": p.name,
        "phone": p.phone,
        "clinic": p.clinic,
        "birth_date": p.birth_date.isoformat(),
        "sex": p.sex.value,
        "menopause": p.menopause.value,
        "deceased_date": _iso(p.deceased_date),
    }
