"""The bulk write path of CSV and FHIR imports: patients and facts in, deduplicated, audited, replanned.

Idempotent: a fact already stored (same content, or the same FHIR resource identity with the same
content) is skipped, so importing a file twice adds nothing. A resource whose content changed is
updated in place and audited with before and after. One audit row per patient per import.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.audit import AuditTrail
from db.models import PatientRow
from db.queries import FACT_MAP, batched, fact_to_values, load_facts, patient_from_row
from db.writes import audit_image, insert_fact, insert_fact_rows, insert_patient, update_fact, update_patient_row
from monitor.app.context import Context
from monitor.app.replan import replan
from monitor.core.domain import Patient, PatientFacts, TherapyCourse
from monitor.core.domain import iter_facts as all_facts
from monitor.core.errors import MonitorError, NotFound
from monitor.intake.validate import check_fact, check_patient

PATIENT = PatientRow.__table__


@dataclass(frozen=True)
class WriteProblem:
    clinic: str
    mrn: str
    message: str
    fact_id: int | None = None  # id() of the refused fact; None when the patient herself was refused
    field: str | None = None


@dataclass
class WriteResult:
    outcome: dict[int, str] = field(default_factory=dict)  # id(fact) → added | updated | skipped | rejected
    problems: list[WriteProblem] = field(default_factory=list)
    patients_created: list[str] = field(default_factory=list)
    patient_outcome: dict[tuple[str, str], str] = field(default_factory=dict)  # (clinic, mrn) → created | …
    patients: list[str] = field(default_factory=list)


def _find_patients(session: Session, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    found: dict[tuple[str, str], Any] = {}
    mrns = sorted({mrn for _, mrn in keys})
    for chunk in batched(mrns, 900):
        for row in session.execute(sa.select(PATIENT).where(PATIENT.c.mrn.in_(list(chunk)))):
            found[(row.clinic, row.mrn)] = row
    return found


def _patient_conflict(old: Patient, new: Patient) -> str | None:
    if old.birth_date != new.birth_date:
        return (f"patient {new.mrn} exists with birth date {old.birth_date}, the import says {new.birth_date}; "
                "not merged")
    if old.sex != new.sex and "unknown" not in (old.sex.value, new.sex.value):
        return f"patient {new.mrn} exists with sex {old.sex}, the import says {new.sex}; not merged"
    return None


def _patient_updates(old: Patient, new: Patient) -> dict[str, Any]:
    """Details the import may fill in or correct (never birth date or sex)."""
    changes: dict[str, Any] = {}
    for name in ("name", "deceased_date", "country", "phone"):
        if getattr(new, name) is not None and getattr(new, name) != getattr(old, name):
            changes[name] = getattr(new, name)
    if new.menopause.value != "unknown" and new.menopause != old.menopause:
        changes["menopause"] = new.menopause
    if old.sex.value == "unknown" and new.sex.value != "unknown":
        changes["sex"] = new.sex
    return changes


def _match_course(course: TherapyCourse, existing: list[Any]) -> tuple[str, Any]:
    """('skip'|'update'|'insert'|'orphan-stop', existing course or None)."""
    same_drug = [c for c in existing if c.drug is course.drug]
    if course.start is None and course.planned_start is None:  # a stop for a course recorded earlier
        open_ones = [c for c in same_drug if c.stop is None and (c.start or c.planned_start)]
        if not open_ones:
            return "orphan-stop", None
        return "update", open_ones[-1]
    for c in same_drug:
        if course.start is not None and c.start == course.start:
            return ("skip", c) if c.stop == course.stop or course.stop is None else ("update", c)
        if course.start is None and c.start is None and c.planned_start == course.planned_start:
            return "skip", c
        if course.start is not None and c.start is None and c.stop is None and c.planned_start is not None:
            return "update", c  # the plan began
    return "insert", None


def write_patients(
    session: Session, ctx: Context, batch: Sequence[PatientFacts], *, plan_as_of: date | None = None,
    extras: dict[int, dict[str, Any]] | None = None,
) -> WriteResult:
    """Write a batch; `extras` maps id(fact) to extra column values (the value and unit as reported)."""
    extras = extras or {}
    today = ctx.today
    result = WriteResult()
    keys = [(pf.patient.clinic, pf.patient.mrn) for pf in batch]
    rows = _find_patients(session, keys)
    existing_facts = load_facts(session, [r.id for r in rows.values()])
    trail = AuditTrail(session, user=ctx.user, now=ctx.now)
    touched: list[int] = []
    inserts: dict[sa.Table, list[dict[str, Any]]] = defaultdict(list)

    for pf in batch:
        incoming = pf.patient
        row = rows.get((incoming.clinic, incoming.mrn))
        key = (incoming.clinic, incoming.mrn)
        try:
            check_patient(incoming, today)
        except MonitorError as exc:
            result.problems.append(WriteProblem(*key, str(exc), None, getattr(exc, "field", None)))
            result.patient_outcome[key] = "rejected"
            result.outcome.update({id(f): "rejected" for f in all_facts(pf)})
            continue
        if row is None:
            pid = insert_patient(session, incoming, now=ctx.now)
            stored = replace(incoming, id=pid)
            have = PatientFacts(stored)
            result.patients_created.append(incoming.mrn)
            result.patient_outcome[key] = "created"
            audit_action = "import patient"
            before_patient: dict[str, Any] | None = None
        else:
            stored = patient_from_row(row)
            conflict = _patient_conflict(stored, incoming)
            if conflict:
                field_name = "birth_date" if stored.birth_date != incoming.birth_date else "sex"
                result.problems.append(WriteProblem(*key, conflict, None, field_name))
                result.patient_outcome[key] = "rejected"
                result.outcome.update({id(f): "rejected" for f in all_facts(pf)})
                continue
            pid = row.id
            have = existing_facts.get(pid, PatientFacts(stored))
            changes = _patient_updates(stored, incoming)
            before_patient = None
            result.patient_outcome[key] = "updated" if changes else "unchanged"
            if changes:
                before_patient = {k: audit_image(stored)[k] for k in changes}
                update_patient_row(session, pid, changes, now=ctx.now)
                stored = replace(stored, **changes)
            audit_action = "import facts"
        added, updated = [], []
        courses = list(have.courses)
        by_source: dict[str, Any] = {f.source: f for f in all_facts(have) if f.source}
        existing_set: dict[type, set] = defaultdict(set)
        for f in all_facts(have):
            existing_set[type(f)].add(f)
        for fact in all_facts(pf):
            try:
                if isinstance(fact, TherapyCourse):
                    action, old = _match_course(fact, courses)
                    if action == "orphan-stop":
                        raise NotFound(f"{fact.drug} stop on {fact.stop}: no open {fact.drug} course to stop",
                                       field="drug")
                    merged = fact
                    if action == "update":
                        merged = replace(old, start=fact.start or old.start, stop=fact.stop or old.stop,
                                         stop_reason=fact.stop_reason or old.stop_reason,
                                         dose_mg=fact.dose_mg or old.dose_mg,
                                         interval_months=fact.interval_months or old.interval_months)
                    check_fact(merged, stored, today, ctx.settings.policy)
                    if action == "skip":
                        result.outcome[id(fact)] = "skipped"
                        continue
                    if action == "update":
                        update_fact(session, merged, old.id, pid)
                        courses[courses.index(old)] = merged
                        updated.append({"before": audit_image(old), "after": audit_image(merged)})
                        result.outcome[id(fact)] = "updated"
                    else:
                        courses.append(replace(fact, id=insert_fact(session, fact, pid)))
                        added.append(audit_image(fact))
                        result.outcome[id(fact)] = "added"
                    continue
                check_fact(fact, stored, today, ctx.settings.policy)
                previous = by_source.get(fact.source) if fact.source else None
                if previous is not None and type(previous) is type(fact):
                    if previous == fact:
                        result.outcome[id(fact)] = "skipped"
                        continue
                    update_fact(session, fact, previous.id, pid)
                    updated.append({"before": audit_image(previous), "after": audit_image(fact)})
                    result.outcome[id(fact)] = "updated"
                    continue
                if fact in existing_set[type(fact)]:
                    result.outcome[id(fact)] = "skipped"
                    continue
                existing_set[type(fact)].add(fact)
                table, _ = FACT_MAP[type(fact)]
                inserts[table].append({**fact_to_values(fact, pid), **extras.get(id(fact), {})})
                added.append({"type": table.name, **audit_image(fact)})
                result.outcome[id(fact)] = "added"
            except MonitorError as exc:
                result.problems.append(WriteProblem(*key, str(exc), id(fact), getattr(exc, "field", None)))
                result.outcome[id(fact)] = "rejected"
        result.patients.append(incoming.mrn)
        if added or updated or before_patient is not None or row is None:
            trail.add(audit_action, "patient", entity_id=pid, patient_id=pid, mrn=incoming.mrn,
                      before={"patient": before_patient, "updated": [u["before"] for u in updated]}
                      if (before_patient or updated) else None,
                      after={"patient": audit_image(stored) if row is None else None, "added": added,
                             "updated": [u["after"] for u in updated]})
            touched.append(pid)
    for table, rows in inserts.items():
        insert_fact_rows(session, table, rows)
    trail.flush()
    for chunk in batched(touched, ctx.settings.scheduler.batch_size):
        replan(session, ctx, chunk, as_of=plan_as_of)
    return result
