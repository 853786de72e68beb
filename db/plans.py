"""The stored plan: tasks, alerts and plan_state, written set-wise for a batch of patients.

A task keeps its id while it is the same task (same patient, rule and anchor): its window, reason
and completion are updated in place, so acknowledgements and snoozes survive a replan. Tasks and
alerts that leave the plan are deactivated, never deleted (the audit and adherence reports need
them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import AlertRow, PlanStateRow, TaskRow
from monitor.core.domain import Assessment, Plan

TASK = TaskRow.__table__
ALERT = AlertRow.__table__
STATE = PlanStateRow.__table__

_TASK_FIELDS = ("kind", "earliest", "target", "latest", "grace_days", "reason", "done_on")


@dataclass(frozen=True)
class StoredTask:
    id: int
    rule: str
    anchor: date
    manual_done_on: date | None
    snoozed_until: date | None
    acked_at: datetime | None
    active: bool


def stored_tasks(session: Session, patient_ids: Sequence[int]) -> dict[int, dict[tuple[str, date], StoredTask]]:
    out: dict[int, dict[tuple[str, date], StoredTask]] = defaultdict(dict)
    if not patient_ids:
        return out
    cols = (TASK.c.id, TASK.c.patient_id, TASK.c.rule, TASK.c.anchor, TASK.c.manual_done_on, TASK.c.snoozed_until,
            TASK.c.acked_at, TASK.c.active)
    for r in session.execute(sa.select(*cols).where(TASK.c.patient_id.in_(list(patient_ids)))):
        out[r.patient_id][(r.rule, r.anchor)] = StoredTask(r.id, r.rule, r.anchor, r.manual_done_on,
                                                           r.snoozed_until, r.acked_at, r.active)
    return out


def store_plans(
    session: Session, results: Mapping[int, tuple[Assessment, Plan]], *, now: datetime
) -> dict[str, int]:
    """Write the plans of a batch: one SELECT per table, then bulk inserts and updates."""
    ids = list(results)
    counts = {"tasks_new": 0, "tasks_changed": 0, "tasks_closed": 0, "alerts_new": 0, "alerts_closed": 0}
    if not ids:
        return counts
    existing: dict[int, dict[tuple, Any]] = defaultdict(dict)
    for r in session.execute(sa.select(TASK).where(TASK.c.patient_id.in_(ids))):
        existing[r.patient_id][(r.rule, r.anchor)] = r
    alerts: dict[int, dict[tuple, Any]] = defaultdict(dict)
    for r in session.execute(sa.select(ALERT).where(ALERT.c.patient_id.in_(ids))):
        alerts[r.patient_id][(r.code, r.since)] = r

    task_inserts, task_updates, task_closes = [], [], []
    alert_inserts, alert_updates, alert_closes = [], [], []
    for pid, (_, plan) in results.items():
        seen = set()
        for t in plan.tasks:
            key = (t.rule, t.anchor)
            seen.add(key)
            values = {f: getattr(t, f) for f in _TASK_FIELDS}
            values["kind"] = t.kind.value
            row = existing[pid].get(key)
            if row is None:
                task_inserts.append({**values, "patient_id": pid, "rule": t.rule, "anchor": t.anchor,
                                     "active": True, "created_at": now, "updated_at": now})
            elif not row.active or any(getattr(row, f) != values[f] for f in _TASK_FIELDS):
                task_updates.append({**values, "b_id": row.id, "active": True, "updated_at": now})
        for key, row in existing[pid].items():
            if row.active and key not in seen:
                task_closes.append({"b_id": row.id, "updated_at": now})
        seen_alerts = set()
        for a in plan.alerts:
            key = (a.code, a.since)
            seen_alerts.add(key)
            row = alerts[pid].get(key)
            if row is None:
                alert_inserts.append({"patient_id": pid, "code": a.code, "severity": a.severity.value,
                                      "since": a.since, "message": a.message, "active": True,
                                      "created_at": now, "updated_at": now})
            elif not row.active or row.severity != a.severity.value or row.message != a.message:
                alert_updates.append({"b_id": row.id, "severity": a.severity.value, "message": a.message,
                                      "updated_at": now})
        for key, row in alerts[pid].items():
            if row.active and key not in seen_alerts:
                alert_closes.append({"b_id": row.id, "updated_at": now})

    bid = sa.bindparam("b_id")
    if task_inserts:
        session.execute(TASK.insert(), task_inserts)
    if task_updates:
        cols = {f: sa.bindparam(f) for f in (*_TASK_FIELDS, "active", "updated_at")}
        session.execute(TASK.update().where(TASK.c.id == bid).values(**cols), task_updates)
    if task_closes:
        session.execute(TASK.update().where(TASK.c.id == bid).values(active=False,
                                                                      updated_at=sa.bindparam("updated_at")),
                        task_closes)
    if alert_inserts:
        session.execute(ALERT.insert(), alert_inserts)
    if alert_updates:
        session.execute(ALERT.update().where(ALERT.c.id == bid).values(
            severity=sa.bindparam("severity"), message=sa.bindparam("message"), active=True,
            updated_at=sa.bindparam("updated_at")), alert_updates)
    if alert_closes:
        session.execute(ALERT.update().where(ALERT.c.id == bid).values(active=False,
                                                                        updated_at=sa.bindparam("updated_at")),
                        alert_closes)
    _store_state(session, results, now=now)
    counts.update(tasks_new=len(task_inserts), tasks_changed=len(task_updates), tasks_closed=len(task_closes),
                  alerts_new=len(alert_inserts), alerts_closed=len(alert_closes))
    return counts


def _store_state(session: Session, results: Mapping[int, tuple[Assessment, Plan]], *, now: datetime) -> None:
    ids = list(results)
    session.execute(STATE.delete().where(STATE.c.patient_id.in_(ids)))
    session.execute(STATE.insert(), [
        {
            "patient_id": pid, "as_of": plan.as_of, "valid_until": plan.valid_until, "tier": a.tier.value,
            "provisional": a.provisional, "reasons": ",".join(a.reasons),
            "flags": ",".join(dict.fromkeys((*a.flags, *plan.flags))), "ai_status": a.ai_status.value,
            "bma_indicated": a.bma_indicated, "in_pathway": a.in_pathway, "planned_at": now,
        }
        for pid, (a, plan) in results.items()
    ])
