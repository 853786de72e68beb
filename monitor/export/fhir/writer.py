"""The Bundle being written: deterministic resource ids, PUT entries and the small datatype builders."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from monitor.core.domain import PatientFacts
from monitor.export.fhir.codes import OBS_CATEGORY, UCUM

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:bonemon")


@dataclass(frozen=True, slots=True)
class ExportOptions:
    mrn_system: str = ""  # [fhir] mrn_system; empty → urn:bonemon:mrn
    frax_system: str = "urn:bonemon:frax"  # [fhir] frax_system


# --------------------------------------------------------------------------- datatypes


def coding(system: str, code: str, display: str | None = None) -> dict[str, str]:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def concept(*codings: dict[str, str], text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": list(codings)}
    if text:
        out["text"] = text
    return out


def _num(value: float | int | Decimal) -> float | int:
    """A JSON number that reads back (as Decimal, then float) to the same value."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    return value


def quantity(value: float | int | Decimal, unit: str, code: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": _num(value), "unit": unit}
    if code is not None:
        out.update(system=UCUM, code=code)
    return out


def label(value: str) -> str:
    """An enum value as words: "total_hip" → "Total hip"."""
    return value.replace("_", " ").capitalize()


# --------------------------------------------------------------------------- identity


def full_url(rtype: str, rid: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{rtype}/{rid}')}"


class ResourceIds:
    """Deterministic resource ids: tag + SHA-1 of (clinic, MRN, natural key), ordinals for ties."""

    def __init__(self, clinic: str, mrn: str):
        self.base = f"{clinic}\x1f{mrn}"
        self.used: set[str] = set()

    def make(self, tag: str, *key: object) -> str:
        text = "\x1f".join([self.base, tag, *(str(k) for k in key)])
        n = 0
        while True:
            digest = hashlib.sha1(f"{text}\x1f{n}".encode() if n else text.encode()).hexdigest()[:20]
            rid = f"{tag}-{digest}"
            if rid not in self.used:
                self.used.add(rid)
                return rid
            n += 1


# --------------------------------------------------------------------------- the entries


class BundleWriter:
    """One patient's entries in the order they are added; ids are made in that order too (ties get ordinals)."""

    def __init__(self, facts: PatientFacts, options: ExportOptions):
        self.facts = facts
        self.options = options
        p = facts.patient
        self.ids = ResourceIds(p.clinic, p.mrn)
        self.entries: list[dict[str, Any]] = []
        self.patient_id = self.ids.make("pat")
        self.patient_ref = {"reference": full_url("Patient", self.patient_id)}

    def entry(self, resource: dict[str, Any]) -> dict[str, Any]:
        rtype, rid = resource["resourceType"], resource["id"]
        return {"fullUrl": full_url(rtype, rid), "resource": resource,
                "request": {"method": "PUT", "url": f"{rtype}/{rid}"}}

    def add(self, resource: dict[str, Any]) -> dict[str, str]:
        """Append a resource as a PUT entry; returns a reference to it."""
        entry = self.entry(resource)
        self.entries.append(entry)
        return {"reference": entry["fullUrl"]}

    def observation(self, rid: str, category: str | None, code: dict[str, Any], day: date | None) -> dict[str, Any]:
        """An Observation's common part (not yet added): status, category, code, subject, date."""
        r: dict[str, Any] = {"resourceType": "Observation", "id": rid, "status": "final"}
        if category:
            r["category"] = [concept(coding(OBS_CATEGORY, category))]
        r["code"] = code
        r["subject"] = self.patient_ref
        if day is not None:
            r["effectiveDateTime"] = day.isoformat()
        return r
