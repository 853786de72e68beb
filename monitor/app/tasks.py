"""Staff actions on stored tasks: ack, snooze (reason and a bounded end date), done. Each is audited."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.audit import AuditTrail
from db.models import PatientRow, TaskActionRow, TaskRow
from monitor.app.context import Context
from monitor.core.dates import add_days
from monitor.core.errors import Conflict, DataError, NotFound

TASK = TaskRow.__table__
ACTION = TaskActionRow.__table__
PATIENT = PatientRow.__table__


def act(session: Session, ctx: Context, task_id: int | None, action: str, *, until: date | None = None,
        day: date | None = None, reason: str | None = None) -> str:
    if task_id is None or task_id <= 0:
        raise DataError("task-id", task_id, "a task id from `bonemon remind` or `patient show`")
    row = session.execute(
        sa.select(TASK, PATIENT.c.mrn).join(PATIENT, PATIENT.c.id == TASK.c.patient_id).where(TASK.c.id == task_id)
    ).first()
    if row is None:
        raise NotFound(f"task-id: no task {task_id}")
    if not row.active:
        raise Conflict(f"task {task_id} is no longer in the patient's plan; see `bonemon patient show {row.mrn}`")
    if reason is not None and len(reason) > 500:
        raise DataError("reason", reason[:40] + "…", "at most 500 characters")
    today = ctx.today
    already_done = row.done_on is not None or row.manual_done_on is not None
    changes: dict = {}
    if action == "ack":
        changes["acked_at"] = ctx.now
        message = f"Task {task_id} acknowledged."
    elif action == "snooze":
        if already_done:
            raise Conflict(f"task {task_id} is already done; nothing to snooze")
        if not reason or not reason.strip():
            raise DataError("reason", repr(reason), "a reason for the snooze")
        limit = add_days(today, ctx.settings.tasks.snooze_max_days)
        if until is None or not today <= until <= limit:
            raise DataError("until", until, f"a date from today ({today}) to {limit} "
                                            f"(snoozes last at most {ctx.settings.tasks.snooze_max_days} days)")
        changes["snoozed_until"] = until
        message = f"Task {task_id} snoozed until {until}."
    elif action == "done":
        if already_done:
            raise Conflict(f"task {task_id} is already done")
        day = day or today
        if day > today:
            raise DataError("date", day, f"a date on or before today ({today})")
        changes["manual_done_on"] = day
        message = f"Task {task_id} marked done on {day}."
    else:  # pragma: no cover - the CLI offers only the three
        raise ValueError(action)
    before = {k: getattr(row, k) for k in changes}
    session.execute(TASK.update().where(TASK.c.id == task_id).values(**changes, updated_at=ctx.now))
    session.execute(ACTION.insert().values(task_id=task_id, action=action, at=ctx.now, user=ctx.user,
                                           until=until, reason=reason))
    trail = AuditTrail(session, user=ctx.user, now=ctx.now)
    trail.add(f"task {action}", "task", entity_id=task_id, patient_id=row.patient_id, mrn=row.mrn,
              before=before, after={**changes, "reason": reason})
    trail.flush()
    return message
