"""Queries that hand the pure core plain domain values, loaded in bulk.

`load_facts` reads a batch of patients with one query per table (never one per patient); the
converters map rows to the frozen dataclasses of monitor.core.domain and back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import (
    CourseRow,
    DoseRow,
    DxaRow,
    FractureRow,
    FraxRow,
    LabRow,
    MarkerRow,
    NoteRow,
    PatientRow,
    VitalsRow,
)
from monitor.core.domain import (
    FACT_GROUP,
    Dose,
    Drug,
    DxaRoi,
    DxaSite,
    Fracture,
    FractureSite,
    Frax,
    Lab,
    LabAnalyte,
    Marker,
    MarkerAnalyte,
    Mechanism,
    Menopause,
    Note,
    NoteKind,
    Patient,
    PatientFacts,
    Route,
    Sex,
    Side,
    TherapyCourse,
    Vitals,
)
from monitor.core.errors import Conflict, NotFound

PATIENT = PatientRow.__table__

# fact class → (table, {column: enum type to parse it with}); columns match the dataclass fields.
FACT_MAP: dict[type, tuple[sa.Table, dict[str, type]]] = {
    TherapyCourse: (CourseRow.__table__, {"drug": Drug}),
    Dose: (DoseRow.__table__, {"drug": Drug, "route": Route}),
    DxaRoi: (DxaRow.__table__, {"site": DxaSite, "side": Side}),
    Marker: (MarkerRow.__table__, {"analyte": MarkerAnalyte}),
    Fracture: (FractureRow.__table__, {"site": FractureSite, "mechanism": Mechanism}),
    Frax: (FraxRow.__table__, {}),
    Lab: (LabRow.__table__, {"analyte": LabAnalyte}),
    Vitals: (VitalsRow.__table__, {}),
    Note: (NoteRow.__table__, {"kind": NoteKind}),
}
FACT_FIELD = FACT_GROUP
_FIELDS = {cls: [f for f in cls.__dataclass_fields__ if f not in ("id", "source")] for cls in FACT_MAP}


def patient_from_row(row: Any) -> Patient:
    return Patient(
        mrn=row.mrn, birth_date=row.birth_date, sex=Sex(row.sex), menopause=Menopause(row.menopause),
        clinic=row.clinic, name=row.name, deceased_date=row.deceased_date, country=row.country, phone=row.phone,
        id=row.id, source=row.source,
    )


def fact_to_values(fact: Any, patient_id: int) -> dict[str, Any]:
    values = {name: getattr(fact, name) for name in _FIELDS[type(fact)]}
    for k, v in values.items():
        if hasattr(v, "value") and not isinstance(v, int | float):
            values[k] = v.value
    values["patient_id"] = patient_id
    values["source"] = fact.source
    return values


def load_facts(session: Session, patient_ids: Sequence[int]) -> dict[int, PatientFacts]:
    """One query per table for the whole batch."""
    if not patient_ids:
        return {}
    ids = list(patient_ids)
    patients = {
        r.id: patient_from_row(r) for r in session.execute(sa.select(PATIENT).where(PATIENT.c.id.in_(ids)))
    }
    buckets: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for cls, (table, enums) in FACT_MAP.items():
        field = FACT_FIELD[cls]
        names = _FIELDS[cls]
        # Rows in dataclass field order (id and source last, patient_id after them), already sorted
        # by date in SQL, enums parsed through their value maps: loading is a large share of a
        # cohort replan, so no per-row attribute lookups or sorting in Python.
        convert = [(i, enums[n]._value2member_map_.__getitem__) for i, n in enumerate(names) if n in enums]
        columns = [*(table.c[n] for n in names), table.c.id, table.c.source, table.c.patient_id]
        day = sa.func.coalesce(table.c.start, table.c.planned_start) if cls is TherapyCourse else table.c.date
        query = (sa.select(*columns).where(table.c.patient_id.in_(ids))
                 .order_by(table.c.patient_id, day.asc().nulls_first(), table.c.id))
        for row in session.execute(query).all():
            if convert:
                values = list(row[:-1])
                for i, parse in convert:
                    if values[i] is not None:
                        values[i] = parse(values[i])
                buckets[row[-1]][field].append(cls(*values))
            else:
                buckets[row[-1]][field].append(cls(*row[:-1]))
    out = {}
    for pid, patient in patients.items():
        b = buckets.get(pid, {})
        out[pid] = PatientFacts(patient, **{f: tuple(b.get(f, ())) for f in FACT_FIELD.values()})
    return out


def find_patient(session: Session, mrn: str, clinic: str | None = None) -> Any:
    """The patient row for an MRN; an MRN used in several clinics needs --clinic."""
    query = sa.select(PATIENT).where(PATIENT.c.mrn == mrn)
    if clinic:
        query = query.where(PATIENT.c.clinic == clinic)
    rows = session.execute(query).all()
    if not rows:
        where = f" in clinic {clinic!r}" if clinic else ""
        raise NotFound(f"mrn: no patient with MRN {mrn!r}{where}; see `bonemon patient list`")
    if len(rows) > 1:
        clinics = ", ".join(sorted(r.clinic for r in rows))
        raise Conflict(f"mrn: MRN {mrn!r} exists in clinics {clinics}; give --clinic")
    return rows[0]


def patient_ids(session: Session, *, clinic: str | None = None) -> list[int]:
    query = sa.select(PATIENT.c.id).order_by(PATIENT.c.id)
    if clinic:
        query = query.where(PATIENT.c.clinic == clinic)
    return list(session.execute(query).scalars())


def batched(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
