"""One patient → one FHIR R4 transaction Bundle (`bonemon export fhir`): her record, her plan, her alerts.

Pure: PatientFacts + the Assessment and Plan as of a date (+ what staff did to the stored tasks) in,
a JSON-ready dict out; no database, no clock. The importer (monitor.intake.fhir.reader) reads the facts
back: every code written here is one it maps, or a bonemon local code (`urn:bonemon:...`) that it
lists as unknown and ignores rather than guesses.

Shape (README "Interoperability" has the table):

- Bundle.type `transaction`; every entry is `PUT Type/id`, so loading the same export into a FHIR
  server twice updates the resources instead of duplicating them. fullUrl is `urn:uuid:` (a UUIDv5
  of Type/id) and references inside the Bundle use it.
- Resource ids are deterministic and database-independent: a tag and a SHA-1 of clinic, MRN and
  the fact's natural key (DXA: date, site, side; lab: date, analyte; task: rule, anchor; ...), with
  an ordinal when two facts share one. The same facts export byte for byte the same; a corrected
  value keeps its id; nothing depends on row ids except the Task's `urn:bonemon:task-id` identifier.
- Patient; the facts as Observation (DXA ROI with T/Z/BMD components, marker, lab, vitals, FRAX,
  notes), Condition (fracture, bone metastasis), MedicationStatement (course or plan),
  MedicationAdministration / MedicationDispense (dose; a dispense when it has a days supply);
  one CarePlan (tier, reasons, flags, valid_until); per task a ServiceRequest (what is due, code,
  target date) and a Task (businessStatus = bonemon status, restriction.period = earliest..latest,
  focus → the ServiceRequest); per alert a Flag (code, severity, since).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from monitor.app.documents import StoredTaskLike, task_document
from monitor.core.domain import (
    Assessment,
    Dose,
    Drug,
    DxaRoi,
    DxaSite,
    Fracture,
    FractureSite,
    Frax,
    Lab,
    LabAnalyte,
    Marker,
    MarkerAnalyte,
    Note,
    NoteKind,
    PatientFacts,
    Plan,
    Route,
    Severity,
    Side,
    Task,
    TaskKind,
    TherapyCourse,
    Vitals,
)
from monitor.core.vocab import ATC, RXNORM_INGREDIENT

# --------------------------------------------------------------------------- code systems

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC_SYSTEM = "http://www.whocc.no/atc"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
UCUM = "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
FLAG_PRIORITY_EXT = "http://hl7.org/fhir/StructureDefinition/flag-priority"
FLAG_PRIORITY = "http://hl7.org/fhir/flag-priority-code"

# bonemon's local code systems and extensions (no standard code exists, SPEC §10.2).
MRN_SYSTEM = "urn:bonemon:mrn"  # Patient.identifier system when [fhir] mrn_system is empty
NOTE_SYSTEM = "urn:bonemon:note-kind"  # a Note: code = NoteKind value
DXA_SITE_SYSTEM = "urn:bonemon:dxa-site"  # Observation.bodySite: code = DxaSite value
DXA_SCORE_SYSTEM = "urn:bonemon:dxa-score"  # component code t|z|bmd where LOINC has none for the site
DXA_VALID_EXT = "urn:bonemon:dxa-valid"  # valueBoolean false: the ROI was judged invalid
SCANNER_SYSTEM = "urn:bonemon:scanner"  # Observation.device.identifier: the scanner id
MARKER_SYSTEM = "urn:bonemon:marker"  # code = MarkerAnalyte value (NTX: no verified LOINC)
DRUG_SYSTEM = "urn:bonemon:drug"  # code = Drug value (oestrogen, glucocorticoid: a class, no ingredient)
MECHANISM_EXT = "urn:bonemon:fracture-mechanism"  # valueCode: Mechanism (read by the importer)
GENANT_EXT = "urn:bonemon:genant-grade"  # valueInteger 1..3
PLANNED_START_EXT = "urn:bonemon:planned-start"  # MedicationStatement: valueDate the course was planned for
MENOPAUSE_EXT = "urn:bonemon:menopause"  # Patient: valueCode post|pre
CLINIC_EXT = "urn:bonemon:clinic"  # Patient: valueString
FRAX_WITH_BMD = "with-bmd"  # component code in the [fhir] frax_system, valueBoolean
TASK_KIND_SYSTEM = "urn:bonemon:task-kind"  # code = TaskKind value
RULE_SYSTEM = "urn:bonemon:rule"  # code = SPEC rule id (D3, N1, ...)
TASK_STATUS_SYSTEM = "urn:bonemon:task-status"  # businessStatus: upcoming|due|overdue|done|done_late|snoozed
TASK_KEY_SYSTEM = "urn:bonemon:task"  # Task.identifier: rule@anchor (the task's identity across replans)
TASK_ID_SYSTEM = "urn:bonemon:task-id"  # Task.identifier: the stored task id (`bonemon task done ID`)
ALERT_SYSTEM = "urn:bonemon:alert"  # Flag.code: ALERT-... code
SEVERITY_EXT = "urn:bonemon:alert-severity"  # Flag: valueCode block|critical|high|warn
PLAN_EXT = "urn:bonemon:plan"  # CarePlan: complex extension (tier, provisional, reason, flag, ...)

_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:bonemon")


@dataclass(frozen=True, slots=True)
class ExportOptions:
    mrn_system: str = ""  # [fhir] mrn_system; empty → urn:bonemon:mrn
    frax_system: str = "urn:bonemon:frax"  # [fhir] frax_system


# --------------------------------------------------------------------------- small builders


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


def _qty(value: float | int | Decimal, unit: str, code: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"value": _num(value), "unit": unit}
    if code is not None:
        out.update(system=UCUM, code=code)
    return out


def _label(value: str) -> str:
    return value.replace("_", " ").capitalize()


# --------------------------------------------------------------------------- codes of the facts (SPEC §10)

# DXA: region → (T, Z, BMD) LOINC codes by side (none, right, left); SPEC §10.1.
_DXA_CODES: dict[str, dict[str, tuple[str, str, str] | tuple[str | None, ...]]] = {
    "spine": {"t": ("38267-1",) * 3, "z": ("85394-5",) * 3, "bmd": ("24966-4",) * 3},
    "femur": {"t": ("38263-0", "80947-5", "80948-3"), "z": ("80934-3", "80939-2", "80940-0"),
              "bmd": ("24701-5", "80953-3", "80954-1")},
    "hip": {"t": ("38264-8", "80945-9", "80946-7"), "z": ("80933-5", "80937-6", "80938-4"),
            "bmd": ("38261-4", "46279-6", "46278-8")},
    "radius": {"t": ("38265-5", "80943-4", "80944-2"), "z": ("80932-7", "80935-0", "80936-8"),
               "bmd": ("24890-6", "80951-7", "80952-5")},
    "calcaneus": {"t": ("38266-3",) * 3, "z": (None,) * 3, "bmd": ("38262-2",) * 3},
    # SPEC A1b: a T-score of no identifiable region is sent as the site-less radius code (as Synthea
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
SMOKING_STATUS_LOINC = "72166-2"
SMOKER_SNOMED = "77176002"
BONE_METASTASIS_SNOMED = "94222008"
BONE_STRUCTURE_SNOMED = "272673000"

# Fracture site → the code the importer maps to that site (SNOMED where SPEC §10.4 has one, else ICD-10).
FRACTURE_CODES: dict[FractureSite, tuple[str, str, str]] = {
    FractureSite.HIP: (SNOMED, "5913000", "Fracture of neck of femur"),
    FractureSite.VERTEBRA: (SNOMED, "42942008", "Compression fracture of vertebral column"),
    FractureSite.PROXIMAL_HUMERUS: (ICD10, "S42.2", "Fracture of upper end of humerus"),
    FractureSite.PELVIS: (SNOMED, "77493009", "Fracture of pelvis"),
    FractureSite.DISTAL_FOREARM: (SNOMED, "263199001", "Fracture of distal end of radius"),
    FractureSite.OTHER: (SNOMED, "125605004", "Fracture of bone"),
}

ROUTE_SNOMED = {Route.ORAL: ("26643006", "Oral route"), Route.IV: ("47625008", "Intravenous route"),
                Route.SC: ("34206005", "Subcutaneous route")}
_INGREDIENT = {drug: code for code, drug in RXNORM_INGREDIENT.items()}
_ATC: dict[Drug, str] = {}
for _code, _drug in ATC.items():
    _ATC.setdefault(_drug, _code)
# ATC groups for the drug classes bonemon tracks without an ingredient (monitor.core.vocab has none).
_ATC_CLASS = {Drug.OESTROGEN: ("G03C", "Estrogens"), Drug.GLUCOCORTICOID: ("H02AB", "Glucocorticoids")}

TASK_LABELS: dict[TaskKind, str] = {
    TaskKind.DXA: "DXA",
    TaskKind.BTM: "Bone turnover markers",
    TaskKind.RISK_REVIEW: "Risk review",
    TaskKind.DENOSUMAB_DOSE: "Denosumab dose",
    TaskKind.BP_DOSE: "Bisphosphonate dose",
    TaskKind.SEQUENTIAL_BP: "Sequential bisphosphonate",
    TaskKind.BP_HOLIDAY_REVIEW: "Bisphosphonate holiday review",
    TaskKind.ENDOCRINE_REVIEW: "Endocrine therapy review",
    TaskKind.ADHERENCE_SWITCH: "Adherence review",
    TaskKind.LIFESTYLE: "Lifestyle counselling",
    TaskKind.TRANSITION_PLAN: "Transition plan",
}
BONE_DENSITY_SCAN = ("312681000", "Bone density scan")  # SNOMED procedure (the DXA ServiceRequest)

# bonemon task status → FHIR Task.status (the bonemon status itself is businessStatus).
TASK_STATUS = {"upcoming": "requested", "due": "ready", "overdue": "ready", "snoozed": "on-hold",
               "done": "completed", "done_late": "completed"}
REQUEST_STATUS = {"snoozed": "on-hold", "done": "completed", "done_late": "completed"}
FLAG_PRIORITY_CODES = {Severity.BLOCK: ("PH", "High priority"), Severity.CRITICAL: ("PH", "High priority"),
                       Severity.HIGH: ("PM", "Medium priority"), Severity.WARN: ("PL", "Low priority")}


# --------------------------------------------------------------------------- identity


def full_url(rtype: str, rid: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{rtype}/{rid}')}"


class _Ids:
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


def _content_key(fact: Any) -> tuple:
    """Every compared field of a fact, as text: orders facts that share a natural key the same way each time."""
    return tuple(str(getattr(fact, f.name)) for f in fields(fact) if f.compare)


# --------------------------------------------------------------------------- the Bundle


def patient_bundle(
    facts: PatientFacts,
    assessment: Assessment,
    plan: Plan,
    *,
    as_of: date,
    stored: Mapping[tuple[str, date], StoredTaskLike] | None = None,
    options: ExportOptions | None = None,
) -> dict[str, Any]:
    """The patient's FHIR R4 transaction Bundle as of `as_of` (a JSON-ready dict)."""
    return _Builder(facts, options or ExportOptions()).bundle(assessment, plan, as_of, stored or {})


