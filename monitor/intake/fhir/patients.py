"""FHIR Patient → a patient record: MRN, birth date, sex (gender or US Core extensions), death, name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from monitor.core.domain import (
    Menopause,
    Sex,
)
from monitor.intake.fhir import codes as C
from monitor.intake.fhir.fields import MapConfig, Mapped, Reject, codings, items, parse_date, text

MRN_TYPE = "MR"
US_CORE_INDIVIDUAL_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-individual-sex"
US_CORE_BIRTH_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
_SEX_SNOMED = {"248152002": Sex.FEMALE, "248153007": Sex.MALE}


@dataclass(slots=True)
class PatientRecord:
    rid: str | None
    full_url: str | None
    identifiers: list[tuple[str, str, bool]]  # (system, value, is MR type)
    id_key: tuple[str, str]  # (system, value) the MRN comes from; ("#id", id) when there is none
    mrn: str
    birth_date: date
    sex: Sex
    deceased_date: date | None
    name: str | None
    source: str
    warnings: list[str] = field(default_factory=list)
    menopause: Menopause = Menopause.UNKNOWN
    clinic: str | None = None
    phone: str | None = None
    country: str | None = None


def map_patient(r: dict, full_url: str | None, source: str, cfg: MapConfig) -> Mapped:
    warnings: list[str] = []
    if "birthDate" not in r:
        raise Reject("birthDate: missing; a patient needs a birth date")
    birth, partial = parse_date(r["birthDate"], "birthDate")
    if partial:
        warnings.append(f"birthDate {r['birthDate']!r} is a partial date; day 1 of it is used")
    deceased = None
    if "deceasedDateTime" in r:
        deceased, _ = parse_date(r["deceasedDateTime"], "deceasedDateTime")
    elif r.get("deceasedBoolean") is True:
        warnings.append("deceasedBoolean is true but no date of death is given; not recorded as deceased")
    rid = r["id"].strip() if isinstance(r.get("id"), str) and r["id"].strip() else None
    identifiers: list[tuple[str, str, bool]] = []
    for ident in items(r.get("identifier")):
        if isinstance(ident, dict) and isinstance(ident.get("value"), str) and ident["value"].strip():
            is_mr = any(c[1] == MRN_TYPE for c in codings(ident.get("type")))
            identifiers.append((str(ident.get("system") or ""), ident["value"].strip(), is_mr))
    chosen = None
    if cfg.mrn_system:
        chosen = next((i for i in identifiers if i[0] == cfg.mrn_system), None)
        if chosen is None:
            warnings.append(
                f"no identifier with system {cfg.mrn_system!r} ([fhir] mrn_system); MRN taken from "
                + ("another identifier" if identifiers else "the resource id")
            )
    if chosen is None and identifiers:
        chosen = next((i for i in identifiers if i[2]), identifiers[0])
    if chosen is not None:
        id_key, mrn = (chosen[0], chosen[1]), chosen[1]
    elif rid:
        id_key, mrn = ("#id", rid), rid
    else:
        raise Reject("neither an identifier nor an id: the patient cannot be named")
    record = PatientRecord(
        rid=rid,
        full_url=full_url,
        identifiers=identifiers,
        id_key=id_key,
        mrn=mrn,
        birth_date=birth,
        sex=_sex(r),
        deceased_date=deceased,
        name=_name(r),
        source=source,
        warnings=warnings,
        **_bonemon_details(r),
    )
    return Mapped("patient", patient=record, warnings=warnings)


def _bonemon_details(r: dict) -> dict:
    """Menopausal status and clinic (bonemon's own extensions), first phone or e-mail, country."""
    out: dict = {}
    for ext in items(r.get("extension")):
        if not isinstance(ext, dict):
            continue
        if ext.get("url") == C.MENOPAUSE_EXTENSION:
            try:
                out["menopause"] = Menopause(str(ext.get("valueCode")))
            except ValueError:
                raise Reject(f"extension {C.MENOPAUSE_EXTENSION}: {ext.get('valueCode')!r} is not post, pre or "
                             "unknown") from None
        elif ext.get("url") == C.CLINIC_EXTENSION and text(ext.get("valueString")).strip():
            out["clinic"] = text(ext["valueString"]).strip()[:64]
    contact = next((t for t in items(r.get("telecom")) if isinstance(t, dict) and t.get("system") in ("phone", "email")
                    and text(t.get("value")).strip()), None)
    if contact is not None:
        out["phone"] = text(contact["value"]).strip()[:64]
    country = next((text(a.get("country")).strip() for a in items(r.get("address"))
                    if isinstance(a, dict) and text(a.get("country")).strip()), None)
    if country:
        out["country"] = country[:64]
    return out


def _sex(r: dict) -> Sex:
    gender = r.get("gender")
    if gender == "female":
        return Sex.FEMALE
    if gender == "male":
        return Sex.MALE
    for ext in items(r.get("extension")):
        if not isinstance(ext, dict):
            continue
        if ext.get("url") == US_CORE_INDIVIDUAL_SEX:
            coding = ext.get("valueCoding") or {}
            sex = _SEX_SNOMED.get(str(coding.get("code")))
            if sex:
                return sex
        if ext.get("url") == US_CORE_BIRTH_SEX and ext.get("valueCode") in ("F", "M"):
            return Sex.FEMALE if ext["valueCode"] == "F" else Sex.MALE
    return Sex.UNKNOWN


def _name(r: dict) -> str | None:
    names = [n for n in items(r.get("name")) if isinstance(n, dict)]
    if not names:
        return None
    current = [n for n in names if not (n.get("period") if isinstance(n.get("period"), dict) else {}).get("end")]
    pool = current or names
    best = next((n for n in pool if n.get("use") in ("usual", "official")), pool[0])
    if isinstance(best.get("text"), str) and best["text"].strip():
        return best["text"].strip()[:200]
    parts = [str(g) for g in items(best.get("given"))] + ([str(best["family"])] if best.get("family") else [])
    return " ".join(parts).strip()[:200] or None
