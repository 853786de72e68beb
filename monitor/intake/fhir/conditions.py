"""FHIR Condition and Procedure → fracture, bone-metastasis note, risk note or menopause evidence.

Breast cancer, osteoporosis and osteopenia have no fact type: they are counted as ignored with a
"context: ..." label, so the report shows they were recognised (docs/formats.md, "FHIR R4 import").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from monitor.core.domain import (
    Fracture,
    FractureSite,
    Mechanism,
    Note,
    NoteKind,
)
from monitor.intake.fhir import codes as C
from monitor.intake.fhir.fields import (
    Mapped,
    Reject,
    cc_text,
    codings,
    first_date,
    ignore_key,
    ignored,
    items,
    text,
    unknown_resource,
)

CONDITION_DUE_TO = "http://hl7.org/fhir/StructureDefinition/condition-dueTo"


@dataclass(frozen=True, slots=True)
class MenopauseEvidence:
    """Premature menopause or bilateral oophorectomy: the patient is postmenopausal from `date`."""

    date: date | None
    source: str


@dataclass(frozen=True, slots=True)
class FractureDraft:
    """A fracture, and whether its code named a site: a site-less osteoporotic fracture code on the
    same date as a fracture coded by site (Synthea pairs 443165006 with "fracture of forearm") is
    read as that fracture being a fragility fracture (monitor.intake.fhir.reader merges them)."""

    fracture: Fracture
    site_coded: bool = True


_CONDITION_SKIP = {"refuted", "entered-in-error"}


def _concept(system: str, code: str) -> C.Concept | None:
    if system == C.SNOMED:
        return C.SNOMED_CONCEPTS.get(code)
    if system in (C.ICD10CM, C.ICD10):
        return C.icd_concept(code)
    if system == C.ICD10PCS:
        return C.pcs_concept(code)
    return None


def _classify(cs: list[tuple[str, str, str]], body_site: Any = None) -> C.Concept | None:
    for system, code, _d in cs:
        concept = _concept(system, code)
        if concept is not None:
            return concept
        if system == C.SNOMED and code == C.SECONDARY_MALIGNANCY_SNOMED:  # mCODE: the site is in bodySite
            sites = [s for cc in items(body_site) for s in codings(cc)]
            if any(s[0] == C.SNOMED and s[1] in C.BONE_STRUCTURE_SNOMED for s in sites):
                return C.Concept(C.BONE_METASTASIS, "secondary malignant neoplasm, bodySite bone")
    return None


def map_condition(r: dict, source: str) -> Mapped:
    from monitor.intake.fhir.observations import bonemon_note

    cs = codings(r.get("code"))
    verification = {c[1] for c in codings(r.get("verificationStatus"))}
    if verification & _CONDITION_SKIP:
        return ignored(ignore_key("Condition", cs, f"verification {sorted(verification & _CONDITION_SKIP)[0]}"))
    note = bonemon_note(r, cs, source, ("onsetDateTime", "onsetPeriod.start", "recordedDate"))
    if note is not None:
        return note
    concept = _classify(cs, r.get("bodySite"))
    if concept is None:
        return unknown_resource("Condition", cs, cc_text(r.get("code")))
    if concept.kind in (C.CONTEXT, C.IGNORED):
        return ignored(ignore_key("Condition", cs, concept.label))
    warnings: list[str] = []
    day, _ = first_date(r, "onsetDateTime", "onsetPeriod.start", "recordedDate", warnings=warnings)
    if concept.kind == C.FRACTURE:
        if day is None:
            raise Reject("a fracture needs a date: no onsetDateTime, onsetPeriod.start or recordedDate")
        mechanism = _mechanism(r, concept.mechanism or Mechanism.UNKNOWN)
        fact = Fracture(date=day, site=concept.site or FractureSite.OTHER, mechanism=mechanism,
                        genant_grade=_genant(r), source=source)
        return Mapped("facts", pieces=[FractureDraft(fact, concept.site_coded)], warnings=warnings)
    if concept.kind == C.BONE_METASTASIS:
        return Mapped("facts", pieces=[Note(kind=NoteKind.BONE_METASTASIS, date=day, source=source)], warnings=warnings)
    if concept.kind == C.NOTE:
        return Mapped("facts", pieces=[Note(kind=concept.note, date=day, source=source)], warnings=warnings)
    return Mapped("facts", pieces=[MenopauseEvidence(day, source)], warnings=warnings)


def _genant(r: dict) -> int | None:
    for ext in items(r.get("extension")):
        if isinstance(ext, dict) and ext.get("url") == C.GENANT_EXTENSION:
            grade = ext.get("valueInteger")
            if isinstance(grade, bool) or grade not in (1, 2, 3):
                raise Reject(f"extension {C.GENANT_EXTENSION}: {grade!r} is not a Genant grade; allowed: 1, 2, 3")
            return int(grade)
    return None


def _mechanism(r: dict, coded: Mechanism) -> Mechanism:
    """Our own export's extension wins; else an external-cause code sharpens an unknown mechanism."""
    for ext in items(r.get("extension")):
        if isinstance(ext, dict) and ext.get("url") == C.MECHANISM_EXTENSION:
            try:
                return Mechanism(str(ext.get("valueCode")))
            except ValueError:
                raise Reject(
                    f"extension {C.MECHANISM_EXTENSION}: {ext.get('valueCode')!r} is not a mechanism; "
                    f"allowed: {', '.join(m.value for m in Mechanism)}"
                ) from None
    if coded is not Mechanism.UNKNOWN:
        return coded
    concepts = [r.get("code")]
    concepts += [
        e.get("code")[0] if isinstance(e, dict) and isinstance(e.get("code"), list) and e["code"] else None
        for e in items(r.get("evidence"))
    ]
    concepts += [
        e.get("valueCodeableConcept")
        for e in items(r.get("extension"))
        if isinstance(e, dict) and e.get("url") == CONDITION_DUE_TO
    ]
    for cc in concepts:
        for system, code, _d in codings(cc):
            if system in (C.ICD10, C.ICD10CM):
                found = C.mechanism_from_external_cause(code)
                if found is not None:
                    return found
    return coded


def map_procedure(r: dict, source: str) -> Mapped:
    cs = codings(r.get("code"))
    status = text(r.get("status"))
    if status in ("not-done", "entered-in-error"):
        return ignored(ignore_key("Procedure", cs, f"status {status}"))
    concept = _classify(cs)
    if concept is None and any(s == C.SNOMED and c in _BREAST_PROCEDURES for s, c, _d in cs):
        return ignored(ignore_key("Procedure", cs, "context: breast cancer treatment"))
    if concept is None or concept.kind not in (C.MENOPAUSE, C.IGNORED, C.CONTEXT):
        return unknown_resource("Procedure", cs, cc_text(r.get("code")))
    if concept.kind != C.MENOPAUSE:
        return ignored(ignore_key("Procedure", cs, concept.label))
    warnings: list[str] = []
    day, _ = first_date(r, "performedDateTime", "performedPeriod.start", warnings=warnings)
    return Mapped("facts", pieces=[MenopauseEvidence(day, source)], warnings=warnings)


_BREAST_PROCEDURES = frozenset({"392021009", "64368001", "69031006", "122548005", "234262008"})
