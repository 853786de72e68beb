"""FHIR Observation → DXA ROI, bone marker, lab, vitals, FRAX or a risk note (codes: monitor/intake/fhir/codes.py).

The ROI of a DXA value comes from its LOINC code and Observation.bodySite (docs/rules.md A1b: a site-less
radius code such as Synthea's 38265-5 is `unspecified`). Units are normalised with monitor.core.vocab.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from monitor.core.domain import (
    DxaRoi,
    DxaSite,
    Frax,
    Lab,
    Marker,
    MarkerAnalyte,
    Note,
    NoteKind,
    Side,
    Vitals,
)
from monitor.core.errors import DataError
from monitor.core.vocab import LAB_UNITS, MARKER_EXTRA_UNITS, MARKER_UNITS, normalise_unit
from monitor.intake.fhir import codes as C
from monitor.intake.fhir.fields import (
    MapConfig,
    Mapped,
    Reject,
    cc_text,
    codings,
    describe,
    first_date,
    ignore_key,
    ignored,
    items,
    quantity,
    text,
    unknown_resource,
)

_OBS_SKIP_STATUS = {"entered-in-error", "cancelled", "registered"}
_T_UNITS = {"", "1", "{t-score}", "t-score", "tscore", "{tscore}", "{score}", "score", "sd", "{sd}", "{s.d.}", "s.d."}
_Z_UNITS = _T_UNITS | {"{z-score}", "z-score", "zscore", "{zscore}"}
_BMD_UNITS = {"g/cm2": 1.0, "g/cm^2": 1.0, "g/cm²": 1.0, "g/cm-2": 1.0, "g.cm-2": 1.0, "g/sqcm": 1.0, "mg/cm2": 0.001}
_WEIGHT_UNITS = {"kg": 1.0, "g": 0.001, "[lb_av]": 0.45359237, "lb": 0.45359237, "lbs": 0.45359237}
_LENGTH_UNITS = {"cm": 1.0, "m": 100.0, "mm": 0.1, "[in_i]": 2.54, "in": 2.54}
_BMI_UNITS = {"kg/m2": 1.0, "kg/m^2": 1.0, "kg/m²": 1.0, "": 1.0}
_PERCENT_UNITS = {"%", "percent", "{percent}", ""}
_VITAL_UNITS = {"weight_kg": _WEIGHT_UNITS, "height_cm": _LENGTH_UNITS, "waist_cm": _LENGTH_UNITS, "bmi": _BMI_UNITS}


def _unit_factor(units: list[str], table: dict[str, float], what: str) -> float:
    for u in units:
        key = u.strip().lower().replace(" ", "")
        if key in table:
            return table[key]
    allowed = ", ".join(sorted(k for k in table if k)) or "none"
    raise Reject(f"unit: {units[0]!r} is not allowed for {what}; allowed: {allowed}")


def map_observation(r: dict, source: str, cfg: MapConfig) -> Mapped:
    cs = codings(r.get("code"))
    status = text(r.get("status"))
    if status in _OBS_SKIP_STATUS:
        return ignored(ignore_key("Observation", cs, f"status {status}"))
    note = bonemon_note(r, cs + codings(r.get("valueCodeableConcept")), source, ("effectiveDateTime",
                        "effectivePeriod.start", "effectiveInstant", "issued"))
    if note is not None:
        return note
    components = [c for c in items(r.get("component")) if isinstance(c, dict)]
    if not any(_ours(s, c, cfg) for s, c, _d in cs) and not any(
        _ours(s, c, cfg) for comp in components for s, c, _d in codings(comp.get("code"))
    ):
        return _not_ours(r, cs)
    warnings: list[str] = []
    day, _ = first_date(
        r, "effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued", warnings=warnings
    )
    pieces: list[Any] = []
    for system, code, _d in cs:
        handled = _observation_code(r, system, code, day, source, cfg, pieces, top=True)
        if handled is not None:
            if isinstance(handled, Mapped):
                return handled
            return Mapped("facts", pieces=pieces, warnings=warnings)
    # A panel whose components carry the codes (several DXA sites or FRAX hip + MOF in one resource).
    for comp in components:
        for system, code, _d in codings(comp.get("code")):
            if _observation_code(comp, system, code, day, source, cfg, pieces, top=False, parent=r):
                break
    if pieces:
        return Mapped("facts", pieces=pieces, warnings=warnings)
    return _not_ours(r, cs)


def _ours(system: str, code: str, cfg: MapConfig) -> bool:
    """Could this coding give a fact? (Cheap: most Observations of an export are not ours.)"""
    if system == C.LOINC:
        return code in _OUR_LOINC
    if system == C.SNOMED:
        concept = C.SNOMED_CONCEPTS.get(code)
        return concept is not None and concept.kind == C.NOTE
    if system in (C.DXA_SCORE_SYSTEM, C.MARKER_SYSTEM):
        return True
    return bool(cfg.frax_system) and system == cfg.frax_system and code.lower() in C.FRAX_LOCAL


_OUR_LOINC = frozenset(
    {*C.DXA_LOINC, *C.MARKER_LOINC, *C.LAB_LOINC, *C.VITALS_LOINC}
    | {C.FRAX_MOF_LOINC, C.SMOKING_STATUS_LOINC, C.DISTANT_METASTASIS_SITE_LOINC}
)


def _not_ours(r: dict, cs: list[tuple[str, str, str]]) -> Mapped:
    for system, code, _d in cs:
        if system == C.LOINC and code in C.OBSERVATION_IGNORED:
            return ignored(ignore_key("Observation", cs, C.OBSERVATION_IGNORED[code]))
    return unknown_resource("Observation", cs, cc_text(r.get("code")))


def _need_day(day: date | None) -> date:
    if day is None:
        raise Reject("no effective date (effectiveDateTime, effectivePeriod.start, effectiveInstant or issued)")
    return day


def _observation_code(
    r: dict,
    system: str,
    code: str,
    day: date | None,
    source: str,
    cfg: MapConfig,
    pieces: list,
    *,
    top: bool,
    parent: dict | None = None,
) -> Mapped | bool | None:
    """Append the fact(s) one coded value gives; None when the code is not one of ours."""
    holder = parent if parent is not None else r
    if system == C.LOINC and code in C.DXA_LOINC:
        pieces.append(_dxa(r, C.DXA_LOINC[code], code, _need_day(day), source, holder))
        return True
    if system == C.DXA_SCORE_SYSTEM and code in ("t", "z", "bmd"):
        pieces.append(_dxa(r, C.DxaCode(code, "bonemon"), f"{system}|{code}", _need_day(day), source, holder))
        return True
    if (system == C.LOINC and code in C.MARKER_LOINC) or system == C.MARKER_SYSTEM:
        try:
            analyte = C.MARKER_LOINC[code] if system == C.LOINC else MarkerAnalyte(code)
        except ValueError:
            raise Reject(f"code: {code!r} is not a bone marker; allowed: "
                         + ", ".join(m.value for m in MarkerAnalyte)) from None
        value, units = quantity(r, analyte.value)
        v, unit = _normalise(MARKER_UNITS, analyte.value, value, units, MARKER_EXTRA_UNITS)
        pieces.append(Marker(date=_need_day(day), analyte=analyte, value=v, unit=unit, source=source))
        return True
    if system == C.LOINC and code in C.LAB_LOINC:
        lab = C.LAB_LOINC[code]
        value, units = quantity(r, lab.value)
        v, unit = _normalise(LAB_UNITS, lab.value, value, units, None)
        pieces.append(Lab(date=_need_day(day), analyte=lab, value=v, unit=unit, source=source))
        return True
    if system == C.LOINC and code in C.VITALS_LOINC:
        name = C.VITALS_LOINC[code]
        value, units = quantity(r, name.replace("_", " "))
        factor = _unit_factor(units, _VITAL_UNITS[name], name.replace("_", " "))
        pieces.append(Vitals(date=_need_day(day), source=source, **{name: float(value) * factor}))
        return True
    frax_kind = None
    if system == C.LOINC and code == C.FRAX_MOF_LOINC:
        frax_kind = "mof"
    elif cfg.frax_system and system == cfg.frax_system and code.lower() in C.FRAX_LOCAL:
        frax_kind = C.FRAX_LOCAL[code.lower()]
    if frax_kind == "panel":
        return None  # the values are in the components
    if frax_kind:
        value, units = quantity(r, f"FRAX {frax_kind}")
        _unit_factor(units, dict.fromkeys(_PERCENT_UNITS, 1.0), f"FRAX {frax_kind} (a percentage)")
        method = cc_text(holder.get("method")) or None
        pieces.append(Frax(date=_need_day(day), model=method, with_bmd=_frax_with_bmd(holder, cfg), source=source,
                           **{frax_kind: float(value)}))
        return True
    if not top:
        return None
    if system == C.LOINC and code == C.SMOKING_STATUS_LOINC:
        values = codings(r.get("valueCodeableConcept"))
        if any(v[0] == C.SNOMED and v[1] in C.CURRENT_SMOKER_SNOMED for v in values):
            pieces.append(Note(kind=NoteKind.SMOKER, date=_need_day(day), source=source))
            return True
        return ignored(f"Observation {code} (smoking status: not a current smoker)")
    if system == C.LOINC and code == C.DISTANT_METASTASIS_SITE_LOINC:
        values = codings(r.get("valueCodeableConcept"))
        if any(v[0] == C.SNOMED and v[1] in C.BONE_STRUCTURE_SNOMED for v in values):
            pieces.append(Note(kind=NoteKind.BONE_METASTASIS, date=day, source=source))
            return True
        if values and all(v[0] == C.SNOMED and v[1] == "260413007" for v in values):
            return ignored(f"Observation {code} (site of distant metastasis: none)")
        return ignored(f"Observation {code} (site of distant metastasis)", [f"value {describe(v)}" for v in values])
    if system == C.SNOMED and C.SNOMED_CONCEPTS.get(code) and C.SNOMED_CONCEPTS[code].kind == C.NOTE:
        pieces.append(Note(kind=C.SNOMED_CONCEPTS[code].note, date=day, source=source))
        return True
    return None


def _normalise(table, analyte: str, value: Decimal, units: list[str], extra) -> tuple[float, str]:
    first: DataError | None = None
    for u in units:
        try:
            return normalise_unit(table, analyte, float(value), u, extra)
        except DataError as exc:
            first = first or exc
    assert first is not None
    raise first


_REGION_SITES: dict[str, set[DxaSite]] = {
    "spine": {DxaSite.LUMBAR_SPINE, DxaSite.SINGLE_VERTEBRA},
    "femur": {DxaSite.FEMORAL_NECK, DxaSite.TOTAL_HIP, DxaSite.TROCHANTER, DxaSite.WARDS},
    "hip": {DxaSite.FEMORAL_NECK, DxaSite.TOTAL_HIP, DxaSite.TROCHANTER, DxaSite.WARDS},
    "radius": {DxaSite.RADIUS_33, DxaSite.ULTRADISTAL_RADIUS, DxaSite.TOTAL_FOREARM, DxaSite.UNSPECIFIED},
    "calcaneus": {DxaSite.CALCANEUS},
}


def _dxa(r: dict, dc: C.DxaCode, code: str, day: date, source: str, holder: dict) -> DxaRoi:
    value, units = quantity(r, {"t": "a T-score", "z": "a Z-score", "bmd": "a BMD"}[dc.kind])
    site, side, vertebrae = dxa_site(dc, code, holder.get("bodySite"))
    extra = _dxa_details(holder)
    if dc.kind == "bmd":
        factor = _unit_factor(units, _BMD_UNITS, "a BMD (g/cm²)")
        return DxaRoi(date=day, site=site, side=side, bmd=float(value) * factor, vertebrae=vertebrae, source=source,
                      **extra)
    allowed = _T_UNITS if dc.kind == "t" else _Z_UNITS
    _unit_factor(units, dict.fromkeys(allowed, 1.0), "a T-score" if dc.kind == "t" else "a Z-score")
    if dc.kind == "t":
        return DxaRoi(date=day, site=site, side=side, t_score=value, vertebrae=vertebrae, source=source, **extra)
    return DxaRoi(date=day, site=site, side=side, z_score=value, vertebrae=vertebrae, source=source, **extra)


def _dxa_details(holder: dict) -> dict[str, Any]:
    """Scanner (device identifier or display) and validity (bonemon's extension) of a DXA Observation."""
    out: dict[str, Any] = {}
    device = holder.get("device")
    if isinstance(device, dict):
        ident = device.get("identifier") if isinstance(device.get("identifier"), dict) else {}
        scanner = text(ident.get("value")).strip() or text(device.get("display")).strip()
        if scanner:
            out["scanner"] = scanner[:64]
    for ext in items(holder.get("extension")):
        if isinstance(ext, dict) and ext.get("url") == C.DXA_VALID_EXTENSION and ext.get("valueBoolean") is False:
            out["valid"] = False
    return out


def _frax_with_bmd(holder: dict, cfg: MapConfig) -> bool | None:
    for comp in items(holder.get("component")):
        if not isinstance(comp, dict) or not isinstance(comp.get("valueBoolean"), bool):
            continue
        if any(s == cfg.frax_system and c == C.FRAX_WITH_BMD for s, c, _d in codings(comp.get("code"))):
            return comp["valueBoolean"]
    return None


def note_text(r: dict) -> str | None:
    """The text of the first Annotation in `note` (bonemon's export puts a note's text there)."""
    for a in items(r.get("note")):
        if isinstance(a, dict) and text(a.get("text")).strip():
            return text(a["text"]).strip()
    return None


def bonemon_note(r: dict, cs: list[tuple[str, str, str]], source: str, date_fields: tuple[str, ...]) -> Mapped | None:
    """A resource coded in bonemon's note-kind system (code or value) is a Note of that kind, with its text."""
    kind = next((c for s, c, _d in cs if s == C.NOTE_SYSTEM), None)
    if kind is None:
        return None
    try:
        note_kind = NoteKind(kind)
    except ValueError:
        raise Reject(f"code: {kind!r} is not a note kind; allowed: {', '.join(k.value for k in NoteKind)}") from None
    warnings: list[str] = []
    day, _ = first_date(r, *date_fields, warnings=warnings)
    return Mapped("facts", pieces=[Note(kind=note_kind, date=day, text=note_text(r), source=source)],
                  warnings=warnings)


def dxa_site(dc: C.DxaCode, code: str, body_site: Any) -> tuple[DxaSite, Side, int | None]:
    """ROI and side from the LOINC code, refined by Observation.bodySite (C.BODY_SITE_SNOMED; A1b)."""
    site, side, vertebrae = C.REGION_DEFAULT_SITE.get(dc.region, DxaSite.OTHER), dc.side, None
    if not isinstance(body_site, dict):
        if dc.region == "bonemon":
            raise Reject(f"bodySite: a {C.DXA_SCORE_SYSTEM} value needs a {C.DXA_SITE_SYSTEM} site")
        return site, side, vertebrae
    named: DxaSite | None = None
    named_side: Side | None = None
    local = next((c for s, c, _d in codings(body_site) if s == C.DXA_SITE_SYSTEM), None)
    for system, expr, _d in codings(body_site):
        if system != C.SNOMED:
            continue
        focus, _, refinement = expr.partition(":")
        if C.BODY_SITE_SNOMED.get(focus.strip()):
            named = C.BODY_SITE_SNOMED[focus.strip()]
        for attr in refinement.split(","):
            _a, _, val = attr.partition("=")
            if val.strip() in C.LATERALITY_SNOMED:
                named_side = C.LATERALITY_SNOMED[val.strip()]
    text = " ".join(
        x
        for x in [body_site.get("text") if isinstance(body_site.get("text"), str) else ""]
        + [d for _s, _c, d in codings(body_site)]
        if x
    )
    if text:
        text_site, text_vertebrae, text_side = C.site_from_text(text)
        named = text_site or named
        vertebrae = text_vertebrae
        named_side = text_side or named_side
    if local is not None:  # bonemon's own export names the ROI exactly
        try:
            named = DxaSite(local)
        except ValueError:
            raise Reject(f"bodySite: {local!r} is not a DXA site; allowed: "
                         + ", ".join(x.value for x in DxaSite)) from None
    elif dc.region == "bonemon":
        raise Reject(f"bodySite: a {C.DXA_SCORE_SYSTEM} value needs a {C.DXA_SITE_SYSTEM} site")
    if named is not None:
        allowed = _REGION_SITES.get(dc.region)
        if allowed is not None and named not in allowed:
            raise Reject(f"bodySite: {text or named.value!r} does not fit LOINC {code} ({dc.region})")
        site = named
    if named_side is not None and named_side is not Side.NONE:
        if side is not Side.NONE and named_side is not side:
            raise Reject(f"bodySite: side {named_side.value} contradicts LOINC {code} ({side.value})")
        side = named_side
    if vertebrae is not None and site is not DxaSite.LUMBAR_SPINE and site is not DxaSite.SINGLE_VERTEBRA:
        vertebrae = None
    if local is not None and site is not DxaSite.LUMBAR_SPINE:
        vertebrae = None  # only a lumbar ROI's text carries its count (L1-Ln)
    return site, side, vertebrae
