"""patient_bundle: the patient's transaction Bundle, entries in a fixed order (see the package docstring)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from datetime import date
from typing import Any

from monitor.app.documents import StoredTaskLike
from monitor.core.domain import Assessment, PatientFacts, Plan
from monitor.export.fhir import careplan, conditions, flags, medications, observations
from monitor.export.fhir.patient import patient
from monitor.export.fhir.writer import BundleWriter, ExportOptions


def patient_bundle(
    facts: PatientFacts,
    assessment: Assessment,
    plan: Plan,
    *,
    as_of: date,
    stored: Mapping[tuple[str, date], StoredTaskLike] | None = None,
    options: ExportOptions | None = None,
) -> dict[str, Any]:
    """The patient's FHIR R4 transaction Bundle as of `as_of` (a JSON-ready dict)."""
    w = BundleWriter(facts, options or ExportOptions())
    patient(w)
    _each(w, facts.courses, lambda c: (c.drug.value, c.planned_start or c.start), medications.course)
    _each(w, facts.doses, lambda d: (d.drug.value, d.date), medications.dose)
    _each(w, facts.dxa, lambda x: (x.date, x.site.value, x.side.value), observations.dxa)
    _each(w, facts.markers, lambda m: (m.date, m.analyte.value), observations.marker)
    _each(w, facts.fractures, lambda x: (x.date, x.site.value), conditions.fracture)
    _each(w, facts.frax, lambda x: (x.date,), observations.frax)
    _each(w, facts.labs, lambda x: (x.date, x.analyte.value), observations.lab)
    _each(w, facts.vitals, lambda v: (v.date,), observations.vitals)
    _each(w, facts.notes, lambda n: (n.kind.value, n.date), conditions.note)
    careplan.care_plan(w, assessment, plan, as_of, stored or {})
    for alert in plan.alerts:
        flags.flag(w, alert)
    digest = hashlib.sha1(f"{w.ids.base}\x1f{as_of}".encode()).hexdigest()[:20]
    return {"resourceType": "Bundle", "id": f"bundle-{digest}", "type": "transaction", "entry": w.entries}


def _content_key(fact: Any) -> tuple:
    """Every compared field of a fact, as text: orders facts that share a natural key the same way each time."""
    return tuple(str(getattr(fact, f.name)) for f in fields(fact) if f.compare)


def _each(w: BundleWriter, items: Iterable[Any], key: Callable[[Any], tuple],
          build: Callable[[BundleWriter, Any, tuple], None]) -> None:
    """Facts in a stable order (natural key, then content), each built with its natural key."""
    for fact in sorted(items, key=lambda x: (tuple(str(k) for k in key(x)), _content_key(x))):
        build(w, fact, key(fact))
