"""FHIR import: how single resources map to facts (codes, units, sites, dates, references, patients)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor.core.domain import (
    Drug,
    DxaSite,
    FractureSite,
    LabAnalyte,
    MarkerAnalyte,
    Mechanism,
    NoteKind,
    PatientFacts,
    Route,
    Sex,
    Side,
)
from monitor.intake.fhir import read_fhir
from monitor.intake.fhir.reader import FhirImport
from monitor.settings import load_settings

TODAY = date(2026, 11, 25)
SETTINGS = load_settings()
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ATC = "http://www.whocc.no/atc"
SUBJECT = {"reference": "Patient/p1"}


def patient(**extra: Any) -> dict:
    return {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "birthDate": "1950-01-01",
        "identifier": [{"system": "urn:oid:1.2.3", "value": "MRN1"}],
        **extra,
    }


def coded(system: str, code: str, display: str = "") -> dict:
    return {"coding": [{"system": system, "code": code, **({"display": display} if display else {})}]}


def obs(
    code: str,
    value: Any = None,
    unit: str | None = None,
    *,
    rid: str = "o1",
    day: str = "2021-05-01",
    system: str = LOINC,
    **extra: Any,
) -> dict:
    r: dict = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": coded(system, code),
        "subject": SUBJECT,
        "effectiveDateTime": day,
    }
    if value is not None:
        r["valueQuantity"] = {"value": value, **({"unit": unit, "code": unit} if unit is not None else {})}
    r.update(extra)
    return r


def condition(system: str, code: str, *, rid: str = "c1", onset: str | None = "2022-03-04", **extra: Any) -> dict:
    r = {"resourceType": "Condition", "id": rid, "code": coded(system, code), "subject": SUBJECT, **extra}
    if onset:
        r["onsetDateTime"] = onset
    return r


def med(rtype: str, system: str, code: str, *, rid: str = "m1", **extra: Any) -> dict:
    return {
        "resourceType": rtype,
        "id": rid,
        "status": "active",
        "subject": SUBJECT,
        "medicationCodeableConcept": coded(system, code),
        **extra,
    }


def run(tmp_path: Path, *resources: dict, with_patient: bool = True, today: date = TODAY, **fhir: Any) -> FhirImport:
    entries = ([patient()] if with_patient else []) + list(resources)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": r} for i, r in enumerate(entries)],
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    settings = dataclasses.replace(SETTINGS.fhir, **fhir)
    return read_fhir([path], fhir=settings, policy=SETTINGS.policy, today=today)


def facts_of(imp: FhirImport) -> PatientFacts:
    assert len(imp.patients) == 1, [p.message for p in imp.files[0].problems]
    return imp.patients[0]


def errors(imp: FhirImport) -> list[str]:
    return [p.message for f in imp.files for p in f.problems if p.severity == "error"]


def warnings(imp: FhirImport) -> list[str]:
    return [p.message for f in imp.files for p in f.problems if p.severity == "warning"]


# --------------------------------------------------------------------------- DXA


def test_a_t_score_keeps_the_exact_decimal_written_in_the_json(tmp_path):
    (roi,) = facts_of(run(tmp_path, obs("38267-1", -1.05, "{T-score}"))).dxa
    assert roi.t_score == Decimal("-1.05") and str(roi.t_score) == "-1.05"
    assert (roi.site, roi.side, roi.source) == (DxaSite.LUMBAR_SPINE, Side.NONE, "fhir:Observation/o1")


@pytest.mark.parametrize(
    ("code", "body_site", "site", "side", "vertebrae"),
    [
        ("38267-1", {"text": "L2-L4"}, DxaSite.LUMBAR_SPINE, Side.NONE, 3),
        ("38267-1", {"text": "L3"}, DxaSite.SINGLE_VERTEBRA, Side.NONE, 1),
        ("38265-5", {"text": "Left 33% radius"}, DxaSite.RADIUS_33, Side.LEFT, None),
        ("38265-5", {"text": "ultradistal radius"}, DxaSite.ULTRADISTAL_RADIUS, Side.NONE, None),
        ("38265-5", None, DxaSite.UNSPECIFIED, Side.NONE, None),
        ("80944-2", None, DxaSite.UNSPECIFIED, Side.LEFT, None),
        ("38263-0", None, DxaSite.FEMORAL_NECK, Side.NONE, None),
        ("38263-0", {"text": "Right trochanter"}, DxaSite.TROCHANTER, Side.RIGHT, None),
        ("80945-9", None, DxaSite.TOTAL_HIP, Side.RIGHT, None),
        ("38264-8", coded(SNOMED, "29627003"), DxaSite.FEMORAL_NECK, Side.NONE, None),
        ("38263-0", coded(SNOMED, "71341001:272741003=7771000"), DxaSite.FEMORAL_NECK, Side.LEFT, None),
    ],
)
def test_the_roi_comes_from_the_loinc_code_and_the_body_site(tmp_path, code, body_site, site, side, vertebrae):
    extra = {"bodySite": body_site} if body_site else {}
    (roi,) = facts_of(run(tmp_path, obs(code, -2, "{T-score}", **extra))).dxa
    assert (roi.site, roi.side, roi.vertebrae) == (site, side, vertebrae)


def test_a_body_site_that_contradicts_the_loinc_side_or_region_is_rejected(tmp_path):
    imp = run(
        tmp_path,
        obs("80946-7", -2, "1", rid="a", bodySite={"text": "right total hip"}),
        obs("38267-1", -2, "1", rid="b", bodySite={"text": "femoral neck"}),
    )
    assert errors(imp) == [
        "bodySite: side right contradicts LOINC 80946-7 (left)",
        "bodySite: 'femoral neck' does not fit LOINC 38267-1 (spine)",
    ]


def test_a_t_score_in_a_bmd_unit_is_rejected_naming_the_unit(tmp_path):
    imp = run(tmp_path, obs("38267-1", -2, "g/cm2"))
    assert imp.files[0].rejected == 1
    assert errors(imp)[0].startswith("unit: 'g/cm2' is not allowed for a T-score")


def test_a_bmd_in_mg_per_cm2_is_converted_and_stands_alone_without_a_t_score(tmp_path):
    (roi,) = facts_of(run(tmp_path, obs("24966-4", 912, "mg/cm2"))).dxa
    assert (roi.bmd, roi.t_score, roi.site) == (pytest.approx(0.912), None, DxaSite.LUMBAR_SPINE)


def test_a_z_score_alone_is_ignored_with_the_reason(tmp_path):
    imp = run(tmp_path, obs("85394-5", -1, "{Z-score}"))
    assert facts_of(imp).dxa == ()
    assert imp.files[0].ignored_by == {"Observation 85394-5 (Z-score without a T-score or BMD of the same ROI)": 1}


def test_a_t_score_out_of_range_is_rejected_by_the_shared_validation(tmp_path):
    imp = run(tmp_path, obs("38267-1", -9.5, "{T-score}"))
    assert errors(imp) == ["t-score: -9.5 is not allowed; a score from -8 to 6"]


# --------------------------------------------------------------------------- markers, labs, vitals, FRAX


def test_ctx_in_ng_per_ml_is_normalised_to_ng_per_l(tmp_path):
    (marker,) = facts_of(run(tmp_path, obs("41171-0", 0.45, "ng/mL"))).markers
    assert (marker.analyte, marker.value, marker.unit) == (MarkerAnalyte.CTX, pytest.approx(450.0), "ng/L")


def test_vitamin_d_in_nmol_per_l_is_normalised_to_ng_per_ml(tmp_path):
    (lab,) = facts_of(run(tmp_path, obs("62292-8", 75, "nmol/L"))).labs
    assert (lab.analyte, lab.value, lab.unit) == (LabAnalyte.VITAMIN_D, pytest.approx(30.045), "ng/mL")


def test_a_lab_in_a_unit_that_does_not_fit_is_rejected_naming_the_unit(tmp_path):
    imp = run(tmp_path, obs("2160-0", 1, "mmol/L"))
    assert errors(imp)[0].startswith("unit: 'mmol/L' is not allowed; allowed for creatinine")


def test_a_censored_value_is_rejected(tmp_path):
    r = obs("62292-8", 5, "ng/mL")
    r["valueQuantity"]["comparator"] = "<"
    assert "a censored value is not imported" in errors(run(tmp_path, r))[0]


def test_weight_in_pounds_height_in_metres_and_bmi_of_one_day_are_one_vitals_fact(tmp_path):
    imp = run(
        tmp_path,
        obs("29463-7", 150, "[lb_av]", rid="w"),
        obs("8302-2", 1.62, "m", rid="h"),
        obs("39156-5", 26, "kg/m2", rid="b"),
        obs("8280-0", 85, "cm", rid="waist", day="2021-06-01"),
    )
    first, second = facts_of(imp).vitals
    assert (first.weight_kg, first.height_cm, first.bmi) == (pytest.approx(68.04, 0.01), pytest.approx(162.0), 26.0)
    assert (second.date, second.waist_cm) == (date(2021, 6, 1), 85.0)
    assert imp.files[0].imported == 5


def test_frax_hip_and_mof_with_the_local_code_system_are_one_frax(tmp_path):
    system = SETTINGS.fhir.frax_system
    imp = run(tmp_path, obs("hip", 3.5, "%", rid="h", system=system), obs("mof", 21, "%", rid="m", system=system))
    assert [(f.hip, f.mof) for f in facts_of(imp).frax] == [(3.5, 21.0)]


def test_a_frax_panel_carries_hip_and_mof_in_its_components(tmp_path):
    system = SETTINGS.fhir.frax_system
    panel = obs(
        "frax",
        system=system,
        component=[
            {"code": coded(system, "mof"), "valueQuantity": {"value": 12, "unit": "%"}},
            {"code": coded(system, "hip"), "valueQuantity": {"value": 2.1, "unit": "%"}},
        ],
    )
    assert [(f.hip, f.mof) for f in facts_of(run(tmp_path, panel)).frax] == [(2.1, 12.0)]


def test_a_current_smoker_status_is_a_smoker_note_and_a_never_smoker_is_ignored(tmp_path):
    smoker = obs("72166-2", valueCodeableConcept=coded(SNOMED, "449868002"), rid="s1")
    never = obs("72166-2", valueCodeableConcept=coded(SNOMED, "266919005"), rid="s2")
    imp = run(tmp_path, smoker, never)
    assert [(n.kind, n.date) for n in facts_of(imp).notes] == [(NoteKind.SMOKER, date(2021, 5, 1))]
    assert imp.files[0].ignored == 1


def test_an_unknown_observation_code_is_counted_and_listed_never_guessed(tmp_path):
    r = obs("8867-4", 70, "/min")
    r["code"]["coding"][0]["display"] = "Heart rate"
    report = run(tmp_path, r).files[0]
    assert report.ignored_by == {"Observation 8867-4": 1}
    assert report.unknown_codes == ["LOINC 8867-4 'Heart rate'"]


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(
    ("system", "code", "site", "mechanism"),
    [
        (ICD10CM, "M80.051A", FractureSite.HIP, Mechanism.FRAGILITY),
        (ICD10CM, "M80.08XA", FractureSite.VERTEBRA, Mechanism.FRAGILITY),
        (ICD10CM, "M80.0B1A", FractureSite.PELVIS, Mechanism.FRAGILITY),
        (ICD10CM, "S72.001A", FractureSite.HIP, Mechanism.UNKNOWN),
        (ICD10CM, "S22.000A", FractureSite.VERTEBRA, Mechanism.UNKNOWN),
        (ICD10CM, "S32.401A", FractureSite.PELVIS, Mechanism.UNKNOWN),
        (ICD10CM, "S42.201A", FractureSite.PROXIMAL_HUMERUS, Mechanism.UNKNOWN),
        (ICD10CM, "S52.501A", FractureSite.DISTAL_FOREARM, Mechanism.UNKNOWN),
        (ICD10CM, "S82.001A", FractureSite.OTHER, Mechanism.UNKNOWN),
        (ICD10CM, "M84.50XA", FractureSite.OTHER, Mechanism.PATHOLOGICAL),
        (ICD10CM, "M84.750A", FractureSite.OTHER, Mechanism.ATYPICAL),
        ("http://hl7.org/fhir/sid/icd-10", "M80.03", FractureSite.DISTAL_FOREARM, Mechanism.FRAGILITY),
        (SNOMED, "704330001", FractureSite.HIP, Mechanism.FRAGILITY),
        (SNOMED, "42942008", FractureSite.VERTEBRA, Mechanism.FRAGILITY),
        (SNOMED, "359817006", FractureSite.HIP, Mechanism.UNKNOWN),
    ],
)
def test_fracture_codes_give_the_site_class_and_the_mechanism(tmp_path, system, code, site, mechanism):
    (fx,) = facts_of(run(tmp_path, condition(system, code))).fractures
    assert (fx.date, fx.site, fx.mechanism) == (date(2022, 3, 4), site, mechanism)


def test_a_fracture_code_for_a_subsequent_encounter_is_not_a_new_fracture(tmp_path):
    imp = run(tmp_path, condition(ICD10CM, "S52.501D"))
    assert facts_of(imp).fractures == ()
    assert imp.files[0].ignored_by == {
        "Condition S52.501D (fracture code for a subsequent encounter or sequela, not a new fracture)": 1
    }


def test_a_fall_from_standing_height_makes_a_fracture_coded_by_site_a_fragility_fracture(tmp_path):
    fall = condition(ICD10CM, "S72.001A", evidence=[{"code": [coded(ICD10CM, "W19.XXXA")]}])
    crash = condition(
        ICD10CM,
        "S42.201A",
        rid="c2",
        extension=[
            {
                "url": "http://hl7.org/fhir/StructureDefinition/condition-dueTo",
                "valueCodeableConcept": coded(ICD10CM, "V43.52XA"),
            }
        ],
    )
    fractures = facts_of(run(tmp_path, fall, crash)).fractures
    assert {(f.site, f.mechanism) for f in fractures} == {
        (FractureSite.HIP, Mechanism.FRAGILITY),
        (FractureSite.PROXIMAL_HUMERUS, Mechanism.TRAUMA),
    }


def test_the_mechanism_extension_of_our_own_export_is_read_back(tmp_path):
    ext = [{"url": "urn:bonemon:fracture-mechanism", "valueCode": "trauma"}]
    (fx,) = facts_of(run(tmp_path, condition(SNOMED, "5913000", extension=ext))).fractures
    assert fx.mechanism is Mechanism.TRAUMA


def test_a_site_less_osteoporotic_fracture_code_joins_the_fracture_coded_by_site_that_day(tmp_path):
    imp = run(tmp_path, condition(SNOMED, "65966004", rid="a"), condition(SNOMED, "443165006", rid="b"))
    assert [(f.site, f.mechanism) for f in facts_of(imp).fractures] == [
        (FractureSite.DISTAL_FOREARM, Mechanism.FRAGILITY)
    ]
    assert imp.files[0].imported == 3


def test_a_fracture_without_any_date_is_rejected(tmp_path):
    assert errors(run(tmp_path, condition(SNOMED, "5913000", onset=None))) == [
        "a fracture needs a date: no onsetDateTime, onsetPeriod.start or recordedDate"
    ]


def test_bone_metastasis_coded_in_icd_10_cm_with_an_onset_is_a_dated_note(tmp_path):
    (note,) = facts_of(run(tmp_path, condition(ICD10CM, "C79.51"))).notes
    assert (note.kind, note.date, note.source) == (NoteKind.BONE_METASTASIS, date(2022, 3, 4), "fhir:Condition/c1")


def test_an_mcode_secondary_cancer_condition_in_bone_is_bone_metastasis_and_elsewhere_is_not(tmp_path):
    bone = condition(SNOMED, "128462008", onset=None, bodySite=[coded(SNOMED, "272673000")])
    liver = condition(SNOMED, "128462008", rid="c2", onset=None, bodySite=[coded(SNOMED, "10200004")])
    imp = run(tmp_path, bone, liver)
    assert [(n.kind, n.date) for n in facts_of(imp).notes] == [(NoteKind.BONE_METASTASIS, None)]
    assert imp.files[0].unknown_codes == ["SNOMED 128462008"]


def test_a_refuted_condition_is_ignored(tmp_path):
    r = condition(SNOMED, "94222008", verificationStatus=coded("x", "refuted"))
    imp = run(tmp_path, r)
    assert facts_of(imp).notes == ()
    assert imp.files[0].ignored_by == {"Condition 94222008 (verification refuted)": 1}


# --------------------------------------------------------------------------- medications


def test_a_dispense_is_a_dose_with_days_supply_and_mg_from_the_tablet_strength(tmp_path):
    r = med(
        "MedicationDispense",
        RXNORM,
        "199224",
        status="completed",
        whenHandedOver="2022-01-10",
        daysSupply={"value": 90, "unit": "d"},
        dosageInstruction=[{"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]}],
    )
    (dose,) = facts_of(run(tmp_path, r)).doses
    assert (dose.drug, dose.date, dose.days_supply, dose.dose_mg) == (Drug.ANASTROZOLE, date(2022, 1, 10), 90, 1.0)


def test_a_denosumab_administration_is_a_60_mg_subcutaneous_dose(tmp_path):
    r = med(
        "MedicationAdministration",
        RXNORM,
        "993452",
        status="completed",
        effectiveDateTime="2022-02-01",
        dosage={"dose": {"value": 60, "unit": "mg"}, "route": coded(SNOMED, "34206005")},
    )
    (dose,) = facts_of(run(tmp_path, r)).doses
    assert (dose.drug, dose.dose_mg, dose.route) == (Drug.DENOSUMAB, 60.0, Route.SC)


def test_a_statement_with_a_period_gives_start_and_stop(tmp_path):
    r = med(
        "MedicationStatement",
        RXNORM,
        "310261",
        status="completed",
        effectivePeriod={"start": "2019-01-01", "end": "2021-06-30"},
    )
    (course,) = facts_of(run(tmp_path, r)).courses
    assert (course.drug, course.start, course.stop) == (Drug.EXEMESTANE, date(2019, 1, 1), date(2021, 6, 30))


def test_an_atc_coded_letrozole_order_is_an_ai_course(tmp_path):
    (course,) = facts_of(run(tmp_path, med("MedicationRequest", ATC, "L02BG04", authoredOn="2020-02-02"))).courses
    assert (course.drug, course.start) == (Drug.LETROZOLE, date(2020, 2, 2))


def test_a_contained_medication_is_resolved(tmp_path):
    r = {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "active",
        "subject": SUBJECT,
        "authoredOn": "2020-03-03",
        "medicationReference": {"reference": "#med"},
        "contained": [{"resourceType": "Medication", "id": "med", "code": coded(RXNORM, "904419")}],
    }
    assert [c.drug for c in facts_of(run(tmp_path, r)).courses] == [Drug.ALENDRONATE]


def test_a_medication_in_another_ndjson_file_is_resolved(tmp_path):
    (tmp_path / "Patient.ndjson").write_text(json.dumps(patient()) + "\n")
    (tmp_path / "Medication.ndjson").write_text(
        json.dumps({"resourceType": "Medication", "id": "zol", "code": coded(RXNORM, "1114085")}) + "\n"
    )
    admin = {
        "resourceType": "MedicationAdministration",
        "id": "a1",
        "status": "completed",
        "subject": SUBJECT,
        "effectiveDateTime": "2022-05-05",
        "medicationReference": {"reference": "Medication/zol"},
        "dosage": {"dose": {"value": 1, "unit": "{bag}"}},
    }
    (tmp_path / "MedicationAdministration.ndjson").write_text(json.dumps(admin) + "\n")
    imp = read_fhir(sorted(tmp_path.iterdir()), fhir=SETTINGS.fhir, policy=SETTINGS.policy, today=TODAY)
    (dose,) = facts_of(imp).doses
    assert (dose.drug, dose.dose_mg, dose.route) == (Drug.ZOLEDRONIC_ACID, 4.0, None)


def test_an_unknown_rxnorm_code_is_listed_not_guessed_from_its_display(tmp_path):
    r = med("MedicationRequest", RXNORM, "999999", authoredOn="2020-01-01")
    r["medicationCodeableConcept"]["coding"][0]["display"] = "anastrozole 1 MG Oral Capsule"
    imp = run(tmp_path, r)
    assert facts_of(imp).courses == ()
    assert imp.files[0].unknown_codes == ["RxNorm 999999 'anastrozole 1 MG Oral Capsule'"]


def test_codings_that_name_two_different_drugs_are_rejected(tmp_path):
    r = med("MedicationRequest", RXNORM, "199224", authoredOn="2020-01-01")
    r["medicationCodeableConcept"]["coding"].append({"system": ATC, "code": "L02BG04"})
    assert errors(run(tmp_path, r)) == ["medication: the codings name different drugs: anastrozole, letrozole"]


def test_a_not_taken_statement_and_a_cancelled_order_are_ignored(tmp_path):
    imp = run(
        tmp_path,
        med("MedicationStatement", RXNORM, "199224", status="not-taken", effectiveDateTime="2020-01-01"),
        med("MedicationRequest", RXNORM, "199224", rid="m2", status="cancelled", authoredOn="2020-01-01"),
    )
    assert facts_of(imp).courses == ()
    assert imp.files[0].ignored == 2


def test_a_stopped_order_and_its_later_renewal_are_one_course_with_no_warning(tmp_path):
    first = med("MedicationRequest", RXNORM, "904419", rid="r1", status="stopped", authoredOn="2015-01-01")
    renewal = med("MedicationRequest", RXNORM, "904419", rid="r2", status="active", authoredOn="2016-01-01")
    imp = run(tmp_path, first, renewal)
    assert [(c.start, c.stop, c.source) for c in facts_of(imp).courses] == [
        (date(2015, 1, 1), None, "fhir:MedicationRequest/r1")
    ]
    assert warnings(imp) == []


# --------------------------------------------------------------------------- patients and references


@pytest.mark.parametrize(
    "reference",
    [
        {"reference": "urn:uuid:0"},
        {"reference": "Patient/p1"},
        {"reference": "https://ehr.example.org/fhir/Patient/p1/_history/3"},
        {"reference": "Patient?identifier=urn:oid:1.2.3|MRN1"},
        {"identifier": {"system": "urn:oid:1.2.3", "value": "MRN1"}},
    ],
)
def test_every_kind_of_patient_reference_resolves(tmp_path, reference):
    r = obs("38267-1", -2, "1", subject=reference)
    assert len(facts_of(run(tmp_path, r)).dxa) == 1


def test_a_subject_that_is_not_a_patient_is_rejected(tmp_path):
    imp = run(tmp_path, obs("38267-1", -2, "1", subject={"reference": "Group/g1"}))
    assert errors(imp) == ["subject 'Group/g1' is a Group, not a Patient"]


def test_a_reference_matching_two_different_patients_is_rejected_as_ambiguous(tmp_path):
    other = patient(id="p2", birthDate="1960-01-01")
    r = obs("38267-1", -2, "1", subject={"reference": "Patient?identifier=urn:oid:1.2.3|MRN1"})
    imp = run(tmp_path, other, r)
    assert "is ambiguous: it matches 2 different patients" in errors(imp)[0]


def test_the_mrn_system_setting_picks_that_identifier(tmp_path):
    p = patient(identifier=[{"system": "urn:a", "value": "A1"}, {"system": "urn:b", "value": "B1"}])
    imp = run(tmp_path, p, with_patient=False, mrn_system="urn:b")
    assert facts_of(imp).patient.mrn == "B1"


def test_without_mrn_system_the_mr_typed_identifier_wins_and_without_identifiers_the_id(tmp_path):
    mr = {"system": "urn:b", "value": "B1", "type": coded("http://terminology.hl7.org/CodeSystem/v2-0203", "MR")}
    p = patient(identifier=[{"system": "urn:a", "value": "A1"}, mr])
    assert facts_of(run(tmp_path, p, with_patient=False)).patient.mrn == "B1"
    bare = patient(identifier=[])
    assert facts_of(run(tmp_path, bare, with_patient=False)).patient.mrn == "p1"


def test_a_patient_without_birth_date_is_rejected_and_so_are_its_facts(tmp_path):
    p = patient()
    del p["birthDate"]
    imp = run(tmp_path, p, obs("38267-1", -2, "1"), with_patient=False)
    assert imp.patients == []
    assert errors(imp) == [
        "birthDate: missing; a patient needs a birth date",
        "subject 'Patient/p1' is not in this import: no Patient with that id, fullUrl or identifier was read"
        " (import the patient's file too)",
    ]


def test_sex_comes_from_gender_else_the_us_core_extensions(tmp_path):
    ext = [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "M"}]
    p = patient(extension=ext)
    del p["gender"]
    assert facts_of(run(tmp_path, p, with_patient=False)).patient.sex is Sex.MALE


def test_a_partial_date_takes_day_one_and_says_so(tmp_path):
    imp = run(tmp_path, obs("38267-1", -2, "1", day="2021-11"))
    assert facts_of(imp).dxa[0].date == date(2021, 11, 1)
    assert warnings(imp) == ["effectiveDateTime '2021-11' is a partial date; day 1 of it is used"]


def test_a_death_without_a_date_is_reported_not_invented(tmp_path):
    imp = run(tmp_path, patient(deceasedBoolean=True), with_patient=False)
    assert facts_of(imp).patient.deceased_date is None
    assert warnings(imp) == ["deceasedBoolean is true but no date of death is given; not recorded as deceased"]


def test_strict_r4b_validation_rejects_what_the_lenient_reader_imports(tmp_path):
    r = obs("38267-1", -2, "1", category={"text": "imaging"})  # R4 wants a list of CodeableConcepts here
    assert len(facts_of(run(tmp_path, r)).dxa) == 1
    strict = run(tmp_path, r, validate_r4b=True)
    assert facts_of(strict).dxa == ()
    assert errors(strict) == ["not valid FHIR R4B ([fhir] validate_r4b): category: Input should be a valid list"]


def test_a_patient_in_two_files_is_one_patient_with_the_facts_of_both(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = run(tmp_path / "a", obs("38267-1", -2.6, "1", rid="dxa"))
    second = run(tmp_path / "b", obs("29463-7", 61, "kg", rid="weight"))
    both = read_fhir(
        [tmp_path / "a" / "bundle.json", tmp_path / "b" / "bundle.json"],
        fhir=SETTINGS.fhir,
        policy=SETTINGS.policy,
        today=TODAY,
    )
    facts = facts_of(both)
    assert facts.patient == facts_of(first).patient == facts_of(second).patient
    assert (len(facts.dxa), len(facts.vitals)) == (1, 1)
    assert warnings(both) == []  # the same Patient resource twice is no news


def test_the_json_report_gives_each_problem_its_severity(tmp_path):
    imp = run(tmp_path, obs("38267-1", -2, "1", day="2021-11", rid="partial"), obs("38267-1", rid="novalue"))
    problems = imp.files[0].as_json()["problems"]
    assert [p["severity"] for p in problems] == ["warning", "error"]
