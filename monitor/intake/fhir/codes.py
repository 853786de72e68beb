# code table: exempt from the module size limit
"""Code tables of the FHIR importer: LOINC, RxNorm (every product level), ATC, SNOMED CT, ICD-10(-CM).

Pure lookups. A code that is in no table is *unknown*: the importer lists it in its report and
never maps it by its display text. Sources: the code lists of the clinical specification that
docs/rules.md restates, and the fixtures' provenance
(`tests/fixtures/fhir/PROVENANCE.md`); the CMS249 VSAC expansions (eCQM value sets
AromataseInhibitors, Glucocorticoids(oralonly), OsteoporosisWith/WithoutCurrentFracture,
Osteopenia, Historyofhipfractureinparent, (Evidenceof)BilateralOophorectomy, PrematureMenopause)
are copied here code by code. Codes marked ⚠️ are the ones those code lists mark unverified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.core.domain import Drug, DxaSite, FractureSite, LabAnalyte, MarkerAnalyte, Mechanism, NoteKind, Side
from monitor.core.vocab import ATC as ATC_DRUGS
from monitor.core.vocab import RXNORM_INGREDIENT


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# --------------------------------------------------------------------------- code systems

LOINC = "LOINC"
SNOMED = "SNOMED"
RXNORM = "RxNorm"
ICD10CM = "ICD-10-CM"
ICD10 = "ICD-10"
ICD10PCS = "ICD-10-PCS"
ATC = "ATC"
UCUM = "UCUM"

_SYSTEMS: dict[str, str] = {
    "http://loinc.org": LOINC,
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "http://snomed.info/sct": SNOMED,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "http://www.nlm.nih.gov/research/umls/rxnorm": RXNORM,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "http://hl7.org/fhir/sid/icd-10-cm": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "http://hl7.org/fhir/sid/icd-10": ICD10,
    "urn:oid:2.16.840.1.113883.6.3": ICD10,
    "http://www.cms.gov/medicare/coding/icd10": ICD10PCS,
    "http://hl7.org/fhir/sid/icd-10-pcs": ICD10PCS,
    "urn:oid:2.16.840.1.113883.6.4": ICD10PCS,
    "http://www.whocc.no/atc": ATC,
    "urn:oid:2.16.840.1.113883.6.73": ATC,
    "http://unitsofmeasure.org": UCUM,
}


def system_name(system: str | None) -> str:
    """A short name for a code-system URI (LOINC, SNOMED, ...); the URI itself when unknown.

    National ICD-10 variants (e.g. a Chinese clinical edition) are matched by `icd-10` in the URI
    and read with the WHO prefixes (prefix matching for both).
    """
    raw = (system or "").strip()
    key = raw.lower().rstrip("/").replace("https://", "http://")
    if key in _SYSTEMS:
        return _SYSTEMS[key]
    if "icd-10-cm" in key or "icd10cm" in key:
        return ICD10CM
    if "icd-10-pcs" in key or "icd10pcs" in key:
        return ICD10PCS
    if "icd-10" in key or "icd10" in key:
        return ICD10
    return raw


# --------------------------------------------------------------------------- LOINC: DXA


@dataclass(frozen=True, slots=True)
class DxaCode:
    kind: str  # "t", "z" or "bmd"
    region: str  # spine, femur, hip, radius, calcaneus, bone
    side: Side = Side.NONE


_L, _R, _N = Side.LEFT, Side.RIGHT, Side.NONE
DXA_LOINC: dict[str, DxaCode] = {
    # T-scores
    "38267-1": DxaCode("t", "spine"),
    "38263-0": DxaCode("t", "femur"),
    "80947-5": DxaCode("t", "femur", _R),
    "80948-3": DxaCode("t", "femur", _L),
    "38264-8": DxaCode("t", "hip"),
    "80945-9": DxaCode("t", "hip", _R),
    "80946-7": DxaCode("t", "hip", _L),
    "38265-5": DxaCode("t", "radius"),
    "80943-4": DxaCode("t", "radius", _R),
    "80944-2": DxaCode("t", "radius", _L),
    "38266-3": DxaCode("t", "calcaneus"),
    # Z-scores
    "85394-5": DxaCode("z", "spine"),
    "80934-3": DxaCode("z", "femur"),
    "80939-2": DxaCode("z", "femur", _R),
    "80940-0": DxaCode("z", "femur", _L),
    "80933-5": DxaCode("z", "hip"),
    "80937-6": DxaCode("z", "hip", _R),
    "80938-4": DxaCode("z", "hip", _L),
    "80932-7": DxaCode("z", "radius"),
    "80935-0": DxaCode("z", "radius", _R),
    "80936-8": DxaCode("z", "radius", _L),
    # BMD in g/cm²
    "24966-4": DxaCode("bmd", "spine"),
    "24701-5": DxaCode("bmd", "femur"),
    "80953-3": DxaCode("bmd", "femur", _R),
    "80954-1": DxaCode("bmd", "femur", _L),
    "38261-4": DxaCode("bmd", "hip"),
    "46279-6": DxaCode("bmd", "hip", _R),
    "46278-8": DxaCode("bmd", "hip", _L),
    "24890-6": DxaCode("bmd", "radius"),
    "80951-7": DxaCode("bmd", "radius", _R),
    "80952-5": DxaCode("bmd", "radius", _L),
    "38262-2": DxaCode("bmd", "calcaneus"),
    "46383-6": DxaCode("bmd", "bone"),
}

# The ROI a region code means when no bodySite says otherwise (femur codes are used
# with bodySite = femoral neck, hip codes for total hip). Radius codes are ambiguous between the
# 33% radius, ultradistal radius and total forearm, and Synthea uses 38265-5 as a site-less
# "DXA T-score": both become `unspecified`, which counts for tiering with a flag (A1b).
REGION_DEFAULT_SITE: dict[str, DxaSite] = {
    "spine": DxaSite.LUMBAR_SPINE,
    "femur": DxaSite.FEMORAL_NECK,
    "hip": DxaSite.TOTAL_HIP,
    "radius": DxaSite.UNSPECIFIED,
    "calcaneus": DxaSite.CALCANEUS,
    "bone": DxaSite.UNSPECIFIED,
}

# bodySite SNOMED codes and the post-coordinated laterality values.
BODY_SITE_SNOMED: dict[str, DxaSite | None] = {
    "29627003": DxaSite.FEMORAL_NECK,  # neck of femur structure
    "122496007": DxaSite.LUMBAR_SPINE,  # lumbar spine structure
    "75129005": None,  # distal radius structure: the ROI comes from the text (33% / ultradistal)
    "71341001": None,  # bone structure of femur (FHIR core "bmd" example): keep the LOINC region
}
LATERALITY_SNOMED: dict[str, Side] = {"7771000": Side.LEFT, "24028007": Side.RIGHT, "51440002": Side.NONE}

_SITE_WORDS: tuple[tuple[re.Pattern[str], DxaSite], ...] = (
    (re.compile(r"ultra[\s-]?distal|\bud\b"), DxaSite.ULTRADISTAL_RADIUS),
    (re.compile(r"33\s*%|1/3|one[\s-]third|third radius"), DxaSite.RADIUS_33),
    (re.compile(r"total (fore)?arm|total forearm|total radius"), DxaSite.TOTAL_FOREARM),
    (re.compile(r"total hip|hip total"), DxaSite.TOTAL_HIP),
    (re.compile(r"femoral neck|neck of (the )?femur|fem(ur)? neck"), DxaSite.FEMORAL_NECK),
    (re.compile(r"trochanter"), DxaSite.TROCHANTER),
    (re.compile(r"ward"), DxaSite.WARDS),
    (re.compile(r"calcane|heel"), DxaSite.CALCANEUS),
    (re.compile(r"\bl\s?[1-5]\s*[-–]\s*l?\s?[1-5]\b|lumbar"), DxaSite.LUMBAR_SPINE),
)
_VERTEBRA_RANGE = re.compile(r"\bl\s?([1-5])\s*[-–]\s*l?\s?([1-5])\b")
_SINGLE_VERTEBRA = re.compile(r"^\s*l\s?[1-5]\s*$")


def site_from_text(text: str) -> tuple[DxaSite | None, int | None, Side | None]:
    """(ROI, vertebrae counted, side) named in a bodySite text such as 'Left femoral neck' or 'L1-L4'."""
    t = text.lower()
    side = Side.LEFT if re.search(r"\bleft\b|\blt\b", t) else Side.RIGHT if re.search(r"\bright\b|\brt\b", t) else None
    if _SINGLE_VERTEBRA.match(t):
        return DxaSite.SINGLE_VERTEBRA, 1, side
    for pattern, site in _SITE_WORDS:
        if pattern.search(t):
            vertebrae = None
            m = _VERTEBRA_RANGE.search(t)
            if site is DxaSite.LUMBAR_SPINE and m:
                a, b = sorted((int(m.group(1)), int(m.group(2))))
                vertebrae = b - a + 1 if b - a + 1 <= 4 else None
            return site, vertebrae, side
    return None, None, side


# --------------------------------------------------------------------------- LOINC: labs, markers, vitals

MARKER_LOINC: dict[str, MarkerAnalyte] = {
    "41171-0": MarkerAnalyte.CTX,
    "77370-5": MarkerAnalyte.P1NP,
    "1777-2": MarkerAnalyte.BALP,
}

LAB_LOINC: dict[str, LabAnalyte] = {
    "62292-8": LabAnalyte.VITAMIN_D,
    "1989-3": LabAnalyte.VITAMIN_D,
    "17861-6": LabAnalyte.CALCIUM,
    "2000-8": LabAnalyte.CALCIUM,  # ⚠️ unverified
    "49765-1": LabAnalyte.CALCIUM,  # Calcium [Mass/volume] in Blood (Synthea's calcium)
    "29265-6": LabAnalyte.CALCIUM_CORRECTED,
    "2160-0": LabAnalyte.CREATININE,
    "14682-9": LabAnalyte.CREATININE,
    "38483-4": LabAnalyte.CREATININE,  # Creatinine [Mass/volume] in Blood (Synthea's creatinine)
    "35591-7": LabAnalyte.CRCL,
    "98979-8": LabAnalyte.EGFR,
    "62238-1": LabAnalyte.EGFR,
    "33914-3": LabAnalyte.EGFR,
    "1751-7": LabAnalyte.ALBUMIN,
}

VITALS_LOINC: dict[str, str] = {
    "39156-5": "bmi",
    "29463-7": "weight_kg",
    "3141-9": "weight_kg",
    "8302-2": "height_cm",
    "8280-0": "waist_cm",
}

FRAX_MOF_LOINC = "90265-0"  # FRAX major osteoporotic fracture 10-y probability (CMS249)
# Local FRAX codes, in the system configured as [fhir] frax_system (no LOINC exists for hip).
FRAX_LOCAL: dict[str, str] = {
    "mof": "mof",
    "major-osteoporotic-fracture": "mof",
    "hip": "hip",
    "hip-fracture": "hip",
    "frax": "panel",
}

SMOKING_STATUS_LOINC = "72166-2"
CURRENT_SMOKER_SNOMED = frozenset(
    {"449868002", "428041000124106", "77176002", "65568007", "428061000124105", "428071000124103"}
)
DISTANT_METASTASIS_SITE_LOINC = "44667-4"

# Known LOINC codes that carry no fact: counted as ignored with this label, never listed as unknown.
OBSERVATION_IGNORED: dict[str, str] = {
    "83311-1": "DXA panel (its member Observations carry the values)",
    "83014-1": "DXA with vertebral fracture assessment panel",
    "38268-9": "DXA skeletal views",
    "6768-6": "total alkaline phosphatase, not bone-specific ALP",
    "1995-0": "ionized calcium (total or corrected calcium is used)",
    "56086-2": "waist circumference PhenX protocol (8280-0 is used)",
    "98139-9": "ORAI score (not used)",
    "98146-4": "OST score (not used)",
    "98133-2": "OSIRIS panel (not used)",
    "40556-3": "context: oestrogen receptor status",
    "40557-1": "context: progesterone receptor status",
    "16112-5": "context: oestrogen receptor status",
    "16113-3": "context: progesterone receptor status",
    "85337-4": "context: oestrogen receptor status",
    "85339-0": "context: progesterone receptor status",
    "18474-7": "context: HER2 status",
    "48676-1": "context: HER2 status",
    "85318-4": "context: HER2 status",
    "85319-2": "context: HER2 status",
}

# --------------------------------------------------------------------------- RxNorm and ATC


@dataclass(frozen=True, slots=True)
class DrugCode:
    drug: Drug
    strength_mg: float | None = None  # per tablet / syringe / bag, for SCD codes only


_DRUG_PRODUCTS: dict[str, DrugCode] = {
    # anastrozole: SCD, "Oral Product" dose-form group, brand (Arimidex)
    "199224": DrugCode(Drug.ANASTROZOLE, 1.0),
    "1157702": DrugCode(Drug.ANASTROZOLE),
    "262485": DrugCode(Drug.ANASTROZOLE),
    # letrozole: SCD, dose-form group, brand (Femara), letrozole/ribociclib co-packs (VSAC)
    "200064": DrugCode(Drug.LETROZOLE, 2.5),
    "1163195": DrugCode(Drug.LETROZOLE),
    "203769": DrugCode(Drug.LETROZOLE),
    "1923053": DrugCode(Drug.LETROZOLE),
    "1923055": DrugCode(Drug.LETROZOLE),
    "1923057": DrugCode(Drug.LETROZOLE),
    # exemestane: SCD, dose-form group, brand (Aromasin)
    "310261": DrugCode(Drug.EXEMESTANE, 25.0),
    "1163788": DrugCode(Drug.EXEMESTANE),
    "262105": DrugCode(Drug.EXEMESTANE),
    # tamoxifen: SCD (Synthea), dose-form group (mCODE TrialMatching)
    "198240": DrugCode(Drug.TAMOXIFEN, 10.0),
    "1164214": DrugCode(Drug.TAMOXIFEN),
    # alendronate: SCD (Synthea), brand SBD (older Synthea)
    "904419": DrugCode(Drug.ALENDRONATE, 10.0),
    "904420": DrugCode(Drug.ALENDRONATE, 10.0),
    # zoledronic acid: injectable product (mCODE), 100 mL 0.04 mg/mL bag = 4 mg (Synthea)
    "1156253": DrugCode(Drug.ZOLEDRONIC_ACID),
    "1114085": DrugCode(Drug.ZOLEDRONIC_ACID, 4.0),
    # denosumab: 1 mL 60 mg/mL prefilled syringe (Prolia)
    "993452": DrugCode(Drug.DENOSUMAB, 60.0),
}

# VSAC Glucocorticoids (oral only), 2.16.840.1.113883.3.464.1003.196.12.1266 (CMS249 bundle).
GLUCOCORTICOID_RXNORM = _words(
    """
    1005830 1013114 1085728 1303125 1303132 1303135 1869595 1943550 197577 197579 197580 197581
    197582 197583 197782 197783 197787 197969 197971 197973 198142 198144 198145 198146 198148
    205301 2121587 2261802 2387355 2399644 2399652 2399656 2399659 249066 259966 283077 309684
    309686 312614 312615 312617 315187 328161 343033 429199 643123 643125 643127 702306 759481
    759697 762675 763179 763181 763183 763185 794979 828248 846192
    """
)

RXNORM_DRUGS: dict[str, DrugCode] = {
    **{code: DrugCode(drug) for code, drug in RXNORM_INGREDIENT.items()},
    **_DRUG_PRODUCTS,
    **{code: DrugCode(Drug.GLUCOCORTICOID) for code in GLUCOCORTICOID_RXNORM},
}
ATC_CODES: dict[str, DrugCode] = {code: DrugCode(drug) for code, drug in ATC_DRUGS.items()}

# GnRH agonists: ovarian function suppression in women (docs/rules.md A11: OFS → OUT_OF_SCOPE).
OFS_RXNORM = frozenset({"1163443"})  # leuprolide Injectable Product (mCODE TrialMatching)
OFS_ATC = frozenset({"L02AE02", "L02AE03", "L02AE04"})  # leuprorelin, goserelin, triptorelin

# Known drugs that carry no fact here: ignored with this label, never listed as unknown.
DRUG_IGNORED_RXNORM: dict[str, str] = {
    "727762": "fulvestrant",
    "1156671": "fulvestrant",
    "1601377": "palbociclib",
    "1873980": "ribociclib",
    "1946827": "abemaciclib",
    "1946828": "abemaciclib",
    "2169297": "alpelisib",
    "1158877": "capecitabine",
    "1156710": "gemcitabine",
    "583214": "paclitaxel",
    "56946": "paclitaxel",
    "1736854": "cisplatin",
    "1790099": "doxorubicin",
    "3639": "doxorubicin",
    "3002": "cyclophosphamide",
    "2119714": "trastuzumab",
}
DRUG_IGNORED_ATC: dict[str, str] = {"L02BA03": "fulvestrant"}


# --------------------------------------------------------------------------- conditions and procedures

FRACTURE = "fracture"
BONE_METASTASIS = "bone_metastasis"
CONTEXT = "context"
NOTE = "note"
MENOPAUSE = "menopause"
IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Concept:
    kind: str
    label: str
    site: FractureSite | None = None
    mechanism: Mechanism | None = None
    note: NoteKind | None = None
    site_coded: bool = True  # False: a fracture code that names no site (e.g. 443165006)


def _fx(site: FractureSite, mechanism: Mechanism, label: str, *, site_coded: bool = True) -> Concept:
    return Concept(FRACTURE, label, site, mechanism, site_coded=site_coded)


_H, _V, _P, _F, _U, _O = (
    FractureSite.HIP,
    FractureSite.VERTEBRA,
    FractureSite.PELVIS,
    FractureSite.DISTAL_FOREARM,
    FractureSite.PROXIMAL_HUMERUS,
    FractureSite.OTHER,
)
_FRAG, _UNK = Mechanism.FRAGILITY, Mechanism.UNKNOWN


def _many(codes: str, concept: Concept) -> dict[str, Concept]:
    return {c: concept for c in codes.split()}


SNOMED_CONCEPTS: dict[str, Concept] = {
    # Osteoporotic (fragility) fractures, VSAC OsteoporosisWith/WithoutCurrentFracture. A femur is
    # read as hip and a humerus as proximal humerus, as `_M_SITE` reads ICD-10 M80.05-/M80.02-.
    **_many(
        "443165006 203444008 203445009 203446005 203447001 203448006 203453001 11314841000119105",
        _fx(_O, _FRAG, "osteoporotic fracture, site not coded", site_coded=False),
    ),
    **_many(
        "203450003 203451004 203452006 240198002 311806008 311890007 311891006 11311361000119103"
        " 11311441000119109 11311521000119104 11311601000119109 11311801000119105",
        _fx(_V, _FRAG, "osteoporotic vertebral fracture"),
    ),
    **_many("11311641000119106 11311841000119107", _fx(_P, _FRAG, "osteoporotic sacral fracture")),
    **_many("431031001 704334005 704287008 704330001 704291003", _fx(_H, _FRAG, "osteoporotic hip/femur fracture")),
    **_many("704335006 704286004", _fx(_U, _FRAG, "osteoporotic humerus fracture")),
    **_many("704336007 704339000 704285000 704282002", _fx(_F, _FRAG, "osteoporotic forearm fracture")),
    **_many(
        "704328003 704293000 704329006 704292005 704331002 704290002 704332009 704289006 704333004 704288003"
        " 704337003 704284001 704338008 704283007 11874341000119106 11874381000119101",
        _fx(_O, _FRAG, "osteoporotic fracture, other site"),
    ),
    "42942008": _fx(_V, _FRAG, "compression fracture of vertebral column"),  # A10
    # Fractures coded by site only: mechanism unknown unless stated (A10).
    "5913000": _fx(_H, _UNK, "fracture of neck of femur"),
    "359817006": _fx(_H, _UNK, "closed fracture of hip"),
    "77493009": _fx(_P, _UNK, "fracture of pelvis"),
    "263199001": _fx(_F, _UNK, "fracture of distal end of radius"),
    "65966004": _fx(_F, _UNK, "fracture of forearm"),
    "263102004": _fx(_F, _UNK, "fracture subluxation of wrist"),
    "16114001": _fx(_O, _UNK, "fracture of ankle"),
    "58150001": _fx(_O, _UNK, "fracture of clavicle"),
    "33737001": _fx(_O, _UNK, "fracture of rib"),
    "125605004": _fx(_O, _UNK, "fracture of bone"),
    # Bone metastasis (SCOPE: leaves the pathway).
    "94222008": Concept(BONE_METASTASIS, "secondary malignant neoplasm of bone"),
    # Context: recognised, no fact type.
    "254837009": Concept(CONTEXT, "context: breast cancer"),
    "408643008": Concept(CONTEXT, "context: breast cancer"),
    **_many(
        "64859006 102447009 109346000 14651005 1515008 18040001 203429007 203433000 203434006 203435007 203436008"
        " 203437004 203438009 203657009 240155001 240157009 240158004 240159007 240161003 240162005 240164006"
        " 268028001 276661002 281387004 309745002 32369003 3345002 390833005 53174001 699528002 703264005"
        " 735617003 735618008 739301006 897308007",
        Concept(CONTEXT, "context: osteoporosis"),
    ),
    **_many(
        "276703007 312894000 37605006 40308000 735613004 735614005 735615006 735616007 78441005",
        Concept(CONTEXT, "context: osteopenia"),
    ),
    # Risk notes.
    **_many(
        "445501000124107 391096007 416072008 445121000124105",
        Concept(NOTE, "family history of hip fracture", note=NoteKind.FAMILY_HIP_FRACTURE),
    ),
    # Menopause evidence: premature menopause, bilateral oophorectomy (VSAC).
    **_many(
        "373717006 29529008 29827000 441820006 76876009 86477000 609293001 609294007 609295008 609296009",
        Concept(MENOPAUSE, "menopause (premature or bilateral oophorectomy)"),
    ),
    # Known and not used.
    "312681000": Concept(IGNORED, "bone density scan procedure (results come as Observations)"),
    "260413007": Concept(IGNORED, "none"),
}
SECONDARY_MALIGNANCY_SNOMED = "128462008"  # mCODE secondary cancer condition; the site is in bodySite
BONE_STRUCTURE_SNOMED = frozenset({"272673000"})

_ICD_SUBSEQUENT = set("DEFGHJKMNPQRS")  # ICD-10-CM 7th character: not an initial encounter
_M_SITE: dict[str, FractureSite] = {"2": _U, "3": _F, "5": _H, "8": _V, "B": _P}
_S_PELVIS = {f"S32{i}" for i in range(1, 9)}


def icd_concept(code: str) -> Concept | None:
    """ICD-10 and ICD-10-CM by prefix; None when the code is not one we know."""
    c = code.strip().upper().replace(".", "")
    if not c:
        return None
    if c.startswith("C795"):
        return Concept(BONE_METASTASIS, "secondary malignant neoplasm of bone")
    if c.startswith(("C50", "Z853")):
        return Concept(CONTEXT, "context: breast cancer")
    if c.startswith("Z170"):
        return Concept(CONTEXT, "context: oestrogen receptor positive")
    if c.startswith("M81"):
        return Concept(CONTEXT, "context: osteoporosis")
    if c.startswith("M858"):
        return Concept(CONTEXT, "context: osteopenia")
    if c.startswith("E2831"):
        return Concept(MENOPAUSE, "premature menopause")
    if c.startswith("Z87310"):
        return Concept(IGNORED, "history of osteoporotic fracture (no fracture date)")
    fracture = _icd_fracture(c)
    if fracture is not None and len(c) == 7 and c[6] in _ICD_SUBSEQUENT:
        return Concept(IGNORED, "fracture code for a subsequent encounter or sequela, not a new fracture")
    return fracture


def _icd_fracture(c: str) -> Concept | None:
    if c.startswith("M8475"):
        return _fx(_O, Mechanism.ATYPICAL, "atypical femoral fracture")
    if c.startswith("M845"):
        return _fx(_O, Mechanism.PATHOLOGICAL, "pathological fracture in neoplastic disease")
    if c.startswith("M844"):
        return _fx(_O, _UNK, "pathological fracture, not elsewhere classified")
    if c.startswith("M80"):
        if len(c) <= 4 or c[4] in "09":
            return _fx(_O, _FRAG, "osteoporosis with current fracture, site not coded", site_coded=False)
        return _fx(_M_SITE.get(c[4], _O), _FRAG, "osteoporosis with current fracture")
    if c.startswith("M485"):
        return _fx(_V, _UNK, "collapsed vertebra")
    if re.match(r"S\d2", c):
        if c.startswith(("S720", "S721", "S722")):
            return _fx(_H, _UNK, "hip fracture")
        if c.startswith(("S220", "S320")):
            return _fx(_V, _UNK, "vertebral fracture")
        if c[:4] in _S_PELVIS:
            return _fx(_P, _UNK, "pelvic fracture")
        if c.startswith("S422"):
            return _fx(_U, _UNK, "proximal humerus fracture")
        if c.startswith(("S525", "S526")):
            return _fx(_F, _UNK, "distal forearm fracture")
        return _fx(_O, _UNK, "fracture")
    if c.startswith("T08"):
        return _fx(_V, _UNK, "fracture of spine, level unspecified")
    if c.startswith(("T02", "T10", "T12", "T142")):
        return _fx(_O, _UNK, "fracture")
    return None


def pcs_concept(code: str) -> Concept | None:
    """ICD-10-PCS: resection of both ovaries (VSAC BilateralOophorectomy)."""
    if code.strip().upper().startswith("0UT2"):
        return Concept(MENOPAUSE, "bilateral oophorectomy")
    return None


# External-cause codes (ICD-10 chapter XX) read as a fracture mechanism when a fracture Condition
# carries them (in code, evidence or the condition-dueTo extension): falls from standing height
# or less are low-energy (A10); falls from a height and transport accidents are high-energy.
_LOW_ENERGY_FALLS = {"W00", "W01", "W03", "W04", "W05", "W06", "W07", "W08", "W18", "W19"}
_HIGH_ENERGY_FALLS = {"W11", "W12", "W13", "W14", "W15", "W16", "W17"}


def mechanism_from_external_cause(code: str) -> Mechanism | None:
    c = code.strip().upper().replace(".", "")[:3]
    if c in _LOW_ENERGY_FALLS:
        return Mechanism.FRAGILITY
    if c in _HIGH_ENERGY_FALLS or re.fullmatch(r"V\d\d", c):
        return Mechanism.TRAUMA
    return None


MECHANISM_EXTENSION = "urn:bonemon:fracture-mechanism"  # valueCode: a Mechanism value (our own export)

# bonemon's own export (monitor.export.fhir): local codes and extensions for what has no standard code.
NOTE_SYSTEM = "urn:bonemon:note-kind"  # Observation/Condition code or value: a NoteKind; note[0].text = its text
DXA_SITE_SYSTEM = "urn:bonemon:dxa-site"  # Observation.bodySite coding: the DxaSite (wins over the text)
DXA_SCORE_SYSTEM = "urn:bonemon:dxa-score"  # component code t|z|bmd of a site LOINC has no code for
DXA_VALID_EXTENSION = "urn:bonemon:dxa-valid"  # valueBoolean false: the ROI was judged invalid
SCANNER_SYSTEM = "urn:bonemon:scanner"  # Observation.device.identifier: the scanner id
MARKER_SYSTEM = "urn:bonemon:marker"  # code: a MarkerAnalyte (NTX has no verified LOINC)
DRUG_SYSTEM = "urn:bonemon:drug"  # code: a Drug (oestrogen, glucocorticoid have no ingredient code)
PLANNED_START_EXTENSION = "urn:bonemon:planned-start"  # MedicationStatement: valueDate of the plan
GENANT_EXTENSION = "urn:bonemon:genant-grade"  # Condition: valueInteger 1..3
MENOPAUSE_EXTENSION = "urn:bonemon:menopause"  # Patient: valueCode post|pre
CLINIC_EXTENSION = "urn:bonemon:clinic"  # Patient: valueString
FRAX_WITH_BMD = "with-bmd"  # component code in [fhir] frax_system: valueBoolean
# ATC groups of the drug classes bonemon tracks without an ingredient.
ATC_CLASS_PREFIXES = (("G03C", Drug.OESTROGEN), ("H02AB", Drug.GLUCOCORTICOID))


# --------------------------------------------------------------------------- resource types (R4 4.0.1 and R4B)

R4_RESOURCE_TYPES = _words(
    """
    Account ActivityDefinition AdministrableProductDefinition AdverseEvent AllergyIntolerance
    Appointment AppointmentResponse AuditEvent Basic Binary BiologicallyDerivedProduct BodyStructure
    Bundle CapabilityStatement CarePlan CareTeam CatalogEntry ChargeItem ChargeItemDefinition
    Citation Claim ClaimResponse ClinicalImpression ClinicalUseDefinition CodeSystem Communication
    CommunicationRequest CompartmentDefinition Composition ConceptMap Condition Consent Contract
    Coverage CoverageEligibilityRequest CoverageEligibilityResponse DetectedIssue Device
    DeviceDefinition DeviceMetric DeviceRequest DeviceUseStatement DiagnosticReport DocumentManifest
    DocumentReference EffectEvidenceSynthesis Encounter Endpoint EnrollmentRequest
    EnrollmentResponse EpisodeOfCare EventDefinition Evidence EvidenceReport EvidenceVariable
    ExampleScenario ExplanationOfBenefit FamilyMemberHistory Flag Goal GraphDefinition Group
    GuidanceResponse HealthcareService ImagingStudy Immunization ImmunizationEvaluation
    ImmunizationRecommendation ImplementationGuide Ingredient InsurancePlan Invoice Library Linkage
    List Location ManufacturedItemDefinition Measure MeasureReport Media Medication
    MedicationAdministration MedicationDispense MedicationKnowledge MedicationRequest
    MedicationStatement MedicinalProduct MedicinalProductAuthorization
    MedicinalProductContraindication MedicinalProductDefinition MedicinalProductIndication
    MedicinalProductIngredient MedicinalProductInteraction MedicinalProductManufactured
    MedicinalProductPackaged MedicinalProductPharmaceutical MedicinalProductUndesirableEffect
    MessageDefinition MessageHeader MolecularSequence NamingSystem NutritionOrder NutritionProduct
    Observation ObservationDefinition OperationDefinition OperationOutcome Organization
    OrganizationAffiliation PackagedProductDefinition Parameters Patient PaymentNotice
    PaymentReconciliation Person PlanDefinition Practitioner PractitionerRole Procedure Provenance
    Questionnaire QuestionnaireResponse RegulatedAuthorization RelatedPerson RequestGroup
    ResearchDefinition ResearchElementDefinition ResearchStudy ResearchSubject RiskAssessment
    RiskEvidenceSynthesis Schedule SearchParameter ServiceRequest Slot Specimen SpecimenDefinition
    StructureDefinition StructureMap Subscription SubscriptionStatus SubscriptionTopic Substance
    SubstanceDefinition SubstanceNucleicAcid SubstancePolymer SubstanceProtein
    SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification SupplyDelivery
    SupplyRequest Task TerminologyCapabilities TestReport TestScript ValueSet VerificationResult
    VisionPrescription
    """
)
