"""Recording facts: one fact, a course start (or plan) and a course stop, each validated, audited and replanned.

Each function validates everything first, then writes the change, its audit row and the patient's
new plan in the caller's transaction (db.engine.write_session), so a command writes all or nothing.
It receives `ctx.now`; it never reads the clock.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.audit import AuditTrail
from db.models import CourseRow
from db.queries import FACT_MAP, find_patient, patient_from_row
from db.writes import audit_image, insert_fact, same_fact_exists
from monitor.app.context import Context
from monitor.app.replan import replan
from monitor.core.domain import Drug, TherapyCourse
from monitor.core.errors import Conflict, DataError, NotFound
from monitor.intake.validate import Fact, check_fact

COURSE = CourseRow.__table__


def record_fact(
    session: Session, ctx: Context, mrn: str, fact: Fact, *, clinic: str | None = None,
    extra: dict[str, Any] | None = None, action: str | None = None,
) -> int:
    """Validate and store one fact, audit it and replan the patient. Exact duplicates are refused."""
    row = find_patient(session, mrn, clinic)
    patient = patient_from_row(row)
    check_fact(fact, patient, ctx.today, ctx.settings.policy)
    if same_fact_exists(session, fact, row.id):
        raise Conflict(f"{type(fact).__name__.lower()}: the same fact is already recorded for {mrn}; nothing written")
    fid = insert_fact(session, fact, row.id, extra)
    trail = AuditTrail(session, user=ctx.user, now=ctx.now)
    table, _ = FACT_MAP[type(fact)]
    trail.add(action or f"record {table.name}", table.name, entity_id=fid, patient_id=row.id, mrn=mrn,
              after={**audit_image(fact), **(extra or {})})
    trail.flush()
    replan(session, ctx, [row.id])
    return fid


# --------------------------------------------------------------------------- courses


def _courses(session: Session, patient_id: int, drug: Drug) -> list[Any]:
    return list(session.execute(
        sa.select(COURSE).where(COURSE.c.patient_id == patient_id, COURSE.c.drug == drug.value).order_by(COURSE.c.id)
    ))


def start_therapy(
    session: Session, ctx: Context, mrn: str, drug: Drug, day: date, *, planned: bool = False,
    dose_mg: float | None = None, interval_months: int | None = None, clinic: str | None = None,
) -> str:
    """Record a course (or its plan). A start without --planned turns an open plan into the course."""
    row = find_patient(session, mrn, clinic)
    patient = patient_from_row(row)
    courses = _courses(session, row.id, drug)
    open_course = next((c for c in courses if c.start is not None and c.stop is None), None)
    open_plan = next((c for c in courses if c.start is None and c.stop is None), None)
    trail = AuditTrail(session, user=ctx.user, now=ctx.now)
    if planned:
        course = TherapyCourse(drug, planned_start=day, dose_mg=dose_mg, interval_months=interval_months)
        check_fact(course, patient, ctx.today, ctx.settings.policy)
        if open_course is not None:
            raise Conflict(f"drug: a {drug} course has been running since {open_course.start}; stop it first")
        if open_plan is not None:
            before = {"planned_start": open_plan.planned_start}
            session.execute(COURSE.update().where(COURSE.c.id == open_plan.id).values(
                planned_start=day, dose_mg=dose_mg or open_plan.dose_mg,
                interval_months=interval_months or open_plan.interval_months))
            trail.add("therapy plan", "course", entity_id=open_plan.id, patient_id=row.id, mrn=mrn,
                      before=before, after={"planned_start": day})
            message = f"{drug} plan moved to {day}"
        else:
            cid = insert_fact(session, course, row.id)
            trail.add("therapy plan", "course", entity_id=cid, patient_id=row.id, mrn=mrn, after=audit_image(course))
            message = f"{drug} planned from {day}"
    else:
        course = TherapyCourse(drug, start=day, dose_mg=dose_mg, interval_months=interval_months)
        check_fact(course, patient, ctx.today, ctx.settings.policy)
        if open_course is not None:
            raise Conflict(f"drug: a {drug} course has been running since {open_course.start}; stop it first")
        last_stop = max((c.stop for c in courses if c.start is not None and c.stop is not None), default=None)
        if last_stop is not None and day < last_stop:
            raise DataError("date", day, f"a date on or after the previous {drug} course stopped ({last_stop})")
        if open_plan is not None:
            session.execute(COURSE.update().where(COURSE.c.id == open_plan.id).values(
                start=day, dose_mg=dose_mg or open_plan.dose_mg,
                interval_months=interval_months or open_plan.interval_months))
            trail.add("therapy start", "course", entity_id=open_plan.id, patient_id=row.id, mrn=mrn,
                      before={"start": None, "planned_start": open_plan.planned_start}, after={"start": day})
            message = f"{drug} started on {day} (planned for {open_plan.planned_start})"
        else:
            cid = insert_fact(session, course, row.id)
            trail.add("therapy start", "course", entity_id=cid, patient_id=row.id, mrn=mrn, after=audit_image(course))
            message = f"{drug} started on {day}"
    trail.flush()
    replan(session, ctx, [row.id])
    return message


def stop_therapy(
    session: Session, ctx: Context, mrn: str, drug: Drug, day: date, *, reason: str | None = None,
    clinic: str | None = None,
) -> str:
    row = find_patient(session, mrn, clinic)
    patient = patient_from_row(row)
    courses = _courses(session, row.id, drug)
    target = next((c for c in courses if c.start is not None and c.stop is None), None)
    if target is None:
        target = next((c for c in courses if c.start is None and c.stop is None), None)
    if target is None:
        raise NotFound(f"drug: {mrn} has no open {drug} course to stop; see `bonemon patient show {mrn}`")
    stopped = TherapyCourse(drug, start=target.start, planned_start=target.planned_start, stop=day, stop_reason=reason)
    check_fact(stopped, patient, ctx.today, ctx.settings.policy)
    if reason is not None and len(reason) > 500:
        raise DataError("reason", reason[:40] + "…", "at most 500 characters")
    session.execute(COURSE.update().where(COURSE.c.id == target.id).values(stop=day, stop_reason=reason))
    trail = AuditTrail(session, user=ctx.user, now=ctx.now)
    trail.add("therapy stop", "course", entity_id=target.id, patient_id=row.id, mrn=mrn,
              before={"stop": None}, after={"stop": day, "stop_reason": reason})
    trail.flush()
    replan(session, ctx, [row.id])
    what = "plan cancelled" if target.start is None else "stopped"
    return f"{drug} {what} on {day}"

