"""FHIR MedicationRequest/Statement/Dispense/Administration → therapy course, dose or OFS note.

The drug comes from RxNorm at any level (ingredient, clinical drug, dose-form group, brand) or ATC
(monitor.intake.fhir.codes). A course starts at boundsPeriod.start, authoredOn, effectivePeriod.start or
effectiveDateTime and stops at the period's end; a stopped/completed status without an end date
leaves the course open and is reported. Dispenses and administrations are doses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from monitor.core.domain import (
    Dose,
    Drug,
    Note,
    NoteKind,
    Route,
    TherapyCourse,
)
from monitor.intake.fhir import codes as C
from monitor.intake.fhir.fields import (
    Mapped,
    Reject,
    cc_text,
    codings,
    first,
    first_date,
    ignore_key,
    ignored,
    items,
    number,
    parse_date,
    reference,
    text,
    unknown_resource,
)

_ROUTE_SNOMED = {"26643006": Route.ORAL, "47625008": Route.IV, "34206005": Route.SC}


@dataclass(slots=True)
class MedSpec:
    """A medication resource without its drug: the drug comes from a Medication resource."""

    rtype: str
    source: str
    kind: str  # "course", "planned" or "dose"
    day: date | None
    stop: date | None = None
    dose_qty: dict | None = None
    days_supply: int | None = None
    route: Route | None = None
    interval_months: int | None = None
    open_end: bool = False  # status stopped/completed but no end date
    status: str = ""
    stop_reason: str | None = None
    planned_start: date | None = None  # bonemon's export: the date a started (or cancelled) course was planned for


@dataclass(slots=True)
class CourseDraft:
    """A TherapyCourse plus what the reader needs to merge renewals and warn about open ends."""

    course: TherapyCourse
    open_end: bool = False
    status: str = ""


_MED_SKIP = {
    "MedicationRequest": {"entered-in-error", "cancelled", "revoked"},
    "MedicationStatement": {"entered-in-error", "not-taken"},
    "MedicationDispense": {"entered-in-error", "cancelled", "declined", "preparation", "stopped"},
    "MedicationAdministration": {"entered-in-error", "not-done", "stopped"},
}
_ENDED = {"stopped", "completed"}


def map_medication_use(r: dict, rtype: str, source: str) -> Mapped:
    status = text(r.get("status"))
    cc = r.get("medicationCodeableConcept")
    cs = codings(cc)
    cancelled_plan = rtype == "MedicationStatement" and status == "not-taken" and _planned_start(r) is not None
    if status in _MED_SKIP[rtype] and not cancelled_plan:
        return ignored(ignore_key(rtype, cs, f"status {status}") if cs else f"{rtype} (status {status})")
    med_ref = reference(r.get("medicationReference"))
    inline = not (cc is None and med_ref is not None and med_ref.reference)
    if inline and drug_of(cs)[0] in ("ignored", "unknown"):
        return build_medication(None, cs, cc_text(cc), rtype)  # not ours: its dates are not read
    warnings: list[str] = []
    spec = _med_spec(r, rtype, source, status, warnings)
    if not inline:
        assert med_ref is not None and med_ref.reference is not None
        if med_ref.reference.startswith("#"):
            contained = next(
                (
                    c
                    for c in items(r.get("contained"))
                    if isinstance(c, dict)
                    and c.get("resourceType") == "Medication"
                    and c.get("id") == med_ref.reference[1:]
                ),
                None,
            )
            if contained is None:
                raise Reject(f"medicationReference {med_ref.reference!r}: no such contained Medication")
            out = build_medication(spec, codings(contained.get("code")), cc_text(contained.get("code")))
        else:
            out = Mapped("medref", med_spec=spec, med_ref=med_ref.reference)
    else:
        out = build_medication(spec, cs, cc_text(cc))
    out.warnings = warnings + out.warnings
    return out


def _med_spec(r: dict, rtype: str, source: str, status: str, warnings: list[str]) -> MedSpec:
    if rtype in ("MedicationDispense", "MedicationAdministration"):
        if rtype == "MedicationDispense":
            day, _ = first_date(r, "whenHandedOver", "whenPrepared", warnings=warnings)
            dosage = first(r.get("dosageInstruction"))
            qty = _dose_quantity(dosage)
            supply = None
            if isinstance(r.get("daysSupply"), dict) and "value" in r["daysSupply"]:
                n = number(r["daysSupply"]["value"], "daysSupply.value")
                if n != n.to_integral_value():
                    raise Reject(f"daysSupply.value: {n} is not a whole number of days")
                supply = int(n)
        else:
            day, _ = first_date(r, "effectiveDateTime", "effectivePeriod.start", warnings=warnings)
            dosage = r.get("dosage") if isinstance(r.get("dosage"), dict) else None
            qty = dosage.get("dose") if dosage and isinstance(dosage.get("dose"), dict) else None
            supply = None
        if day is None:
            raise Reject(
                f"no date: a {rtype} needs "
                + ("whenHandedOver" if rtype == "MedicationDispense" else "effectiveDateTime or effectivePeriod.start")
            )
        return MedSpec(
            rtype, source, "dose", day, dose_qty=qty, days_supply=supply, route=_route(dosage), status=status
        )
    if rtype == "MedicationRequest":
        dosage = first(r.get("dosageInstruction"))
        bounds = _bounds(r.get("dosageInstruction"))
        planned = r.get("intent") in ("proposal", "plan") or status == "draft"
        start, _ = first_date({"b": bounds, "r": r}, "b.start", "r.authoredOn", warnings=warnings)
        stop = None
        if bounds.get("end") is not None and not planned:
            stop, _ = parse_date(bounds["end"], "dosageInstruction.timing.repeat.boundsPeriod.end")
    else:  # MedicationStatement
        dosage = first(r.get("dosage"))
        planned = status == "intended"
        start, _ = first_date(r, "effectivePeriod.start", "effectiveDateTime", warnings=warnings)
        stop = None
        cancelled = status == "not-taken"  # bonemon's own export: a plan cancelled on effectivePeriod.end
        if isinstance(r.get("effectivePeriod"), dict) and r["effectivePeriod"].get("end") is not None and (
                not planned or cancelled):
            stop, _ = parse_date(r["effectivePeriod"]["end"], "effectivePeriod.end")
        planned_start = _planned_start(r)
        if cancelled or (planned_start is not None and not planned):
            if start is None:
                raise Reject("no date: a MedicationStatement needs effectivePeriod.start or effectiveDateTime")
            return MedSpec(rtype, source, "cancelled" if cancelled else "course", start, stop=stop,
                           dose_qty=_dose_quantity(dosage), route=_route(dosage),
                           interval_months=_interval_months(dosage), status=status,
                           stop_reason=_stop_reason(r) if stop is not None else None, planned_start=planned_start)
    if start is None:
        raise Reject(
            f"no date: a {rtype} needs "
            + (
                "dosageInstruction.timing.repeat.boundsPeriod.start or authoredOn"
                if rtype == "MedicationRequest"
                else "effectivePeriod.start or effectiveDateTime"
            )
        )
    return MedSpec(
        rtype,
        source,
        "planned" if planned else "course",
        start,
        stop=stop,
        dose_qty=_dose_quantity(dosage),
        route=_route(dosage),
        interval_months=_interval_months(dosage),
        open_end=status in _ENDED and stop is None and not planned,
        status=status,
        stop_reason=_stop_reason(r) if stop is not None else None,
    )


def _planned_start(r: dict) -> date | None:
    for ext in items(r.get("extension")):
        if isinstance(ext, dict) and ext.get("url") == C.PLANNED_START_EXTENSION:
            day, _ = parse_date(ext.get("valueDate"), f"extension {C.PLANNED_START_EXTENSION}")
            return day
    return None


def _stop_reason(r: dict) -> str | None:
    """statusReason (MedicationStatement: a list; MedicationRequest: one) as text, at most 500 characters."""
    reasons = r.get("statusReason")
    for cc in reasons if isinstance(reasons, list) else [reasons]:
        reason = cc_text(cc).strip()
        if reason:
            return reason[:500]
    return None


def _bounds(dosages: Any) -> dict:
    for d in items(dosages):
        if isinstance(d, dict):
            repeat = ((d.get("timing") or {}).get("repeat") or {}) if isinstance(d.get("timing"), dict) else {}
            if isinstance(repeat, dict) and isinstance(repeat.get("boundsPeriod"), dict):
                return repeat["boundsPeriod"]
    return {}


def _dose_quantity(dosage: Any) -> dict | None:
    if not isinstance(dosage, dict):
        return None
    for dr in items(dosage.get("doseAndRate")):
        if isinstance(dr, dict) and isinstance(dr.get("doseQuantity"), dict):
            return dr["doseQuantity"]
    return None


def _route(dosage: Any) -> Route | None:
    if not isinstance(dosage, dict):
        return None
    for system, code, _d in codings(dosage.get("route")):
        if system == C.SNOMED and code in _ROUTE_SNOMED:
            return _ROUTE_SNOMED[code]
    return None


def _interval_months(dosage: Any) -> int | None:
    if not isinstance(dosage, dict) or not isinstance(dosage.get("timing"), dict):
        return None
    repeat = dosage["timing"].get("repeat")
    if not isinstance(repeat, dict) or repeat.get("frequency", 1) != 1:
        return None
    period, unit = repeat.get("period"), text(repeat.get("periodUnit"))
    try:
        n = Decimal(str(period)) * {"mo": 1, "a": 12}[unit]
    except (KeyError, ArithmeticError, ValueError):
        return None
    return int(n) if n == n.to_integral_value() and 1 <= n <= 24 else None


_COUNT_UNITS = {
    "",
    "1",
    "{tbl}",
    "tbl",
    "tab",
    "tablet",
    "{tablet}",
    "{tablets}",
    "{capsule}",
    "cap",
    "capsule",
    "each",
    "{each}",
    "{unit}",
    "syringe",
    "{syringe}",
    "{dose}",
    "dose",
    "{bag}",
    "bag",
    "{vial}",
    "vial",
}


def _dose_mg(qty: dict | None, strength: float | None) -> float | None:
    if not isinstance(qty, dict) or "value" not in qty:
        return None
    value = float(number(qty["value"], "doseQuantity.value"))
    units = [str(u).strip().lower() for u in (qty.get("code"), qty.get("unit")) if u is not None] or [""]
    for u in units:
        if u == "mg":
            return value
        if u == "g":
            return value * 1000
        if u in ("ug", "mcg", "µg"):
            return value / 1000
        if u in _COUNT_UNITS and strength is not None:
            return value * strength
    return None


def drug_of(cs: list[tuple[str, str, str]]) -> tuple[str, Any]:
    """('drug', DrugCode) | ('ofs', None) | ('ignored', label) | ('unknown', None) | ('conflict', message)."""
    found: dict[Drug, C.DrugCode] = {}
    ofs = False
    label = None
    for system, code, _d in cs:
        if system == C.RXNORM:
            if code in C.RXNORM_DRUGS:
                dc = C.RXNORM_DRUGS[code]
                found.setdefault(dc.drug, dc)
            ofs = ofs or code in C.OFS_RXNORM
            label = label or C.DRUG_IGNORED_RXNORM.get(code)
        elif system == C.ATC:
            atc = code.upper()
            if atc in C.ATC_CODES:
                found.setdefault(C.ATC_CODES[atc].drug, C.ATC_CODES[atc])
            for prefix, drug in C.ATC_CLASS_PREFIXES:
                if atc.startswith(prefix):
                    found.setdefault(drug, C.DrugCode(drug))
            ofs = ofs or atc in C.OFS_ATC
            label = label or C.DRUG_IGNORED_ATC.get(atc)
    if not found:  # bonemon's own export also names the drug in its local system
        for system, code, _d in cs:
            if system == C.DRUG_SYSTEM and code in Drug._value2member_map_:
                found.setdefault(Drug(code), C.DrugCode(Drug(code)))
    if len(found) > 1:
        return "conflict", "the codings name different drugs: " + ", ".join(sorted(d.value for d in found))
    if found:
        return "drug", next(iter(found.values()))
    if ofs:
        return "ofs", None
    if label:
        return "ignored", label
    return "unknown", None


def build_medication(spec: MedSpec | None, cs: list[tuple[str, str, str]], text: str = "", rtype: str = "") -> Mapped:
    """Drug codings plus the rest of the resource → a course, a dose, an OFS note, or a reason.

    Raises Reject when the codings name two different drugs or a dose cannot be read. `spec` may be
    None when the codings are known not to be ours (then `rtype` names the resource type)."""
    kind, found = drug_of(cs)
    rtype = spec.rtype if spec is not None else rtype
    if kind == "conflict":
        raise Reject(f"medication: {found}")
    if kind == "ignored":
        return ignored(ignore_key(rtype, cs, f"{found}, not tracked"))
    if kind == "unknown":
        return unknown_resource(rtype, cs, text)
    assert spec is not None
    if kind == "ofs":
        return Mapped("facts", pieces=[Note(kind=NoteKind.OFS, date=spec.day, source=spec.source)])
    dc: C.DrugCode = found
    dose_mg = _dose_mg(spec.dose_qty, dc.strength_mg)
    if spec.kind == "dose":
        assert spec.day is not None
        fact = Dose(
            drug=dc.drug,
            date=spec.day,
            dose_mg=dose_mg,
            days_supply=spec.days_supply,
            route=spec.route,
            source=spec.source,
        )
        return Mapped("facts", pieces=[fact])
    course = TherapyCourse(
        drug=dc.drug,
        start=spec.day if spec.kind == "course" else None,
        planned_start=spec.day if spec.kind == "planned" else spec.planned_start,
        stop=spec.stop,
        stop_reason=spec.stop_reason,
        dose_mg=dose_mg,
        interval_months=spec.interval_months,
        source=spec.source,
    )
    return Mapped("facts", pieces=[CourseDraft(course, open_end=spec.open_end, status=spec.status)])
