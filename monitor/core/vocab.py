"""Vocabularies the inputs are checked against: drug names and aliases, sites, analytes and units.

Pure lookups shared by the CLI, the CSV importer and the FHIR importer, so every entry path
accepts and refuses the same words.
"""

from __future__ import annotations

from typing import TypeVar

from monitor.core.domain import (
    Drug,
    DxaSite,
    FractureSite,
    LabAnalyte,
    MarkerAnalyte,
    Mechanism,
    NoteKind,
    Route,
)
from monitor.core.errors import DataError

E = TypeVar("E")

# Brand names, biosimilars, salts and spellings that map to one drug (`--drug` of docs/cli.md).
DRUG_ALIASES: dict[str, Drug] = {
    "arimidex": Drug.ANASTROZOLE,
    "femara": Drug.LETROZOLE,
    "aromasin": Drug.EXEMESTANE,
    "nolvadex": Drug.TAMOXIFEN,
    "soltamox": Drug.TAMOXIFEN,
    "alendronic_acid": Drug.ALENDRONATE,
    "alendronate_sodium": Drug.ALENDRONATE,
    "fosamax": Drug.ALENDRONATE,
    "binosto": Drug.ALENDRONATE,
    "risedronic_acid": Drug.RISEDRONATE,
    "risedronate_sodium": Drug.RISEDRONATE,
    "actonel": Drug.RISEDRONATE,
    "atelvia": Drug.RISEDRONATE,
    "ibandronic_acid": Drug.IBANDRONATE,
    "ibandronate_sodium": Drug.IBANDRONATE,
    "boniva": Drug.IBANDRONATE,
    "bonviva": Drug.IBANDRONATE,
    "zoledronate": Drug.ZOLEDRONIC_ACID,
    "zoledronic": Drug.ZOLEDRONIC_ACID,
    "zol": Drug.ZOLEDRONIC_ACID,
    "reclast": Drug.ZOLEDRONIC_ACID,
    "aclasta": Drug.ZOLEDRONIC_ACID,
    "zometa": Drug.ZOLEDRONIC_ACID,
    "prolia": Drug.DENOSUMAB,
    "xgeva": Drug.DENOSUMAB,
    "evista": Drug.RALOXIFENE,
    "estrogen": Drug.OESTROGEN,
    "estradiol": Drug.OESTROGEN,
    "oestradiol": Drug.OESTROGEN,
    "conjugated_estrogens": Drug.OESTROGEN,
    "hrt": Drug.OESTROGEN,
    "prednisone": Drug.GLUCOCORTICOID,
    "prednisolone": Drug.GLUCOCORTICOID,
    "methylprednisolone": Drug.GLUCOCORTICOID,
    "dexamethasone": Drug.GLUCOCORTICOID,
    "hydrocortisone": Drug.GLUCOCORTICOID,
    "cortisone": Drug.GLUCOCORTICOID,
}

# Denosumab biosimilars carry a four-letter suffix (denosumab-bbdz, -bmwo, -desu, -kyqq, ...).
DENOSUMAB_PREFIX = "denosumab"

# RxNorm ingredient codes; product-level codes live with the FHIR importer (monitor/intake/fhir/codes.py).
RXNORM_INGREDIENT: dict[str, Drug] = {
    "84857": Drug.ANASTROZOLE,
    "72965": Drug.LETROZOLE,
    "258494": Drug.EXEMESTANE,
    "10324": Drug.TAMOXIFEN,
    "46041": Drug.ALENDRONATE,
    "73056": Drug.RISEDRONATE,
    "115264": Drug.IBANDRONATE,
    "77655": Drug.ZOLEDRONIC_ACID,
    "993449": Drug.DENOSUMAB,
    "72143": Drug.RALOXIFENE,
}

ATC: dict[str, Drug] = {
    "L02BG03": Drug.ANASTROZOLE,
    "L02BG04": Drug.LETROZOLE,
    "L02BG06": Drug.EXEMESTANE,
    "L02BA01": Drug.TAMOXIFEN,
    "M05BA04": Drug.ALENDRONATE,
    "M05BB03": Drug.ALENDRONATE,  # alendronate + colecalciferol
    "M05BA07": Drug.RISEDRONATE,
    "M05BA06": Drug.IBANDRONATE,
    "M05BA08": Drug.ZOLEDRONIC_ACID,
    "M05BX04": Drug.DENOSUMAB,
    "G03XC01": Drug.RALOXIFENE,
}

# Fixed routes; ibandronate is oral or IV by strength (monitor.core.vocab.default_route).
FIXED_ROUTE: dict[Drug, Route] = {
    Drug.ANASTROZOLE: Route.ORAL,
    Drug.LETROZOLE: Route.ORAL,
    Drug.EXEMESTANE: Route.ORAL,
    Drug.TAMOXIFEN: Route.ORAL,
    Drug.ALENDRONATE: Route.ORAL,
    Drug.RISEDRONATE: Route.ORAL,
    Drug.ZOLEDRONIC_ACID: Route.IV,
    Drug.DENOSUMAB: Route.SC,
    Drug.RALOXIFENE: Route.ORAL,
}

