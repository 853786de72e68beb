"""The Patient resource: MRN identifier, name, contact, sex, birth and death, country, clinic, menopause."""

from __future__ import annotations

from typing import Any

from monitor.export.fhir.codes import CLINIC_EXT, MENOPAUSE_EXT, MRN_SYSTEM, V2_0203
from monitor.export.fhir.writer import BundleWriter, coding, concept


def patient(w: BundleWriter) -> None:
    p = w.facts.patient
    extension = [{"url": CLINIC_EXT, "valueString": p.clinic}]
    if p.menopause.value != "unknown":
        extension.append({"url": MENOPAUSE_EXT, "valueCode": p.menopause.value})
    r: dict[str, Any] = {
        "resourceType": "Patient",
        "id": w.patient_id,
        "extension": extension,
        "identifier": [{
            "use": "usual",
            "type": concept(coding(V2_0203, "MR", "Medical record number")),
            "system": w.options.mrn_system or MRN_SYSTEM,
            "value": p.mrn,
        }],
    }
    if p.name:
        r["name"] = [{"use": "official", "text": p.name}]
    if p.phone:
        r["telecom"] = [{"system": "email" if "@" in p.phone else "phone", "value": p.phone}]
    r["gender"] = p.sex.value
    r["birthDate"] = p.birth_date.isoformat()
    if p.deceased_date is not None:
        r["deceasedDateTime"] = p.deceased_date.isoformat()
    if p.country:
        r["address"] = [{"country": p.country}]
    w.add(r)