class _Builder:
    def __init__(self, facts: PatientFacts, options: ExportOptions):
        self.facts = facts
        self.options = options
        p = facts.patient
        self.ids = _Ids(p.clinic, p.mrn)
        self.entries: list[dict[str, Any]] = []
        self.patient_id = self.ids.make("pat")
        self.patient_ref = {"reference": full_url("Patient", self.patient_id)}

    def add(self, resource: dict[str, Any]) -> dict[str, str]:
        """Append a resource as a PUT entry; returns a reference to it."""
        rtype, rid = resource["resourceType"], resource["id"]
        url = full_url(rtype, rid)
        self.entries.append({"fullUrl": url, "resource": resource,
                             "request": {"method": "PUT", "url": f"{rtype}/{rid}"}})
        return {"reference": url}

    def bundle(self, assessment: Assessment, plan: Plan, as_of: date,
               stored: Mapping[tuple[str, date], StoredTaskLike]) -> dict[str, Any]:
        self.entries.append({
            "fullUrl": self.patient_ref["reference"],
            "resource": self.patient(),
            "request": {"method": "PUT", "url": f"Patient/{self.patient_id}"},
        })
        f = self.facts
        self._each(f.courses, lambda c: (c.drug.value, c.planned_start or c.start), self.course)
        self._each(f.doses, lambda d: (d.drug.value, d.date), self.dose)
        self._each(f.dxa, lambda x: (x.date, x.site.value, x.side.value), self.dxa)
        self._each(f.markers, lambda m: (m.date, m.analyte.value), self.marker)
        self._each(f.fractures, lambda x: (x.date, x.site.value), self.fracture)
        self._each(f.frax, lambda x: (x.date,), self.frax)
        self._each(f.labs, lambda x: (x.date, x.analyte.value), self.lab)
        self._each(f.vitals, lambda v: (v.date,), self.vitals)
        self._each(f.notes, lambda n: (n.kind.value, n.date), self.note)
        self.care_plan(assessment, plan, as_of, stored)
        for alert in plan.alerts:
            self.flag(alert)
        digest = hashlib.sha1(f"{self.ids.base}\x1f{as_of}".encode()).hexdigest()[:20]
        return {"resourceType": "Bundle", "id": f"bundle-{digest}", "type": "transaction", "entry": self.entries}

    def _each(self, items: Iterable[Any], key: Callable[[Any], tuple], build: Callable[[Any, tuple], None]) -> None:
        """Facts in a stable order (natural key, then content), each built with its natural key."""
        for fact in sorted(items, key=lambda x: (tuple(str(k) for k in key(x)), _content_key(x))):
            build(fact, key(fact))

    # ------------------------------------------------------------------ patient

    def patient(self) -> dict[str, Any]:
        p = self.facts.patient
        extension = [{"url": CLINIC_EXT, "valueString": p.clinic}]
        if p.menopause.value != "unknown":
            extension.append({"url": MENOPAUSE_EXT, "valueCode": p.menopause.value})
        r: dict[str, Any] = {
            "resourceType": "Patient",
            "id": self.patient_id,
            "extension": extension,
            "identifier": [{
                "use": "usual",
                "type": concept(coding(V2_0203, "MR", "Medical record number")),
                "system": self.options.mrn_system or MRN_SYSTEM,
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
        return r

    def _obs(self, rid: str, category: str | None, code: dict[str, Any], day: date | None) -> dict[str, Any]:
        r: dict[str, Any] = {"resourceType": "Observation", "id": rid, "status": "final"}
        if category:
            r["category"] = [concept(coding(OBS_CATEGORY, category))]
        r["code"] = code
        r["subject"] = self.patient_ref
        if day is not None:
            r["effectiveDateTime"] = day.isoformat()
        return r

    # ------------------------------------------------------------------ medications

    def medication(self, drug: Drug) -> dict[str, Any]:
        codings = []
        if drug in _INGREDIENT:
            codings.append(coding(RXNORM, _INGREDIENT[drug], drug.value.replace("_", " ")))
        if drug in _ATC:
            codings.append(coding(ATC_SYSTEM, _ATC[drug]))
        elif drug in _ATC_CLASS:
            codings.append(coding(ATC_SYSTEM, *_ATC_CLASS[drug]))
        codings.append(coding(DRUG_SYSTEM, drug.value))
        return concept(*codings, text=_label(drug.value))

    @staticmethod
    def _dose_quantity(mg: float | None) -> dict[str, Any] | None:
        return _qty(mg, "mg", "mg") if mg is not None else None

    def course(self, c: TherapyCourse, key: tuple) -> None:
        rid = self.ids.make("crs", *key)
        if c.start is None:
            status = "intended" if c.stop is None else "not-taken"  # a plan; a cancelled plan
        else:
            status = "active" if c.stop is None else "completed"
        r: dict[str, Any] = {"resourceType": "MedicationStatement", "id": rid}
        if c.planned_start is not None:
            r["extension"] = [{"url": PLANNED_START_EXT, "valueDate": c.planned_start.isoformat()}]
        r["status"] = status
        if c.stop_reason:
            r["statusReason"] = [{"text": c.stop_reason}]
        r["medicationCodeableConcept"] = self.medication(c.drug)
        r["subject"] = self.patient_ref
        period = {"start": (c.start or c.planned_start).isoformat()}  # type: ignore[union-attr]
        if c.stop is not None:
            period["end"] = c.stop.isoformat()
        r["effectivePeriod"] = period
        dosage: dict[str, Any] = {}
        if c.interval_months is not None:
            dosage["timing"] = {"repeat": {"frequency": 1, "period": c.interval_months, "periodUnit": "mo"}}
        if c.dose_mg is not None:
            dosage["doseAndRate"] = [{"doseQuantity": self._dose_quantity(c.dose_mg)}]
        if dosage:
            r["dosage"] = [dosage]
        self.add(r)

    def dose(self, d: Dose, key: tuple) -> None:
        route = concept(coding(SNOMED, *ROUTE_SNOMED[d.route])) if d.route is not None else None
        # One administration is one dose: without a strength the quantity says so (mad-1 wants a dose).
        qty = self._dose_quantity(d.dose_mg) or {"value": 1, "unit": "dose", "system": UCUM, "code": "{dose}"}
        if d.days_supply is not None:
            rid = self.ids.make("dsp", *key)
            instruction: dict[str, Any] = {}
            if route is not None:
                instruction["route"] = route
            if d.dose_mg is not None:
                instruction["doseAndRate"] = [{"doseQuantity": qty}]
            r: dict[str, Any] = {
                "resourceType": "MedicationDispense", "id": rid, "status": "completed",
                "medicationCodeableConcept": self.medication(d.drug), "subject": self.patient_ref,
                "daysSupply": _qty(d.days_supply, "day", "d"), "whenHandedOver": d.date.isoformat(),
            }
            if instruction:
                r["dosageInstruction"] = [instruction]
        else:
            rid = self.ids.make("adm", *key)
            dosage: dict[str, Any] = {}
            if route is not None:
                dosage["route"] = route
            dosage["dose"] = qty
            r = {
                "resourceType": "MedicationAdministration", "id": rid, "status": "completed",
                "medicationCodeableConcept": self.medication(d.drug), "subject": self.patient_ref,
                "effectiveDateTime": d.date.isoformat(), "dosage": dosage,
            }
        self.add(r)

    # ------------------------------------------------------------------ observations

    def dxa(self, x: DxaRoi, key: tuple) -> None:
        region, snomed, text = _DXA_SITES[x.site]
        side_word = {Side.LEFT: "Left", Side.RIGHT: "Right"}.get(x.side)
        if x.site is DxaSite.LUMBAR_SPINE and x.vertebrae is not None:
            text = f"{text} L1-L{x.vertebrae}"  # the importer reads the count from the span (SPEC A1)
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
            components.append({"code": concept(code, text=f"DXA {unit}"), "valueQuantity": _qty(value, unit, ucum)})
        r = self._obs(self.ids.make("dxa", *key), "imaging",
                      concept(coding(LOINC, "83311-1", "Bone density quantitative measurement by DXA panel"),
                              text=f"DXA {_label(x.site.value).lower()}"), x.date)
        if not x.valid:
            r["extension"] = [{"url": DXA_VALID_EXT, "valueBoolean": False}]
        r["bodySite"] = body
        if x.scanner:
            r["device"] = {"identifier": {"system": SCANNER_SYSTEM, "value": x.scanner}, "display": x.scanner}
        r["component"] = components
        self.add(r)

    def _value_obs(self, rid: str, category: str, code: dict[str, Any], day: date, value: float,
                   unit: str) -> None:
        r = self._obs(rid, category, code, day)
        r["valueQuantity"] = _qty(value, unit, UCUM_CODES.get(unit))
        self.add(r)

    def marker(self, m: Marker, key: tuple) -> None:
        if m.analyte in MARKER_LOINC:
            code = concept(coding(LOINC, *MARKER_LOINC[m.analyte]), text=m.analyte.value.upper())
        else:  # NTX: no verified LOINC code (SPEC §10.2)
            code = concept(coding(MARKER_SYSTEM, m.analyte.value), text=m.analyte.value.upper())
        self._value_obs(self.ids.make("btm", *key), "laboratory", code, m.date, m.value, m.unit)

    def lab(self, x: Lab, key: tuple) -> None:
        code = concept(coding(LOINC, *LAB_LOINC[x.analyte]), text=_label(x.analyte.value))
        self._value_obs(self.ids.make("lab", *key), "laboratory", code, x.date, x.value, x.unit)

    def vitals(self, v: Vitals, key: tuple) -> None:
        for name, (loinc, display, unit, ucum) in VITALS_LOINC.items():
            value = getattr(v, name)
            if value is None:
                continue
            r = self._obs(self.ids.make("vit", *key, name), "vital-signs", concept(coding(LOINC, loinc, display),
                                                                                   text=display), v.date)
            r["valueQuantity"] = _qty(value, unit, ucum)
            self.add(r)

    def frax(self, x: Frax, key: tuple) -> None:
        system = self.options.frax_system
        r = self._obs(self.ids.make("frx", *key), "survey",
                      concept(coding(system, "frax"), text="FRAX 10-year fracture probability"), x.date)
        if x.model:
            r["method"] = {"text": x.model}
        components = []
        if x.mof is not None:
            components.append({"code": concept(coding(LOINC, FRAX_MOF_LOINC), coding(system, "mof"),
                                               text="FRAX major osteoporotic fracture"),
                               "valueQuantity": _qty(x.mof, "%", "%")})
        if x.hip is not None:
            components.append({"code": concept(coding(system, "hip"), text="FRAX hip fracture"),
                               "valueQuantity": _qty(x.hip, "%", "%")})
        if x.with_bmd is not None:
            components.append({"code": concept(coding(system, FRAX_WITH_BMD), text="FRAX computed with BMD"),
                               "valueBoolean": x.with_bmd})
        r["component"] = components
        self.add(r)

    # ------------------------------------------------------------------ conditions and notes

    def fracture(self, x: Fracture, key: tuple) -> None:
        extension = [{"url": MECHANISM_EXT, "valueCode": x.mechanism.value}]
        if x.genant_grade is not None:
            extension.append({"url": GENANT_EXT, "valueInteger": x.genant_grade})
        system, code, display = FRACTURE_CODES[x.site]
        self.add({
            "resourceType": "Condition", "id": self.ids.make("fx", *key), "extension": extension,
            "verificationStatus": concept(coding(CONDITION_VER, "confirmed")),
            "category": [concept(coding("http://terminology.hl7.org/CodeSystem/condition-category",
                                        "encounter-diagnosis"))],
            "code": concept(coding(system, code, display), text=f"Fracture: {_label(x.site.value).lower()}"
                            f" ({x.mechanism.value})"),
            "subject": self.patient_ref, "onsetDateTime": x.date.isoformat(),
        })

    def note(self, n: Note, key: tuple) -> None:
        local = coding(NOTE_SYSTEM, n.kind.value)
        label = _label(n.kind.value)
        annotation = [{"text": n.text}] if n.text else None
        if n.kind is NoteKind.BONE_METASTASIS:
            r: dict[str, Any] = {
                "resourceType": "Condition", "id": self.ids.make("note", *key),
                "verificationStatus": concept(coding(CONDITION_VER, "confirmed")),
                "code": concept(coding(SNOMED, BONE_METASTASIS_SNOMED, "Secondary malignant neoplasm of bone"),
                                local, text=label),
                "bodySite": [concept(coding(SNOMED, BONE_STRUCTURE_SNOMED, "Bone structure"))],
                "subject": self.patient_ref,
            }
            if n.date is not None:
                r["onsetDateTime"] = n.date.isoformat()
        elif n.kind is NoteKind.SMOKER and n.date is not None:
            r = self._obs(self.ids.make("note", *key), "social-history",
                          concept(coding(LOINC, SMOKING_STATUS_LOINC, "Tobacco smoking status"), text=label), n.date)
            r["valueCodeableConcept"] = concept(coding(SNOMED, SMOKER_SNOMED, "Smoker"), local)
        else:
            r = self._obs(self.ids.make("note", *key), None, concept(local, text=label), n.date)
        if annotation:
            r["note"] = annotation
        self.add(r)

    # ------------------------------------------------------------------ plan, tasks, alerts

    def care_plan(self, a: Assessment, plan: Plan, as_of: date,
                  stored: Mapping[tuple[str, date], StoredTaskLike]) -> None:
        cp_id = self.ids.make("cp")
        cp_ref = {"reference": full_url("CarePlan", cp_id)}
        flags = list(dict.fromkeys((*a.flags, *plan.flags)))
        parts: list[dict[str, Any]] = [{"url": "tier", "valueCode": a.tier.value},
                                       {"url": "provisional", "valueBoolean": a.provisional}]
        parts += [{"url": "reason", "valueCode": r} for r in a.reasons]
        parts += [{"url": "flag", "valueCode": f} for f in flags]
        parts.append({"url": "ai-status", "valueCode": a.ai_status.value})
        parts.append({"url": "bma-indicated", "valueBoolean": a.bma_indicated})
        parts += [{"url": "exit-reason", "valueCode": r} for r in a.exit_reasons]
        description = f"Tier {a.tier.value}" + (" (provisional)" if a.provisional else "")
        description += f", reasons {', '.join(a.reasons) or 'none'}; flags {', '.join(flags) or 'none'}"
        if not a.in_pathway:
            description += f"; out of the pathway: {', '.join(a.exit_reasons)}"
        activities = []
        task_entries = []
        for task in plan.tasks:
            doc = task_document(task, as_of, stored.get((task.rule, task.anchor)))
            task_entries.append((task, doc))
        for task, doc in sorted(task_entries, key=lambda td: (td[1]["target"], td[1]["kind"], td[1]["rule"])):
            activities.append({"reference": self.task(task, doc, cp_ref)})
        r: dict[str, Any] = {
            "resourceType": "CarePlan", "id": cp_id, "extension": [{"url": PLAN_EXT, "extension": parts}],
            "status": "active" if a.in_pathway else "revoked", "intent": "plan",
            "category": [concept(coding(TASK_KIND_SYSTEM, "bone-health-monitoring"),
                                 text="Bone-health monitoring (aromatase inhibitor)")],
            "title": "Bone-health monitoring plan", "description": description, "subject": self.patient_ref,
            "period": {"start": as_of.isoformat(), "end": plan.valid_until.isoformat()},
        }
        if activities:
            r["activity"] = activities
        # The CarePlan goes before its requests and tasks (they were appended while building it).
        first_task = len(self.entries) - 2 * len(activities)
        self.entries.insert(first_task, {"fullUrl": cp_ref["reference"], "resource": r,
                                         "request": {"method": "PUT", "url": f"CarePlan/{cp_id}"}})

    def task(self, task: Task, doc: dict[str, Any], cp_ref: dict[str, str]) -> dict[str, str]:
        status = doc["status"]
        label = TASK_LABELS.get(task.kind, _label(task.kind.value))
        kind = coding(TASK_KIND_SYSTEM, task.kind.value, label)
        codes = [kind]
        if task.kind is TaskKind.DXA:
            codes.append(coding(SNOMED, *BONE_DENSITY_SCAN))
        key_ident = {"system": TASK_KEY_SYSTEM, "value": task.key}
        sr: dict[str, Any] = {
            "resourceType": "ServiceRequest", "id": self.ids.make("sr", task.rule, task.anchor),
            "identifier": [key_ident], "basedOn": [cp_ref],
            "status": REQUEST_STATUS.get(status, "active"), "intent": "plan",
            "code": concept(*codes, text=label), "subject": self.patient_ref,
            "occurrenceDateTime": doc["target"],
        }
        if task.reason:
            sr["reasonCode"] = [{"text": task.reason}]
        sr_ref = self.add(sr)
        identifiers = [key_ident]
        if doc["id"] is not None:
            identifiers.append({"system": TASK_ID_SYSTEM, "value": str(doc["id"])})
        r: dict[str, Any] = {
            "resourceType": "Task", "id": self.ids.make("task", task.rule, task.anchor),
            "identifier": identifiers, "basedOn": [cp_ref],
            "status": TASK_STATUS[status],
            "businessStatus": concept(coding(TASK_STATUS_SYSTEM, status), text=status),
            "intent": "plan",
            "code": concept(kind, coding(RULE_SYSTEM, task.rule), text=f"{label} ({task.rule})"),
            "description": task.reason or label,
            "focus": sr_ref, "for": self.patient_ref,
        }
        if doc["done_on"]:
            r["executionPeriod"] = {"end": doc["done_on"]}
        if doc["snoozed_until"]:
            r["statusReason"] = {"text": f"snoozed until {doc['snoozed_until']}"}
        r["restriction"] = {"period": {"start": doc["earliest"], "end": doc["latest"]}}
        return self.add(r)

    def flag(self, alert) -> None:
        priority, display = FLAG_PRIORITY_CODES[alert.severity]
        self.add({
            "resourceType": "Flag", "id": self.ids.make("flag", alert.code, alert.since),
            "extension": [
                {"url": FLAG_PRIORITY_EXT, "valueCodeableConcept": concept(coding(FLAG_PRIORITY, priority, display))},
                {"url": SEVERITY_EXT, "valueCode": alert.severity.value},
            ],
            "status": "active",
            "category": [concept(coding(FLAG_CATEGORY, "clinical", "Clinical"))],
            "code": concept(coding(ALERT_SYSTEM, alert.code), text=alert.message),
            "subject": self.patient_ref, "period": {"start": alert.since.isoformat()},
        })
