"""Read-side use cases: one patient's document as of a date, and the patient list."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import PatientRow
from db.plans import stored_tasks
from db.queries import batched, find_patient, load_facts
from monitor.app.documents import patient_document
from monitor.app.facts import Context, evaluate
from monitor.core.domain import Tier

PATIENT = PatientRow.__table__


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
