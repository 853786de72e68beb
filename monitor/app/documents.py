"""The patient document of DESIGN §6 (`patient show --json`), built from plain values.

Pure: facts, the assessment and plan as of a date, and what staff did to the stored tasks
(snooze, manual done) go in; a JSON-ready dict comes out. The human view renders the same dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any, Protocol

from monitor.core.domain import Assessment, PatientFacts, Plan, Task, TaskStatus, task_status


class StoredTaskLike(Protocol):
    id: int
    manual_done_on: date | None
    snoozed_until: date | None


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def task_document(task: Task, as_of: date, stored: StoredTaskLike | None) -> dict[str, Any]:
    done_on = task.done_on if task.done_on is not None and task.done_on <= as_of else None
    manual = stored.manual_done_on if stored is not None else None
    if done_on is None and manual is not None and manual <= as_of:
        done_on = manual
    effective = task if done_on == task.done_on else _with_done(task, done_on)
    status = task_status(effective, as_of, snoozed_until=stored.snoozed_until if stored else None)
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
        "snoozed_until": _iso(stored.snoozed_until) if stored is not None and status is TaskStatus.SNOOZED else None,
    }


def _with_done(task: Task, done_on: date | None) -> Task:
    return replace(task, done_on=done_on)


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
