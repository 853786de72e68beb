"""Use cases over a Session: add and update patients, record facts, start and stop courses, replan.

Each function validates everything first, then writes the change, its audit row and the patient's
new plan in the caller's transaction (db.engine.write_session), so a command writes all or nothing.
It receives `ctx.now`; it never reads the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.audit import AuditTrail
from db.models import CourseRow, PatientRow
from db.plans import store_plans
from db.queries import FACT_MAP, fact_to_values, find_patient, load_facts, patient_from_row
from monitor.clock import clinic_today
from monitor.core.domain import Assessment, Drug, Patient, PatientFacts, Plan, TherapyCourse
from monitor.core.errors import Conflict, DataError, NotFound
from monitor.intake.validate import Fact, check_fact, check_patient
from monitor.settings import Settings

PATIENT = PatientRow.__table__
COURSE = CourseRow.__table__


@dataclass(frozen=True)
class Context:
    """Who is acting, when, under which configuration."""

    settings: Settings
    user: str
    now: datetime

    @property
    def today(self) -> date:
        return clinic_today(self.now, self.settings.tz)


def evaluate(facts: PatientFacts, as_of: date, settings: Settings) -> tuple[Assessment, Plan]:
    """The pure core: tier and plan as of a date."""
    from monitor.core.plan import plan
    from monitor.core.risk import assess

    assessment = assess(facts, as_of=as_of, policy=settings.policy)
    return assessment, plan(facts, assessment, as_of=as_of, policy=settings.policy)


def replan(session: Session, ctx: Context, patient_ids: Sequence[int], *, as_of: date | None = None) -> dict[str, int]:
    """Recompute and store the plans of these patients (one query per table for the batch)."""
    day = as_of or ctx.today
    facts = load_facts(session, patient_ids)
    results = {pid: evaluate(f, day, ctx.settings) for pid, f in facts.items()}
    return store_plans(session, results, now=ctx.now)


def _snapshot(obj: Any) -> dict[str, Any]:
    """A fact or patient as plain values for the audit trail (enums as their text)."""
    out = {}
    for name in obj.__dataclass_fields__:
        if name != "id":
            value = getattr(obj, name)
            out[name] = value.value if isinstance(value, Enum) else value
    return out


# --------------------------------------------------------------------------- patients


def add_patient(session: Session, ctx: Context, patient: Patient) -> int:
    check_patient(patient, ctx.today)
    exists = session.execute(
        sa.select(PATIENT.c.id).where(PATIENT.c.mrn == patient.mrn, PATIENT.c.clinic == patient.clinic)
    ).first()
    if exists:
        raise Conflict(f"mrn: {patient.mrn} already exists in clinic {patient.clinic!r}; MRNs are unique per clinic")
    values = _snapshot(patient)
    values.update(sex=patient.sex.value, menopause=patient.menopause.value, created_at=ctx.now, updated_at=ctx.now)
    pid = session.execute(PATIENT.insert().values(**values).returning(PATIENT.c.id)).scalar_one()
    trail = AuditTrail(session, user=ctx.user, now=ctx.now)
    trail.add("patient add", "patient", entity_id=pid, patient_id=pid, mrn=patient.mrn, after=_snapshot(patient))
    trail.flush()
    replan(session, ctx, [pid])
    return pid


def update_patient(session: Session, ctx: Context, mrn: str, where_clinic: str | None, **changes: Any) -> Patient:
    row = find_patient(session, mrn, where_clinic)
    before = patient_from_row(row)
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise DataError("options", "none given",
                        "at least one of --name, --phone, --clinic, --menopause, --sex, --birth-date, --deceased-date")
    after = replace(before, **changes)
    check_patient(after, ctx.today)
    if after.clinic != before.clinic:
        clash = session.execute(
            sa.select(PATIENT.c.id).where(PATIENT.c.mrn == mrn, PATIENT.c.clinic == after.clinic)
        ).first()
        if clash:
            raise Conflict(f"clinic: MRN {mrn} already exists in clinic {after.clinic!r}")
    if after.deceased_date is not None or after.birth_date != before.birth_date:
        facts = load_facts(session, [row.id])[row.id]
        first, last = _fact_date_range(facts)
        if after.deceased_date is not None and last is not None and last > after.deceased_date:
            raise DataError("deceased-date", after.deceased_date, f"a date on or after her last recorded fact ({last})")
        if first is not None and after.birth_date > first:
            raise DataError("birth-date", after.birth_date, f"a date on or before her first recorded fact ({first})")
    values = {k: (v.value if hasattr(v, "value") else v) for k, v in changes.items()}
    session.execute(PATIENT.update().where(PATIENT.c.id == row.id).values(**values, updated_at=ctx.now))
    trail = AuditTrail(session, user=ctx.user, now=ctx.now)
    trail.add("patient update", "patient", entity_id=row.id, patient_id=row.id, mrn=mrn,
              before={k: _snapshot(before)[k] for k in changes}, after={k: _snapshot(after)[k] for k in changes})
    trail.flush()
    replan(session, ctx, [row.id])
    return after


def _fact_date_range(facts: PatientFacts) -> tuple[date | None, date | None]:
    """First and last date of her recorded events (planned starts are not events)."""
    dates = [getattr(f, "date", None) for group in (facts.doses, facts.dxa, facts.markers, facts.fractures,
                                                    facts.frax, facts.labs, facts.vitals, facts.notes) for f in group]
    dates += [d for c in facts.courses for d in (c.start, c.stop)]
    dates = [d for d in dates if d is not None]
    return min(dates, default=None), max(dates, default=None)


# --------------------------------------------------------------------------- facts


def _insert_fact(session: Session, fact: Fact, patient_id: int, extra: dict[str, Any] | None = None) -> int:
    table, _ = FACT_MAP[type(fact)]
    values = fact_to_values(fact, patient_id)
    values.update(extra or {})
    return session.execute(table.insert().values(**values).returning(table.c.id)).scalar_one()


def _same_fact_exists(session: Session, fact: Fact, patient_id: int) -> bool:
    table, _ = FACT_MAP[type(fact)]
    values = fact_to_values(fact, patient_id)
    values.pop("source")
    cond = [table.c[k] == v if v is not None else table.c[k].is_(None) for k, v in values.items()]
    return session.execute(sa.select(table.c.id).where(*cond).limit(1)).first() is not None


def record_fact(
    session: Session, ctx: Context, mrn: str, fact: Fact, *, clinic: str | None = None,
    extra: dict[str, Any] | None = None, action: str | None = None,
) -> int:
    """Validate and store one fact, audit it and replan the patient. Exact duplicates are refused."""
    row = find_patient(session, mrn, clinic)
    patient = patient_from_row(row)
    check_fact(fact, patient, ctx.today, ctx.settings.policy)
    if _same_fact_exists(session, fact, row.id):
        raise Conflict(f"{type(fact).__name__.lower()}: the same fact is already recorded for {mrn}; nothing written")
    fid = _insert_fact(session, fact, row.id, extra)
    trail = AuditTrail(session, user=ctx.user, now=ctx.now)
    table, _ = FACT_MAP[type(fact)]
    trail.add(action or f"record {table.name}", table.name, entity_id=fid, patient_id=row.id, mrn=mrn,
              after={**_snapshot(fact), **(extra or {})})
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
            cid = _insert_fact(session, course, row.id)
            trail.add("therapy plan", "course", entity_id=cid, patient_id=row.id, mrn=mrn, after=_snapshot(course))
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
            cid = _insert_fact(session, course, row.id)
            trail.add("therapy start", "course", entity_id=cid, patient_id=row.id, mrn=mrn, after=_snapshot(course))
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

