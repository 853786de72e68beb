"""Measurements as Observations: DXA ROIs (T, Z and BMD components), bone turnover markers, labs, vitals, FRAX.

LOINC where monitor/intake/fhir/codes.py has one; bonemon's own codes where none is verified (NTX, some DXA sites)."""

from __future__ import annotations

from typing import Any

from monitor.core.domain import DxaRoi, DxaSite, Frax, Lab, LabAnalyte, Marker, MarkerAnalyte, Side, Vitals
from monitor.export.fhir.codes import (
    DXA_SCORE_SYSTEM,
    DXA_SITE_SYSTEM,
    DXA_VALID_EXT,
    FRAX_WITH_BMD,
    LOINC,
    MARKER_SYSTEM,
    SCANNER_SYSTEM,
    SNOMED,
)
from monitor.export.fhir.writer import BundleWriter, coding, concept, label, quantity

# DXA: region → (T, Z, BMD) LOINC codes by side (none, right, left), as the importer reads them.
_DXA_CODES: dict[str, dict[str, tuple[str, str, str] | tuple[str | None, ...]]] = {
    "spine": {"t": ("38267-1",) * 3, "z": ("85394-5",) * 3, "bmd": ("24966-4",) * 3},
    "femur": {"t": ("38263-0", "80947-5", "80948-3"), "z": ("80934-3", "80939-2", "80940-0"),
              "bmd": ("24701-5", "80953-3", "80954-1")},
    "hip": {"t": ("38264-8", "80945-9", "80946-7"), "z": ("80933-5", "80937-6", "80938-4"),
            "bmd": ("38261-4", "46279-6", "46278-8")},
    "radius": {"t": ("38265-5", "80943-4", "80944-2"), "z": ("80932-7", "80935-0", "80936-8"),
               "bmd": ("24890-6", "80951-7", "80952-5")},
    "calcaneus": {"t": ("38266-3",) * 3, "z": (None,) * 3, "bmd": ("38262-2",) * 3},
    # docs/rules.md A1b: a T-score of no identifiable region is sent as the site-less radius code (as Synthea
    # does); its BMD as 46383-6 "DXA bone BMD, unspecified".
    "unspecified": {"t": ("38265-5", "80943-4", "80944-2"), "z": ("80932-7", "80935-0", "80936-8"),
                    "bmd": ("46383-6",) * 3},
}
# site → (region, bodySite SNOMED coding or None, bodySite text)
_DXA_SITES: dict[DxaSite, tuple[str | None, tuple[str, str] | None, str]] = {
    DxaSite.LUMBAR_SPINE: ("spine", ("122496007", "Lumbar spine structure"), "Lumbar spine"),
    DxaSite.FEMORAL_NECK: ("femur", ("29627003", "Neck of femur structure"), "Femoral neck"),
    DxaSite.TOTAL_HIP: ("hip", None, "Total hip"),
    DxaSite.RADIUS_33: ("radius", ("75129005", "Distal radius structure"), "33% radius"),
    DxaSite.UNSPECIFIED: ("unspecified", None, ""),
    DxaSite.TROCHANTER: ("femur", None, "Trochanter"),
    DxaSite.WARDS: ("femur", None, "Ward's area"),
    DxaSite.ULTRADISTAL_RADIUS: ("radius", ("75129005", "Distal radius structure"), "Ultradistal radius"),
    DxaSite.TOTAL_FOREARM: ("radius", None, "Total forearm"),
    DxaSite.CALCANEUS: ("calcaneus", None, "Calcaneus"),
    # No LOINC code says "one vertebra" or "another site" without meaning a tiering site: local codes only.
    DxaSite.SINGLE_VERTEBRA: (None, None, "Single lumbar vertebra"),
    DxaSite.OTHER: (None, None, "Other site"),
}
_SIDE_INDEX = {Side.NONE: 0, Side.RIGHT: 1, Side.LEFT: 2}
_SCORE_UNITS = {"t": ("T-score", "{T-score}"), "z": ("Z-score", "{Z-score}"), "bmd": ("g/cm2", "g/cm2")}

MARKER_LOINC: dict[MarkerAnalyte, tuple[str, str]] = {
    MarkerAnalyte.CTX: ("41171-0", "Collagen crosslinked C-telopeptide [Mass/volume] in Serum or Plasma"),
    MarkerAnalyte.P1NP: ("77370-5", "Procollagen type I.N-terminal propeptide [Mass/volume] in Serum or Plasma"),
    MarkerAnalyte.BALP: ("1777-2", "Alkaline phosphatase.bone [Enzymatic activity/volume] in Serum or Plasma"),
}
LAB_LOINC: dict[LabAnalyte, tuple[str, str]] = {
    LabAnalyte.EGFR: ("98979-8", "Glomerular filtration rate/1.73 sq M.predicted (CKD-EPI 2021)"),
    LabAnalyte.CRCL: ("35591-7", "Creatinine renal clearance predicted by Cockcroft-Gault formula"),
    LabAnalyte.CALCIUM: ("2000-8", "Calcium [Moles/volume] in Serum or Plasma"),
    LabAnalyte.CALCIUM_CORRECTED: ("29265-6", "Calcium corrected for albumin [Moles/volume] in Serum or Plasma"),
    LabAnalyte.ALBUMIN: ("1751-7", "Albumin [Mass/volume] in Serum or Plasma"),
    LabAnalyte.VITAMIN_D: ("62292-8", "25-hydroxyvitamin D2+D3 [Mass/volume] in Serum or Plasma"),
    LabAnalyte.CREATININE: ("14682-9", "Creatinine [Moles/volume] in Serum or Plasma"),
}
# Canonical units (monitor.core.vocab) → UCUM codes; a unit missing here is written as text only.
UCUM_CODES = {
    "ng/L": "ng/L", "ug/L": "ug/L", "U/L": "U/L", "mmol/L": "mmol/L", "g/L": "g/L", "ng/mL": "ng/mL",
    "umol/L": "umol/L", "mL/min": "mL/min", "mL/min/1.73m2": "mL/min/{1.73_m2}",
}
VITALS_LOINC: dict[str, tuple[str, str, str, str]] = {  # field → (LOINC, display, unit, UCUM)
    "weight_kg": ("29463-7", "Body weight", "kg", "kg"),
    "height_cm": ("8302-2", "Body height", "cm", "cm"),
    "bmi": ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", "kg/m2"),
    "waist_cm": ("8280-0", "Waist circumference at umbilicus by tape measure", "cm", "cm"),
}
FRAX_MOF_LOINC = "90265-0"


