"""Patients: add and update (validated, audited, replanned), one patient's document as of a date, the list."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.audit import AuditTrail
from db.models import PatientRow
from db.plans import stored_tasks
from db.queries import batched, find_patient, load_facts, patient_from_row
from db.writes import audit_image, insert_patient, update_patient_row
from monitor.app.context import Context, evaluate
from monitor.app.documents import patient_document
from monitor.app.replan import replan
from monitor.core.domain import Patient, PatientFacts, Tier
from monitor.core.errors import Conflict, DataError
from monitor.intake.validate import check_patient

PATIENT = PatientRow.__table__


def add_patient(session: Session, ctx: Context, patient: Patient) -> int:
    check_patient(patient, ctx.today)
    exists = session.execute(
        sa.select(PATIENT.c.id).where(PATIENT.c.mrn == patient.mrn, PATIENT.c.clinic == patient.clinic)
    ).first()
    if exists:
        raise Conflict(f"mrn: {patient.mrn} already exists in clinic {patient.clinic!r}; MRNs are unique per clinic")
    pid = insert_patient(session, patient, now=ctx.now)
    trail = AuditTrail(session, user=ctx.user, now=ctx.now)
    trail.add("patient add", "patient", entity_id=pid, patient_id=pid, mrn=patient.mrn, after=audit_image(patient))
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
    update_patient_row(session, row.id, changes, now=ctx.now)
    trail = AuditTrail(session, user=ctx.user, now=ctx.now)
    trail.add("patient update", "patient", entity_id=row.id, patient_id=row.id, mrn=mrn,
              before={k: audit_image(before)[k] for k in changes}, after={k: audit_image(after)[k] for k in changes})
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



def patient_view(session: Session, ctx: Context, mrn: str, *, clinic: str | None, as_of: date) -> dict[str, Any]:
    row = find_patient(session, mrn, clinic)
    facts = load_facts(session, [row.id])[row.id]
    assessment, plan = evaluate(facts, as_of, ctx.settings)
    return patient_document(facts, assessment, plan, as_of, stored_tasks(session, [row.id]).get(row.id, {}))


def patient_list(
    session: Session, ctx: Context, *, clinic: str | None, tier: Tier | None, as_of: date
) -> list[dict[str, Any]]:
    from monitor.core.risk import assess

    query = sa.select(PATIENT.c.id).order_by(PATIENT.c.clinic, PATIENT.c.mrn)
    if clinic:
        query = query.where(PATIENT.c.clinic == clinic)
    ids = list(session.execute(query).scalars())
    out = []
    for chunk in batched(ids, ctx.settings.scheduler.batch_size):
        facts = load_facts(session, chunk)
        for pid in chunk:
            f = facts[pid]
            a = assess(f, as_of=as_of, policy=ctx.settings.policy)
            if tier is not None and a.tier is not tier:
                continue
            p = f.patient
            out.append({
                "mrn": p.mrn, "name": p.name, "birth_date": p.birth_date.isoformat(), "sex": p.sex.value,
                "clinic": p.clinic, "deceased_date": p.deceased_date.isoformat() if p.deceased_date else None,
                "tier": a.tier.value, "ai_status": a.ai_status.value,
            })
    return out
