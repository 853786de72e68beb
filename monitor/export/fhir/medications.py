"""Therapy: MedicationStatement per course (or planned course), MedicationAdministration per dose given,
MedicationDispense per dose dispensed with a days supply. Drugs coded RxNorm + ATC + bonemon's own."""

from __future__ import annotations

from typing import Any

from monitor.core.domain import Dose, Drug, Route, TherapyCourse
from monitor.core.vocab import ATC, RXNORM_INGREDIENT
from monitor.export.fhir.codes import ATC_SYSTEM, DRUG_SYSTEM, PLANNED_START_EXT, RXNORM, SNOMED, UCUM
from monitor.export.fhir.writer import BundleWriter, coding, concept, label, quantity

ROUTE_SNOMED = {Route.ORAL: ("26643006", "Oral route"), Route.IV: ("47625008", "Intravenous route"),
                Route.SC: ("34206005", "Subcutaneous route")}
_INGREDIENT = {drug: code for code, drug in RXNORM_INGREDIENT.items()}
_ATC: dict[Drug, str] = {}
for _code, _drug in ATC.items():
    _ATC.setdefault(_drug, _code)
# ATC groups for the drug classes bonemon tracks without an ingredient (monitor.core.vocab has none).
_ATC_CLASS = {Drug.OESTROGEN: ("G03C", "Estrogens"), Drug.GLUCOCORTICOID: ("H02AB", "Glucocorticoids")}


def medication(drug: Drug) -> dict[str, Any]:
    codings = []
    if drug in _INGREDIENT:
        codings.append(coding(RXNORM, _INGREDIENT[drug], drug.value.replace("_", " ")))
    if drug in _ATC:
        codings.append(coding(ATC_SYSTEM, _ATC[drug]))
    elif drug in _ATC_CLASS:
        codings.append(coding(ATC_SYSTEM, *_ATC_CLASS[drug]))
    codings.append(coding(DRUG_SYSTEM, drug.value))
    return concept(*codings, text=label(drug.value))


def _dose_quantity(mg: float | None) -> dict[str, Any] | None:
    return quantity(mg, "mg", "mg") if mg is not None else None


def course(w: BundleWriter, c: TherapyCourse, key: tuple) -> None:
    rid = w.ids.make("crs", *key)
    if c.start is None:
        status = "intended" if c.stop is None else "not-taken"  # a plan; a cancelled plan
    else:
        status = "active" if c.stop is None else "completed"
    r: dict[str, Any] = {"resourceType": "MedicationStatement", "id": rid}
    if c.planned_start is not None:
        r["extension"] = [{"url": PLANNED_START_EXT, "valueDate": c.planned_start.isoformat()}]
    r["status"] = status
    if c.stop_reason:
        r["statusReason"] = [{"text": c.stop_reason}]
    r["medicationCodeableConcept"] = medication(c.drug)
    r["subject"] = w.patient_ref
    period = {"start": (c.start or c.planned_start).isoformat()}  # type: ignore[union-attr]
    if c.stop is not None:
        period["end"] = c.stop.isoformat()
    r["effectivePeriod"] = period
    dosage: dict[str, Any] = {}
    if c.interval_months is not None:
        dosage["timing"] = {"repeat": {"frequency": 1, "period": c.interval_months, "periodUnit": "mo"}}
    if c.dose_mg is not None:
        dosage["doseAndRate"] = [{"doseQuantity": _dose_quantity(c.dose_mg)}]
    if dosage:
        r["dosage"] = [dosage]
    w.add(r)


def dose(w: BundleWriter, d: Dose, key: tuple) -> None:
    route = concept(coding(SNOMED, *ROUTE_SNOMED[d.route])) if d.route is not None else None
    # One administration is one dose: without a strength the quantity says so (mad-1 wants a dose).
    qty = _dose_quantity(d.dose_mg) or {"value": 1, "unit": "dose", "system": UCUM, "code": "{dose}"}
    if d.days_supply is not None:
        rid = w.ids.make("dsp", *key)
        instruction: dict[str, Any] = {}
        if route is not None:
            instruction["route"] = route
        if d.dose_mg is not None:
            instruction["doseAndRate"] = [{"doseQuantity": qty}]
        r: dict[str, Any] = {
            "resourceType": "MedicationDispense", "id": rid, "status": "completed",
            "medicationCodeableConcept": medication(d.drug), "subject": w.patient_ref,
            "daysSupply": quantity(d.days_supply, "day", "d"), "whenHandedOver": d.date.isoformat(),
        }
        if instruction:
            r["dosageInstruction"] = [instruction]
    else:
        rid = w.ids.make("adm", *key)
        dosage: dict[str, Any] = {}
        if route is not None:
            dosage["route"] = route
        dosage["dose"] = qty
        r = {
            "resourceType": "MedicationAdministration", "id": rid, "status": "completed",
            "medicationCodeableConcept": medication(d.drug), "subject": w.patient_ref,
            "effectiveDateTime": d.date.isoformat(), "dosage": dosage,
        }
    w.add(r)