def dxa(w: BundleWriter, x: DxaRoi, key: tuple) -> None:
    region, snomed, text = _DXA_SITES[x.site]
    side_word = {Side.LEFT: "Left", Side.RIGHT: "Right"}.get(x.side)
    if x.site is DxaSite.LUMBAR_SPINE and x.vertebrae is not None:
        text = f"{text} L1-L{x.vertebrae}"  # the importer reads the count from the span (A1)
    elif x.vertebrae is not None:
        text = f"{text}, {x.vertebrae} vertebra(e)"
    if side_word:
        text = f"{side_word} {text[:1].lower()}{text[1:]}".strip()
    body: dict[str, Any] = {"coding": [coding(DXA_SITE_SYSTEM, x.site.value)]}
    if snomed is not None:
        body["coding"].append(coding(SNOMED, *snomed))
    if text:
        body["text"] = text
    components = []
    for kind, value in (("t", x.t_score), ("z", x.z_score), ("bmd", x.bmd)):
        if value is None:
            continue
        # An ROI judged invalid gets local codes only: a reader that does not know bonemon's
        # validity flag must not tier from it.
        loinc = _DXA_CODES[region][kind][_SIDE_INDEX[x.side]] if region and x.valid else None
        code = coding(LOINC, loinc) if loinc else coding(DXA_SCORE_SYSTEM, kind)
        unit, ucum = _SCORE_UNITS[kind]
        components.append({"code": concept(code, text=f"DXA {unit}"), "valueQuantity": quantity(value, unit, ucum)})
    r = w.observation(w.ids.make("dxa", *key), "imaging",
                      concept(coding(LOINC, "83311-1", "Bone density quantitative measurement by DXA panel"),
                              text=f"DXA {label(x.site.value).lower()}"), x.date)
    if not x.valid:
        r["extension"] = [{"url": DXA_VALID_EXT, "valueBoolean": False}]
    r["bodySite"] = body
    if x.scanner:
        r["device"] = {"identifier": {"system": SCANNER_SYSTEM, "value": x.scanner}, "display": x.scanner}
    r["component"] = components
    w.add(r)


def _value_observation(w: BundleWriter, rid: str, code: dict[str, Any], x: Marker | Lab) -> None:
    r = w.observation(rid, "laboratory", code, x.date)
    r["valueQuantity"] = quantity(x.value, x.unit, UCUM_CODES.get(x.unit))
    w.add(r)


def marker(w: BundleWriter, m: Marker, key: tuple) -> None:
    if m.analyte in MARKER_LOINC:
        code = concept(coding(LOINC, *MARKER_LOINC[m.analyte]), text=m.analyte.value.upper())
    else:  # NTX: no verified LOINC code (docs/formats.md)
        code = concept(coding(MARKER_SYSTEM, m.analyte.value), text=m.analyte.value.upper())
    _value_observation(w, w.ids.make("btm", *key), code, m)


def lab(w: BundleWriter, x: Lab, key: tuple) -> None:
    code = concept(coding(LOINC, *LAB_LOINC[x.analyte]), text=label(x.analyte.value))
    _value_observation(w, w.ids.make("lab", *key), code, x)


def vitals(w: BundleWriter, v: Vitals, key: tuple) -> None:
    for name, (loinc, display, unit, ucum) in VITALS_LOINC.items():
        value = getattr(v, name)
        if value is None:
            continue
        r = w.observation(w.ids.make("vit", *key, name), "vital-signs",
                          concept(coding(LOINC, loinc, display), text=display), v.date)
        r["valueQuantity"] = quantity(value, unit, ucum)
        w.add(r)


def frax(w: BundleWriter, x: Frax, key: tuple) -> None:
    system = w.options.frax_system
    r = w.observation(w.ids.make("frx", *key), "survey",
                      concept(coding(system, "frax"), text="FRAX 10-year fracture probability"), x.date)
    if x.model:
        r["method"] = {"text": x.model}
    components = []
    if x.mof is not None:
        components.append({"code": concept(coding(LOINC, FRAX_MOF_LOINC), coding(system, "mof"),
                                           text="FRAX major osteoporotic fracture"),
                           "valueQuantity": quantity(x.mof, "%", "%")})
    if x.hip is not None:
        components.append({"code": concept(coding(system, "hip"), text="FRAX hip fracture"),
                           "valueQuantity": quantity(x.hip, "%", "%")})
    if x.with_bmd is not None:
        components.append({"code": concept(coding(system, FRAX_WITH_BMD), text="FRAX computed with BMD"),
                           "valueBoolean": x.with_bmd})
    r["component"] = components
    w.add(r)