# Largest single dose accepted per drug, in mg: catches unit slips (mg vs µg) and typos.
MAX_DOSE_MG: dict[Drug, float] = {
    Drug.ANASTROZOLE: 10,
    Drug.LETROZOLE: 25,
    Drug.EXEMESTANE: 100,
    Drug.TAMOXIFEN: 80,
    Drug.ALENDRONATE: 70,
    Drug.RISEDRONATE: 150,
    Drug.IBANDRONATE: 150,
    Drug.ZOLEDRONIC_ACID: 5,
    Drug.DENOSUMAB: 120,
    Drug.RALOXIFENE: 120,
    Drug.OESTROGEN: 10,
    Drug.GLUCOCORTICOID: 1000,
}

MAX_DAYS_SUPPLY = 366

SITE_ALIASES: dict[str, DxaSite] = {
    "spine": DxaSite.LUMBAR_SPINE,
    "lumbar": DxaSite.LUMBAR_SPINE,
    "l1_l4": DxaSite.LUMBAR_SPINE,
    "l1-l4": DxaSite.LUMBAR_SPINE,
    "neck": DxaSite.FEMORAL_NECK,
    "fn": DxaSite.FEMORAL_NECK,
    "hip": DxaSite.TOTAL_HIP,
    "th": DxaSite.TOTAL_HIP,
    "radius": DxaSite.RADIUS_33,
    "radius33": DxaSite.RADIUS_33,
    "one_third_radius": DxaSite.RADIUS_33,
    "ward": DxaSite.WARDS,
    "ward's": DxaSite.WARDS,
}

FRACTURE_SITE_ALIASES: dict[str, FractureSite] = {
    "vertebral": FractureSite.VERTEBRA,
    "spine": FractureSite.VERTEBRA,
    "humerus": FractureSite.PROXIMAL_HUMERUS,
    "wrist": FractureSite.DISTAL_FOREARM,
    "forearm": FractureSite.DISTAL_FOREARM,
    "femoral_neck": FractureSite.HIP,
}

# Canonical unit per analyte, and every accepted spelling with its factor to the canonical unit.
MARKER_UNITS: dict[str, tuple[str, dict[str, float]]] = {
    "ctx": ("ng/L", {"ng/l": 1.0, "pg/ml": 1.0, "ng/ml": 1000.0, "ug/l": 1000.0}),
    "p1np": ("ug/L", {"ug/l": 1.0, "ng/ml": 1.0, "mcg/l": 1.0}),
    "balp": ("U/L", {"u/l": 1.0, "iu/l": 1.0}),
    "ntx": ("nmol BCE/mmol Cr", {"nmol bce/mmol cr": 1.0, "nmol/mmol": 1.0, "nmolbce/mmolcr": 1.0}),
}
# BALP by mass (µg/L) and serum NTX (nmol BCE/L) are different quantities: stored as such.
MARKER_EXTRA_UNITS: dict[str, dict[str, tuple[str, float]]] = {
    "balp": {"ug/l": ("ug/L", 1.0), "ng/ml": ("ug/L", 1.0)},
    "ntx": {"nmol bce/l": ("nmol BCE/L", 1.0), "nmol/l": ("nmol BCE/L", 1.0)},
}

LAB_UNITS: dict[str, tuple[str, dict[str, float]]] = {
    "egfr": ("mL/min/1.73m2", {"ml/min/1.73m2": 1.0, "ml/min/{1.73_m2}": 1.0, "ml/min": 1.0}),
    "crcl": ("mL/min", {"ml/min": 1.0}),
    "calcium": ("mmol/L", {"mmol/l": 1.0, "mg/dl": 0.2495}),
    "calcium_corrected": ("mmol/L", {"mmol/l": 1.0, "mg/dl": 0.2495}),
    "albumin": ("g/L", {"g/l": 1.0, "g/dl": 10.0}),
    "vitamin_d": ("ng/mL", {"ng/ml": 1.0, "ug/l": 1.0, "nmol/l": 0.4006}),
    "creatinine": ("umol/L", {"umol/l": 1.0, "mg/dl": 88.42}),
}

# Plausible ranges in canonical units: values outside are typos or wrong units.
MARKER_RANGE: dict[str, tuple[float, float]] = {
    "ctx": (0.0, 10000.0),
    "p1np": (0.0, 2000.0),
    "balp": (0.0, 1000.0),
    "ntx": (0.0, 5000.0),
}
LAB_RANGE: dict[str, tuple[float, float]] = {
    "egfr": (0.0, 200.0),
    "crcl": (0.0, 250.0),
    "calcium": (0.5, 5.0),
    "calcium_corrected": (0.5, 5.0),
    "albumin": (5.0, 80.0),
    "vitamin_d": (0.0, 250.0),
    "creatinine": (5.0, 3000.0),
}


