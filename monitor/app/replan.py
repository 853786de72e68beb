"""Replans: a batch of patients, the expired ones of a day, or the whole cohort, one query per table per
batch, never one per patient."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import PatientRow, PlanStateRow
from db.plans import store_plans
from db.queries import batched, load_facts
from monitor.app.context import Context, evaluate

PATIENT = PatientRow.__table__
STATE = PlanStateRow.__table__


def replan(session: Session, ctx: Context, patient_ids: Sequence[int], *, as_of: date | None = None) -> dict[str, int]:
    """Recompute and store the plans of these patients (one query per table for the batch)."""
    day = as_of or ctx.today
    facts = load_facts(session, patient_ids)
    results = {pid: evaluate(f, day, ctx.settings) for pid, f in facts.items()}
    return store_plans(session, results, now=ctx.now)


def expired_patient_ids(session: Session, *, as_of: date, clinic: str | None = None) -> list[int]:
    """Patients whose stored plan is missing or expired (valid_until ≤ as_of) or was made for a later date."""
    query = (
        sa.select(PATIENT.c.id)
        .select_from(PATIENT.outerjoin(STATE, STATE.c.patient_id == PATIENT.c.id))
        .where(sa.or_(STATE.c.patient_id.is_(None), STATE.c.valid_until <= as_of, STATE.c.as_of > as_of))
        .order_by(PATIENT.c.id)
    )
    if clinic:
        query = query.where(PATIENT.c.clinic == clinic)
    return list(session.execute(query).scalars())


def replan_cohort(
    session: Session, ctx: Context, *, as_of: date, clinic: str | None = None, only_expired: bool = True,
    progress=None,
) -> dict[str, int]:
    if only_expired:
        ids = expired_patient_ids(session, as_of=as_of, clinic=clinic)
    else:
        query = sa.select(PATIENT.c.id).order_by(PATIENT.c.id)
        if clinic:
            query = query.where(PATIENT.c.clinic == clinic)
        ids = list(session.execute(query).scalars())
    total = {"patients": len(ids), "tasks_new": 0, "tasks_changed": 0, "tasks_closed": 0,
             "alerts_new": 0, "alerts_closed": 0}
    for chunk in batched(ids, ctx.settings.scheduler.batch_size):
        counts = replan(session, ctx, chunk, as_of=as_of)
        for k, v in counts.items():
            total[k] += v
        if progress is not None:
            progress(len(chunk))
    return total
