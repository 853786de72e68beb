"""The plan: one CarePlan (tier, reasons, flags, valid until), and per task a ServiceRequest (what is due,
coded, target date) and a Task (bonemon status as businessStatus, earliest..latest, focus → the request)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from monitor.app.documents import StoredTaskLike, task_document
from monitor.core.domain import Assessment, Plan, Task, TaskKind
from monitor.export.fhir.codes import (
    PLAN_EXT,
    RULE_SYSTEM,
    SNOMED,
    TASK_ID_SYSTEM,
    TASK_KEY_SYSTEM,
    TASK_KIND_SYSTEM,
    TASK_STATUS_SYSTEM,
)
from monitor.export.fhir.writer import BundleWriter, coding, concept, full_url, label

TASK_LABELS: dict[TaskKind, str] = {
    TaskKind.DXA: "DXA",
    TaskKind.BTM: "Bone turnover markers",
    TaskKind.RISK_REVIEW: "Risk review",
    TaskKind.DENOSUMAB_DOSE: "Denosumab dose",
    TaskKind.BP_DOSE: "Bisphosphonate dose",
    TaskKind.SEQUENTIAL_BP: "Sequential bisphosphonate",
    TaskKind.BP_HOLIDAY_REVIEW: "Bisphosphonate holiday review",
    TaskKind.ENDOCRINE_REVIEW: "Endocrine therapy review",
    TaskKind.ADHERENCE_SWITCH: "Adherence review",
    TaskKind.LIFESTYLE: "Lifestyle counselling",
    TaskKind.TRANSITION_PLAN: "Transition plan",
}
BONE_DENSITY_SCAN = ("312681000", "Bone density scan")  # SNOMED procedure (the DXA ServiceRequest)

# bonemon task status → FHIR Task.status (the bonemon status itself is businessStatus).
TASK_STATUS = {"upcoming": "requested", "due": "ready", "overdue": "ready", "snoozed": "on-hold",
               "done": "completed", "done_late": "completed"}
REQUEST_STATUS = {"snoozed": "on-hold", "done": "completed", "done_late": "completed"}


def care_plan(w: BundleWriter, a: Assessment, plan: Plan, as_of: date,
              stored: Mapping[tuple[str, date], StoredTaskLike]) -> None:
    """The CarePlan, then its requests and tasks in target order."""
    cp_id = w.ids.make("cp")
    cp_ref = {"reference": full_url("CarePlan", cp_id)}
    flags = list(dict.fromkeys((*a.flags, *plan.flags)))
    parts: list[dict[str, Any]] = [{"url": "tier", "valueCode": a.tier.value},
                                   {"url": "provisional", "valueBoolean": a.provisional}]
    parts += [{"url": "reason", "valueCode": r} for r in a.reasons]
    parts += [{"url": "flag", "valueCode": f} for f in flags]
    parts.append({"url": "ai-status", "valueCode": a.ai_status.value})
    parts.append({"url": "bma-indicated", "valueBoolean": a.bma_indicated})
    parts += [{"url": "exit-reason", "valueCode": r} for r in a.exit_reasons]
    description = f"Tier {a.tier.value}" + (" (provisional)" if a.provisional else "")
    description += f", reasons {', '.join(a.reasons) or 'none'}; flags {', '.join(flags) or 'none'}"
    if not a.in_pathway:
        description += f"; out of the pathway: {', '.join(a.exit_reasons)}"
    task_entries = [(t, task_document(t, as_of, stored.get((t.rule, t.anchor)))) for t in plan.tasks]
    first_task = len(w.entries)
    activities = [{"reference": add_task(w, t, doc, cp_ref)}
                  for t, doc in sorted(task_entries, key=lambda td: (td[1]["target"], td[1]["kind"], td[1]["rule"]))]
    r: dict[str, Any] = {
        "resourceType": "CarePlan", "id": cp_id, "extension": [{"url": PLAN_EXT, "extension": parts}],
        "status": "active" if a.in_pathway else "revoked", "intent": "plan",
        "category": [concept(coding(TASK_KIND_SYSTEM, "bone-health-monitoring"),
                             text="Bone-health monitoring (aromatase inhibitor)")],
        "title": "Bone-health monitoring plan", "description": description, "subject": w.patient_ref,
        "period": {"start": as_of.isoformat(), "end": plan.valid_until.isoformat()},
    }
    if activities:
        r["activity"] = activities
    # The CarePlan goes before its requests and tasks (they were appended while building it).
    w.entries.insert(first_task, w.entry(r))


def add_task(w: BundleWriter, task: Task, doc: dict[str, Any], cp_ref: dict[str, str]) -> dict[str, str]:
    """The task's ServiceRequest and Task; returns the reference to the Task."""
    status = doc["status"]
    text = TASK_LABELS.get(task.kind, label(task.kind.value))
    kind = coding(TASK_KIND_SYSTEM, task.kind.value, text)
    codes = [kind]
    if task.kind is TaskKind.DXA:
        codes.append(coding(SNOMED, *BONE_DENSITY_SCAN))
    key_ident = {"system": TASK_KEY_SYSTEM, "value": task.key}
    sr: dict[str, Any] = {
        "resourceType": "ServiceRequest", "id": w.ids.make("sr", task.rule, task.anchor),
        "identifier": [key_ident], "basedOn": [cp_ref],
        "status": REQUEST_STATUS.get(status, "active"), "intent": "plan",
        "code": concept(*codes, text=text), "subject": w.patient_ref,
        "occurrenceDateTime": doc["target"],
    }
    if task.reason:
        sr["reasonCode"] = [{"text": task.reason}]
    sr_ref = w.add(sr)
    identifiers = [key_ident]
    if doc["id"] is not None:
        identifiers.append({"system": TASK_ID_SYSTEM, "value": str(doc["id"])})
    r: dict[str, Any] = {
        "resourceType": "Task", "id": w.ids.make("task", task.rule, task.anchor),
        "identifier": identifiers, "basedOn": [cp_ref],
        "status": TASK_STATUS[status],
        "businessStatus": concept(coding(TASK_STATUS_SYSTEM, status), text=status),
        "intent": "plan",
        "code": concept(kind, coding(RULE_SYSTEM, task.rule), text=f"{text} ({task.rule})"),
        "description": task.reason or text,
        "focus": sr_ref, "for": w.patient_ref,
    }
    if doc["done_on"]:
        r["executionPeriod"] = {"end": doc["done_on"]}
    if doc["snoozed_until"]:
        r["statusReason"] = {"text": f"snoozed until {doc['snoozed_until']}"}
    r["restriction"] = {"period": {"start": doc["earliest"], "end": doc["latest"]}}
    return w.add(r)
