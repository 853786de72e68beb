"""Fractures as Conditions; notes as a Condition (bone metastasis), a smoking-status Observation (smoker),
or an Observation in bonemon's note-kind codes (the rest)."""

from __future__ import annotations

from typing import Any

from monitor.core.domain import Fracture, FractureSite, Note, NoteKind
from monitor.export.fhir.codes import (
    CONDITION_CATEGORY,
    CONDITION_VER,
    GENANT_EXT,
    ICD10,
    LOINC,
    MECHANISM_EXT,
    NOTE_SYSTEM,
    SNOMED,
)
from monitor.export.fhir.writer import BundleWriter, coding, concept, label

SMOKING_STATUS_LOINC = "72166-2"
SMOKER_SNOMED = "77176002"
BONE_METASTASIS_SNOMED = "94222008"
BONE_STRUCTURE_SNOMED = "272673000"

# Fracture site → the code the importer maps to that site (SNOMED where its code tables have one, else ICD-10).
FRACTURE_CODES: dict[FractureSite, tuple[str, str, str]] = {
    FractureSite.HIP: (SNOMED, "5913000", "Fracture of neck of femur"),
    FractureSite.VERTEBRA: (SNOMED, "42942008", "Compression fracture of vertebral column"),
    FractureSite.PROXIMAL_HUMERUS: (ICD10, "S42.2", "Fracture of upper end of humerus"),
    FractureSite.PELVIS: (SNOMED, "77493009", "Fracture of pelvis"),
    FractureSite.DISTAL_FOREARM: (SNOMED, "263199001", "Fracture of distal end of radius"),
    FractureSite.OTHER: (SNOMED, "125605004", "Fracture of bone"),
}


def fracture(w: BundleWriter, x: Fracture, key: tuple) -> None:
    extension = [{"url": MECHANISM_EXT, "valueCode": x.mechanism.value}]
    if x.genant_grade is not None:
        extension.append({"url": GENANT_EXT, "valueInteger": x.genant_grade})
    system, code, display = FRACTURE_CODES[x.site]
    w.add({
        "resourceType": "Condition", "id": w.ids.make("fx", *key), "extension": extension,
        "verificationStatus": concept(coding(CONDITION_VER, "confirmed")),
        "category": [concept(coding(CONDITION_CATEGORY, "encounter-diagnosis"))],
        "code": concept(coding(system, code, display), text=f"Fracture: {label(x.site.value).lower()}"
                        f" ({x.mechanism.value})"),
        "subject": w.patient_ref, "onsetDateTime": x.date.isoformat(),
    })


def note(w: BundleWriter, n: Note, key: tuple) -> None:
    local = coding(NOTE_SYSTEM, n.kind.value)
    text = label(n.kind.value)
    annotation = [{"text": n.text}] if n.text else None
    if n.kind is NoteKind.BONE_METASTASIS:
        r: dict[str, Any] = {
            "resourceType": "Condition", "id": w.ids.make("note", *key),
            "verificationStatus": concept(coding(CONDITION_VER, "confirmed")),
            "code": concept(coding(SNOMED, BONE_METASTASIS_SNOMED, "Secondary malignant neoplasm of bone"),
                            local, text=text),
            "bodySite": [concept(coding(SNOMED, BONE_STRUCTURE_SNOMED, "Bone structure"))],
            "subject": w.patient_ref,
        }
        if n.date is not None:
            r["onsetDateTime"] = n.date.isoformat()
    elif n.kind is NoteKind.SMOKER and n.date is not None:
        r = w.observation(w.ids.make("note", *key), "social-history",
                          concept(coding(LOINC, SMOKING_STATUS_LOINC, "Tobacco smoking status"), text=text), n.date)
        r["valueCodeableConcept"] = concept(coding(SNOMED, SMOKER_SNOMED, "Smoker"), local)
    else:
        r = w.observation(w.ids.make("note", *key), None, concept(local, text=text), n.date)
    if annotation:
        r["note"] = annotation
    w.add(r)