def _norm(text: str) -> str:
    return text.strip().lower().replace(" ", "_")


def choose(enum: type[E], text: str, field: str, aliases: dict[str, E] | None = None) -> E:
    word = _norm(str(text))
    try:
        return enum(word)  # type: ignore[call-arg]
    except ValueError:
        pass
    if aliases and word in aliases:
        return aliases[word]
    allowed = ", ".join(m.value for m in enum)  # type: ignore[attr-defined]
    raise DataError(field, repr(text), f"allowed: {allowed}")


def parse_drug(text: str, field: str = "drug") -> Drug:
    word = _norm(str(text)).replace("-", "_")
    if word.startswith(DENOSUMAB_PREFIX):
        return Drug.DENOSUMAB
    if word in RXNORM_INGREDIENT:
        return RXNORM_INGREDIENT[word]
    if word.upper() in ATC:
        return ATC[word.upper()]
    return choose(Drug, word, field, DRUG_ALIASES)


def parse_dxa_site(text: str) -> DxaSite:
    return choose(DxaSite, text, "site", SITE_ALIASES)


def parse_fracture_site(text: str) -> FractureSite:
    return choose(FractureSite, text, "site", FRACTURE_SITE_ALIASES)


def parse_mechanism(text: str) -> Mechanism:
    return choose(Mechanism, text, "mechanism", {"low_energy": Mechanism.FRAGILITY, "high_energy": Mechanism.TRAUMA})


def parse_marker(text: str) -> MarkerAnalyte:
    aliases = {"ctx_i": MarkerAnalyte.CTX, "beta_ctx": MarkerAnalyte.CTX, "pinp": MarkerAnalyte.P1NP,
               "s_ctx": MarkerAnalyte.CTX, "s_pinp": MarkerAnalyte.P1NP, "bsap": MarkerAnalyte.BALP}
    return choose(MarkerAnalyte, text, "analyte", aliases)


def parse_lab(text: str) -> LabAnalyte:
    aliases = {"25ohd": LabAnalyte.VITAMIN_D, "25(oh)d": LabAnalyte.VITAMIN_D, "vitd": LabAnalyte.VITAMIN_D,
               "corrected_calcium": LabAnalyte.CALCIUM_CORRECTED, "ca": LabAnalyte.CALCIUM}
    return choose(LabAnalyte, text, "analyte", aliases)


def parse_note_kind(text: str) -> NoteKind:
    return choose(NoteKind, text, "kind", {"dental": NoteKind.DENTAL_CHECK, "metastasis": NoteKind.BONE_METASTASIS})


def parse_route(text: str) -> Route:
    return choose(Route, text, "route", {"po": Route.ORAL, "intravenous": Route.IV, "subcutaneous": Route.SC})


def _unit_key(unit: str) -> str:
    return unit.strip().lower().replace("µ", "u").replace("μ", "u").replace("mcg", "ug")


def normalise_unit(
    table: dict[str, tuple[str, dict[str, float]]], analyte: str, value: float, unit: str,
    extra: dict[str, dict[str, tuple[str, float]]] | None = None,
) -> tuple[float, str]:
    """(value, unit) → (value in the canonical unit, canonical unit); a unit that does not fit is a DataError."""
    canonical, factors = table[analyte]
    u = _unit_key(unit)
    if u in factors or u.replace(" ", "") in factors:
        return value * factors.get(u, factors.get(u.replace(" ", ""), 1.0)), canonical
    if extra and analyte in extra and u in extra[analyte]:
        unit_out, factor = extra[analyte][u]
        return value * factor, unit_out
    spellings = {k.lower(): _display_unit(k) for k in factors}
    spellings[canonical.lower()] = canonical
    allowed = sorted(spellings.values(), key=str.lower)
    raise DataError("unit", repr(unit), f"allowed for {analyte}: {', '.join(allowed)}")


def _display_unit(unit: str) -> str:
    """The usual spelling of a lower-case unit key (mg/dl → mg/dL, u/l → U/L)."""
    out = unit.replace("ml", "mL").replace("dl", "dL").replace("/l", "/L").replace("iu/", "IU/")
    return "U/L" if out == "u/L" else out


def default_route(drug: Drug, dose_mg: float | None, max_iv_ibandronate_mg: float,
                  days_supply: int | None = None) -> Route | None:
    if drug in FIXED_ROUTE:
        return FIXED_ROUTE[drug]
    if drug is Drug.IBANDRONATE and days_supply is not None:
        return Route.ORAL  # a dispense with days supply is tablets (the 2.5 mg daily tablet too)
    if drug is Drug.IBANDRONATE and dose_mg is not None:
        return Route.IV if dose_mg <= max_iv_ibandronate_mg else Route.ORAL
    return None

