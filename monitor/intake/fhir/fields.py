"""Reading FHIR JSON fields: codings, dates, numbers, quantities, references; the result of mapping one resource.

Pure helpers shared by the per-resource mappers (patients, observations, conditions, medications).
A field that cannot be read raises `Reject` with a message naming the field and the value.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from monitor.intake.fhir import codes as C

if TYPE_CHECKING:
    from monitor.intake.fhir.medications import MedSpec
    from monitor.intake.fhir.patients import PatientRecord

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?(T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?$")


@dataclass(frozen=True, slots=True)
class MapConfig:
    mrn_system: str = ""
    frax_system: str = "urn:bonemon:frax"


class Reject(Exception):
    """The resource is refused; the message names the field and the value."""


# --------------------------------------------------------------------------- results


@dataclass(slots=True)
class Ref:
    reference: str | None
    identifier: tuple[str, str] | None = None

    def __str__(self) -> str:
        if self.reference:
            return self.reference
        if self.identifier:
            return f"identifier {self.identifier[0]}|{self.identifier[1]}"
        return "(empty reference)"


@dataclass(slots=True)
class Mapped:
    status: str  # "patient", "facts", "medref", "medication", "ignored", "rejected"
    key: str = ""  # ignored_by key
    unknown: list[str] = field(default_factory=list)
    reason: str = ""
    subject: Ref | None = None
    pieces: list[Any] = field(default_factory=list)
    patient: PatientRecord | None = None
    med_spec: MedSpec | None = None
    med_ref: str | None = None
    med_codings: list[tuple[str, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def ignored(key: str, unknown: list[str] | None = None) -> Mapped:
    return Mapped("ignored", key=key, unknown=unknown or [])


# --------------------------------------------------------------------------- small readers


def resource_source(r: dict, full_url: str | None) -> str:
    """The identity a fact keeps (`source`): re-reading the same resource gives the same string."""
    rtype = r.get("resourceType")
    rid = r.get("id")
    if isinstance(rid, str) and rid.strip():
        return f"fhir:{rtype}/{rid.strip()}"
    if full_url:
        return f"fhir:{full_url}"
    digest = hashlib.sha1(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return f"fhir:{rtype}#sha1:{digest}"


def items(value: Any) -> list:
    """A FHIR list element; anything else (a malformed element) reads as empty."""
    return value if isinstance(value, list) else []


def first(value: Any) -> dict | None:
    """The first object of a FHIR list element (dosageInstruction[0], ...), if any."""
    return next((v for v in items(value) if isinstance(v, dict)), None)


def text(value: Any) -> str:
    """A FHIR string element; anything else reads as empty."""
    return value if isinstance(value, str) else ""


def codings(cc: Any) -> list[tuple[str, str, str]]:
    """(system short name, code, display) of a CodeableConcept; malformed codings are skipped."""
    out: list[tuple[str, str, str]] = []
    if isinstance(cc, dict):
        for c in items(cc.get("coding")):
            if isinstance(c, dict) and isinstance(c.get("code"), str) and c["code"].strip():
                out.append((C.system_name(text(c.get("system"))), c["code"].strip(), text(c.get("display"))))
    return out


def cc_text(cc: Any) -> str:
    if isinstance(cc, dict):
        if isinstance(cc.get("text"), str):
            return cc["text"]
        for _s, _c, display in codings(cc):
            if display:
                return display
    return ""


def describe(coding: tuple[str, str, str]) -> str:
    system, code, display = coding
    return f"{system} {code}" + (f" {display!r}" if display else "")


def ignore_key(rtype: str, cs: list[tuple[str, str, str]], label: str = "") -> str:
    if not cs:
        return f"{rtype} (no code)"
    preferred = next((c for c in cs if c[0] in (C.LOINC, C.SNOMED, C.RXNORM, C.ICD10CM, C.ICD10)), cs[0])
    return f"{rtype} {preferred[1]}" + (f" ({label})" if label else "")


def unknown_resource(rtype: str, cs: list[tuple[str, str, str]], text: str = "") -> Mapped:
    if not cs:
        return ignored(f"{rtype} (no code)", [f"{rtype}: no coding" + (f" (text {text!r})" if text else "")])
    return ignored(ignore_key(rtype, cs), [describe(c) for c in cs])


def parse_date(value: Any, field_name: str) -> tuple[date, bool]:
    """A FHIR date/dateTime → (the calendar date as written, partial?). Partial dates take day 1."""
    if not isinstance(value, str):
        raise Reject(f"{field_name}: {value!r} is not a date")
    m = _DATE.match(value.strip())
    if not m:
        raise Reject(f"{field_name}: {value!r} is not a valid FHIR date (YYYY, YYYY-MM, YYYY-MM-DD[Thh:mm:ss+zz:zz])")
    year, month, day = int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1)
    try:
        return date(year, month, day), m.group(3) is None
    except ValueError:
        raise Reject(f"{field_name}: {value!r} is not a real calendar date") from None


def first_date(r: dict, *fields: str, warnings: list[str]) -> tuple[date | None, str | None]:
    """The first present of `fields` (dotted paths), as a date; (None, None) when none is there."""
    for path in fields:
        value: Any = r
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        d, partial = parse_date(value, path)
        if partial:
            warnings.append(f"{path} {value!r} is a partial date; day 1 of it is used")
        return d, path
    return None, None


def number(value: Any, field_name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        raise Reject(f"{field_name}: {value!r} is not a number")
    d = Decimal(value) if isinstance(value, int) else Decimal(str(value)) if isinstance(value, float) else value
    if not d.is_finite():
        raise Reject(f"{field_name}: {value} is not a finite number")
    return d


def quantity(r: dict, what: str) -> tuple[Decimal, list[str]]:
    """valueQuantity (or valueInteger/valueDecimal) → (value, candidate unit strings)."""
    if "valueQuantity" in r:
        q = r["valueQuantity"]
        if not isinstance(q, dict) or "value" not in q:
            raise Reject(f"valueQuantity has no value ({what} needs a number)")
        if q.get("comparator"):
            raise Reject(f"valueQuantity.comparator {q['comparator']!r}: a censored value is not imported ({what})")
        units = [u.strip() for u in (q.get("code"), q.get("unit")) if isinstance(u, str)]
        return number(q["value"], "valueQuantity.value"), list(dict.fromkeys(units)) or [""]
    for key in ("valueInteger", "valueDecimal"):
        if key in r:
            return number(r[key], key), [""]
    present = [k for k in r if k.startswith("value")]
    if present:
        raise Reject(f"{present[0]}: {what} needs a number (valueQuantity)")
    absent = cc_text(r.get("dataAbsentReason"))
    raise Reject(f"no value ({what} needs valueQuantity)" + (f"; dataAbsentReason {absent!r}" if absent else ""))


def reference(value: Any) -> Ref | None:
    if not isinstance(value, dict):
        return None
    ref = value.get("reference") if isinstance(value.get("reference"), str) else None
    ident = value.get("identifier")
    key = None
    if isinstance(ident, dict) and isinstance(ident.get("value"), str):
        key = (str(ident.get("system") or ""), ident["value"].strip())
    if not ref and not key:
        return None
    return Ref(ref.strip() if ref else None, key)


def subject_of(r: dict) -> Ref | None:
    return reference(r.get("subject")) or reference(r.get("patient"))
