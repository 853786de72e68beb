"""The write helpers every use case shares (record, import, void): rows in, ids out, audit images.

Callers validate first and write the audit row in the same transaction (db.audit.AuditTrail).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import PatientRow
from db.queries import FACT_MAP, batched, fact_to_values
from monitor.core.domain import Patient

PATIENT = PatientRow.__table__


def audit_image(obj: Any) -> dict[str, Any]:
    """A fact or patient as plain values for the audit trail (enums as their text, no row id)."""
    out = {}
    for name in obj.__dataclass_fields__:
        if name not in ("id", "derived"):
            value = getattr(obj, name)
            out[name] = value.value if isinstance(value, Enum) else value
    return out


def insert_patient(session: Session, patient: Patient, *, now: datetime) -> int:
    values = audit_image(patient)
    values.update(sex=patient.sex.value, menopause=patient.menopause.value, created_at=now, updated_at=now)
    return session.execute(PATIENT.insert().returning(PATIENT.c.id), values).scalar_one()


def update_patient_row(session: Session, patient_id: int, changes: Mapping[str, Any], *, now: datetime) -> None:
    plain = {k: (v.value if isinstance(v, Enum) else v) for k, v in changes.items()}
    session.execute(PATIENT.update().where(PATIENT.c.id == patient_id).values(**plain, updated_at=now))


def insert_fact(session: Session, fact: Any, patient_id: int, extra: Mapping[str, Any] | None = None) -> int:
    table, _ = FACT_MAP[type(fact)]
    values = {**fact_to_values(fact, patient_id), **(extra or {})}
    return session.execute(table.insert().values(**values).returning(table.c.id)).scalar_one()


def insert_fact_rows(session: Session, table: sa.Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Many rows of one fact table at once (executemany, in chunks)."""
    rows = list(rows)
    keys = set().union(*rows) if rows else set()  # executemany needs the same keys in every row
    for chunk in batched([{k: r.get(k) for k in keys} for r in rows], 5000):
        session.execute(table.insert(), list(chunk))


def update_fact(session: Session, fact: Any, fact_id: int, patient_id: int) -> None:
    table, _ = FACT_MAP[type(fact)]
    session.execute(table.update().where(table.c.id == fact_id).values(**fact_to_values(fact, patient_id)))


def same_fact_exists(session: Session, fact: Any, patient_id: int) -> bool:
    table, _ = FACT_MAP[type(fact)]
    values = fact_to_values(fact, patient_id)
    values.pop("source")
    cond = [table.c[k] == v if v is not None else table.c[k].is_(None) for k, v in values.items()]
    return session.execute(sa.select(table.c.id).where(*cond).limit(1)).first() is not None
