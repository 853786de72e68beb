"""One FHIR R4 resource (plain JSON, numbers as Decimal) → draft facts, a patient record, or a reason.

Pure. Nothing here knows other resources: the subject reference, a `medicationReference` and the
merging of parts (T, Z and BMD of one ROI; weight and height of one visit) are resolved by
`monitor.intake.fhir.reader` once every file has been read. Codes are looked up in `monitor.intake.fhir.codes`;
a code in no table is reported as unknown, never guessed from its display text.
"""

from __future__ import annotations

from monitor.core.errors import DataError
from monitor.intake.fhir import codes as C
from monitor.intake.fhir.conditions import map_condition, map_procedure
from monitor.intake.fhir.fields import (
    MapConfig,
    Mapped,
    Reject,
    codings,
    ignore_key,
    ignored,
    resource_source,
    subject_of,
)
from monitor.intake.fhir.medications import map_medication_use
from monitor.intake.fhir.observations import map_observation
from monitor.intake.fhir.patients import map_patient

MAPPED_TYPES = frozenset(
    {
        "Patient",
        "Observation",
        "Condition",
        "Procedure",
        "MedicationRequest",
        "MedicationStatement",
        "MedicationDispense",
        "MedicationAdministration",
        "Medication",
    }
)


def map_resource(r: dict, full_url: str | None, cfg: MapConfig) -> Mapped:
    rtype = r.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        return Mapped("rejected", reason="not a FHIR resource: no resourceType")
    if rtype not in C.R4_RESOURCE_TYPES:
        return Mapped("rejected", reason=f"resourceType {rtype!r} is not a FHIR R4 resource type")
    if rtype not in MAPPED_TYPES:
        return ignored(rtype)
    source = resource_source(r, full_url)
    try:
        if rtype == "Patient":
            return map_patient(r, full_url, source, cfg)
        if rtype == "Medication":
            return Mapped("medication", med_codings=codings(r.get("code")))
        if rtype == "Observation":
            out = map_observation(r, source, cfg)
        elif rtype == "Condition":
            out = map_condition(r, source)
        elif rtype == "Procedure":
            out = map_procedure(r, source)
        else:
            out = map_medication_use(r, rtype, source)
    except (Reject, DataError) as exc:
        # Keep the subject: the report then also says when the patient is missing from the import.
        return Mapped("rejected", reason=str(exc), subject=_subject(r, rtype))
    except (AttributeError, KeyError, IndexError, TypeError, ValueError, ArithmeticError) as exc:
        # A structure FHIR does not allow (a list where an object belongs, ...): refused, never a crash.
        reason = f"{rtype} has a malformed element the importer cannot read ({type(exc).__name__}: {exc})"
        return Mapped("rejected", reason=reason, subject=_subject(r, rtype))
    if out.status in ("facts", "medref"):
        subject = subject_of(r)
        if subject is None:
            return Mapped("rejected", reason="no subject: the resource does not say which patient it is about")
        out.subject = subject
        out.key = ignore_key(rtype, codings(r.get("code") or r.get("medicationCodeableConcept")))
    return out


def _subject(r: dict, rtype: str):
    try:
        return subject_of(r) if rtype != "Patient" else None
    except (AttributeError, TypeError, ValueError):
        return None
