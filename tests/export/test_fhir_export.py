"""`bonemon export fhir`: R4B-valid transaction Bundles that re-import to the same facts and plan (docs/formats.md).

Two levels: the pure builder (monitor.export.fhir.bundle) against the pure importer (read_fhir), and the
CLI end to end (a patient built with `bonemon record ...`, exported, imported into an empty
database and into the same one) on SQLite and PostgreSQL.

Facts with no standard code (notes, scanner, Genant grade, menopause, clinic, …) travel in
bonemon's own `urn:bonemon:` codes, which the importer reads back.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from monitor.app.context import evaluate
from monitor.core.domain import (
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
    Mechanism,
    Menopause,
    Note,
    NoteKind,
    Patient,
    PatientFacts,
    Route,
    Side,
    TherapyCourse,
    Vitals,
)
from monitor.export.fhir import codes
from monitor.export.fhir.bundle import patient_bundle
from monitor.export.fhir.careplan import TASK_LABELS, TASK_STATUS
from monitor.export.fhir.flags import FLAG_PRIORITY_CODES
from monitor.export.fhir.writer import ExportOptions, full_url
from monitor.intake.fhir.reader import read_fhir
from monitor.settings import load_settings

pytest_plugins = ["tests.dbfixtures"]

SETTINGS = load_settings()
TODAY = date(2025, 6, 1)
AS_OF = date(2025, 5, 20)
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
FACT_GROUPS = ("courses", "doses", "dxa", "markers", "fractures", "frax", "labs", "vitals", "notes")


# --------------------------------------------------------------------------- facts


def importable_facts() -> PatientFacts:
    """A full history that the importer as it stands reads back exactly (standard codes only)."""
    p = Patient(mrn="P-7/x", birth_date=date(1950, 4, 12), name="Ada Example", deceased_date=date(2025, 5, 31))
    return PatientFacts(
        patient=p,
        courses=(
            TherapyCourse(Drug.TAMOXIFEN, start=date(2019, 3, 1), stop=date(2021, 3, 1)),
            TherapyCourse(Drug.LETROZOLE, start=date(2021, 3, 2)),
            TherapyCourse(Drug.ALENDRONATE, start=date(2019, 1, 10), stop=date(2023, 5, 1), dose_mg=70.0),
            TherapyCourse(Drug.DENOSUMAB, start=date(2023, 6, 1), dose_mg=60.0, interval_months=6),
            TherapyCourse(Drug.ZOLEDRONIC_ACID, planned_start=date(2025, 7, 1), dose_mg=4.0),
        ),
        doses=(
            Dose(Drug.LETROZOLE, date(2025, 4, 1), days_supply=90, route=Route.ORAL),
            Dose(Drug.ALENDRONATE, date(2022, 11, 1), dose_mg=70.0, days_supply=84, route=Route.ORAL),
            Dose(Drug.DENOSUMAB, date(2023, 6, 1), dose_mg=60.0, route=Route.SC),
            Dose(Drug.DENOSUMAB, date(2023, 12, 5), dose_mg=60.0, route=Route.SC),
            Dose(Drug.DENOSUMAB, date(2024, 6, 10), route=Route.SC),
            Dose(Drug.DENOSUMAB, date(2024, 12, 20), dose_mg=60.0, route=Route.SC),
        ),
        dxa=(
            DxaRoi(date(2023, 5, 20), DxaSite.LUMBAR_SPINE, Decimal("-2.7"), z_score=Decimal("-1.5"), bmd=0.851,
                   vertebrae=4),
            DxaRoi(date(2023, 5, 20), DxaSite.FEMORAL_NECK, Decimal("-2.2"), side=Side.LEFT, bmd=0.612),
            DxaRoi(date(2023, 5, 20), DxaSite.TOTAL_HIP, Decimal("-1.9"), side=Side.RIGHT, z_score=Decimal("-0.8"),
                   bmd=0.75),
            DxaRoi(date(2023, 5, 20), DxaSite.RADIUS_33, Decimal("-2.05"), side=Side.LEFT),
            DxaRoi(date(2023, 5, 20), DxaSite.TROCHANTER, Decimal("-1.5"), side=Side.LEFT),
            DxaRoi(date(2021, 2, 1), DxaSite.UNSPECIFIED, Decimal("-3"), bmd=0.7),
            DxaRoi(date(2025, 5, 10), DxaSite.LUMBAR_SPINE, Decimal("-2.5"), bmd=0.87, vertebrae=3),
            DxaRoi(date(2025, 5, 10), DxaSite.ULTRADISTAL_RADIUS, Decimal("-1.1"), side=Side.RIGHT),
            DxaRoi(date(2025, 5, 10), DxaSite.TOTAL_FOREARM, bmd=0.55),
            DxaRoi(date(2025, 5, 10), DxaSite.CALCANEUS, Decimal("-1.4"), bmd=0.5),
        ),
        markers=(
            Marker(date(2023, 5, 20), MarkerAnalyte.CTX, 450.0, "ng/L"),
            Marker(date(2023, 9, 1), MarkerAnalyte.P1NP, 40.5, "ug/L"),
            Marker(date(2024, 1, 10), MarkerAnalyte.BALP, 12.0, "U/L"),
        ),
        fractures=(
            Fracture(date(2022, 2, 1), FractureSite.DISTAL_FOREARM, Mechanism.FRAGILITY),
            Fracture(date(2020, 7, 7), FractureSite.OTHER, Mechanism.TRAUMA),
            Fracture(date(2018, 1, 3), FractureSite.PROXIMAL_HUMERUS, Mechanism.UNKNOWN),
        ),
        frax=(Frax(date(2025, 5, 10), hip=3.5, mof=18.0, model="UK"), Frax(date(2023, 5, 20), mof=12.25)),
        labs=(
            Lab(date(2025, 5, 1), LabAnalyte.CALCIUM, 2.31, "mmol/L"),
            Lab(date(2025, 5, 1), LabAnalyte.CALCIUM_CORRECTED, 2.35, "mmol/L"),
            Lab(date(2025, 5, 1), LabAnalyte.VITAMIN_D, 55 * 0.4006, "ng/mL"),
            Lab(date(2025, 5, 1), LabAnalyte.EGFR, 70.0, "mL/min/1.73m2"),
            Lab(date(2025, 5, 1), LabAnalyte.CRCL, 65.0, "mL/min"),
            Lab(date(2025, 5, 1), LabAnalyte.CREATININE, 0.9 * 88.42, "umol/L"),
            Lab(date(2025, 5, 1), LabAnalyte.ALBUMIN, 40.0, "g/L"),
        ),
        vitals=(Vitals(date(2025, 5, 1), weight_kg=62.5, height_cm=160.0, waist_cm=82.0),
                Vitals(date(2024, 5, 1), bmi=23.4)),
        notes=(Note(NoteKind.SMOKER, date(2023, 1, 1)),),
    )


def full_facts() -> PatientFacts:
    """Everything bonemon stores, including what only bonemon's local codes carry."""
    f = importable_facts()
    p = replace(f.patient, menopause=Menopause.POST, clinic="north", phone="+44 20 7946 0000", country="GB")
    return replace(
        f,
        patient=p,
        courses=(*[replace(c, stop_reason="switched to an AI") if c.drug is Drug.TAMOXIFEN
                   else replace(c, planned_start=date(2021, 2, 15)) if c.drug is Drug.LETROZOLE else c
                   for c in f.courses],
                 TherapyCourse(Drug.GLUCOCORTICOID, start=date(2024, 1, 1), stop=date(2024, 2, 1)),
                 TherapyCourse(Drug.RALOXIFENE, planned_start=date(2018, 1, 1), stop=date(2018, 2, 1))),
        dxa=(*f.dxa,
             DxaRoi(date(2025, 5, 10), DxaSite.FEMORAL_NECK, Decimal("-2.0"), side=Side.LEFT, bmd=0.62,
                    scanner="HOLO-1"),
             DxaRoi(date(2023, 5, 20), DxaSite.FEMORAL_NECK, Decimal("-2.3"), side=Side.RIGHT, scanner="HOLO-1",
                    valid=False),
             DxaRoi(date(2025, 5, 10), DxaSite.SINGLE_VERTEBRA, Decimal("-3.1")),
             DxaRoi(date(2025, 5, 10), DxaSite.OTHER, Decimal("-0.5")),
             DxaRoi(date(2024, 5, 10), DxaSite.CALCANEUS, Decimal("-1.0"), z_score=Decimal("-0.2"))),
        markers=(*f.markers, Marker(date(2024, 2, 1), MarkerAnalyte.NTX, 35.0, "nmol BCE/mmol Cr")),
        fractures=(*f.fractures,
                   Fracture(date(2024, 3, 3), FractureSite.VERTEBRA, Mechanism.FRAGILITY, genant_grade=1)),
        frax=(replace(f.frax[0], with_bmd=True), f.frax[1]),
        notes=(
            Note(NoteKind.SMOKER, date(2023, 1, 1), text="10 a day"),
            Note(NoteKind.DENTAL_CHECK, date(2023, 5, 25), text="no issues"),
            Note(NoteKind.RISK_REVIEW, date(2025, 1, 15)),
            Note(NoteKind.FAMILY_HIP_FRACTURE, None, text="mother, age 80"),
        ),
    )


def bundle_of(facts: PatientFacts, as_of: date = AS_OF, stored=None) -> dict[str, Any]:
    a, plan = evaluate(facts, as_of, SETTINGS)
    options = ExportOptions(mrn_system=SETTINGS.fhir.mrn_system, frax_system=SETTINGS.fhir.frax_system)
    return patient_bundle(facts, a, plan, as_of=as_of, stored=stored, options=options)


def reimport(bundle: dict[str, Any], tmp_path: Path):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    result = read_fhir([path], fhir=SETTINGS.fhir, policy=SETTINGS.policy, today=TODAY)
    errors = [p for f in result.files for p in f.problems if p.severity == "error"]
    assert errors == []
    assert len(result.patients) == 1
    return result


def resources(bundle: dict[str, Any], rtype: str | None = None) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if rtype is None or e["resource"]["resourceType"] == rtype]


def validate_r4b(bundle: dict[str, Any]) -> None:
    """Every resource parses with its fhir.resources R4B model, and so does the Bundle."""
    from fhir.resources.R4B import get_fhir_model_class

    get_fhir_model_class("Bundle").model_validate(bundle)
    for r in resources(bundle):
        get_fhir_model_class(r["resourceType"]).model_validate(r)


def plan_view(facts: PatientFacts, as_of: date) -> dict[str, Any]:
    a, plan = evaluate(facts, as_of, SETTINGS)
    return {
        "tier": a.tier, "provisional": a.provisional, "reasons": a.reasons,
        "flags": list(dict.fromkeys((*a.flags, *plan.flags))), "in_pathway": a.in_pathway,
        "tasks": sorted((t.kind, t.rule, t.anchor, t.earliest, t.target, t.latest, t.done_on) for t in plan.tasks),
        "alerts": sorted((x.code, x.severity, x.since, x.message) for x in plan.alerts),
        "valid_until": plan.valid_until,
    }


# --------------------------------------------------------------------------- the pure builder


@pytest.mark.parametrize("make", [importable_facts, full_facts], ids=["importable", "full"])
def test_every_resource_validates_with_fhir_resources_r4b(make):
    bundle = bundle_of(make())
    validate_r4b(bundle)
    assert bundle["type"] == "transaction"
    types = {r["resourceType"] for r in resources(bundle)}
    assert {"Patient", "Observation", "Condition", "MedicationStatement", "MedicationAdministration",
            "MedicationDispense", "CarePlan", "ServiceRequest", "Task"} <= types


def test_entries_are_puts_with_valid_ids_and_every_reference_resolves():
    bundle = bundle_of(full_facts())
    urls = set()
    for e in bundle["entry"]:
        r = e["resource"]
        assert FHIR_ID.match(r["id"]), r["id"]
        assert e["request"] == {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}
        assert e["fullUrl"] == full_url(r["resourceType"], r["id"])
        urls.add(e["fullUrl"])
    assert len(urls) == len(bundle["entry"]), "two entries share an id"

    def refs(value):
        if isinstance(value, dict):
            if isinstance(value.get("reference"), str):
                yield value["reference"]
            for v in value.values():
                yield from refs(v)
        elif isinstance(value, list):
            for v in value:
                yield from refs(v)

    found = list(refs(bundle))
    assert found and set(found) <= urls


def test_the_same_facts_export_byte_for_byte_the_same_whatever_their_order_row_ids_or_sources():
    facts = full_facts()
    first = json.dumps(bundle_of(facts))
    assert json.dumps(bundle_of(facts)) == first
    shuffled = replace(facts, **{g: tuple(reversed(getattr(facts, g))) for g in FACT_GROUPS})
    assert json.dumps(bundle_of(shuffled)) == first
    with_ids = replace(facts, dxa=tuple(replace(x, id=100 + i, source=f"csv:{i}") for i, x in enumerate(facts.dxa)))
    assert json.dumps(bundle_of(with_ids)) == first


def test_ids_depend_on_the_patient_and_the_natural_key_not_on_the_value():
    facts = importable_facts()
    ids = {r["id"] for r in resources(bundle_of(facts))}
    corrected = replace(facts, labs=tuple(replace(x, value=x.value + 0.01) for x in facts.labs))
    assert {r["id"] for r in resources(bundle_of(corrected))} == ids
    other = replace(facts, patient=replace(facts.patient, mrn="P-8"))
    assert not ids & {r["id"] for r in resources(bundle_of(other))}
    other_clinic = replace(facts, patient=replace(facts.patient, clinic="south"))
    assert not ids & {r["id"] for r in resources(bundle_of(other_clinic))}


def test_dxa_roi_is_one_observation_with_t_z_and_bmd_components_coded_by_site_and_side():
    bundle = bundle_of(importable_facts())
    dxa = [r for r in resources(bundle, "Observation") if r["code"]["coding"][0]["code"] == "83311-1"]
    spine = next(r for r in dxa if r["effectiveDateTime"] == "2023-05-20" and "Lumbar" in r["bodySite"]["text"])
    assert [c["code"]["coding"][0]["code"] for c in spine["component"]] == ["38267-1", "85394-5", "24966-4"]
    assert spine["bodySite"]["text"] == "Lumbar spine L1-L4"
    assert spine["component"][0]["valueQuantity"] == {"value": -2.7, "unit": "T-score", "system": codes.UCUM,
                                                      "code": "{T-score}"}
    neck = next(r for r in dxa if "femoral neck" in r["bodySite"].get("text", ""))
    assert neck["bodySite"]["text"] == "Left femoral neck"
    assert [c["code"]["coding"][0]["code"] for c in neck["component"]] == ["80948-3", "80954-1"]


def test_tasks_carry_status_window_and_focus_on_a_coded_service_request():
    facts = importable_facts()
    bundle = bundle_of(facts)
    _, plan = evaluate(facts, AS_OF, SETTINGS)
    assert plan.tasks
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    tasks = resources(bundle, "Task")
    assert len(tasks) == len(plan.tasks)
    for task in plan.tasks:
        t = next(r for r in tasks if {"system": codes.TASK_KEY_SYSTEM, "value": task.key} in r["identifier"])
        status = t["businessStatus"]["coding"][0]
        assert status["system"] == codes.TASK_STATUS_SYSTEM
        from monitor.core.status import task_status

        assert status["code"] == task_status(task, AS_OF).value
        assert t["status"] == TASK_STATUS[status["code"]]
        assert t["restriction"]["period"] == {"start": task.earliest.isoformat(), "end": task.latest.isoformat()}
        sr = by_url[t["focus"]["reference"]]
        assert sr["resourceType"] == "ServiceRequest"
        assert sr["code"]["coding"][0] == {"system": codes.TASK_KIND_SYSTEM, "code": task.kind.value,
                                           "display": TASK_LABELS[task.kind]}
        assert sr["occurrenceDateTime"] == task.target.isoformat()
        assert {"system": codes.RULE_SYSTEM, "code": task.rule} in t["code"]["coding"]
    care_plan = resources(bundle, "CarePlan")[0]
    assert {a["reference"]["reference"] for a in care_plan["activity"]} == {
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Task"}


def test_alerts_become_flags_with_code_severity_and_since():
    facts = PatientFacts(
        patient=Patient(mrn="P2", birth_date=date(1955, 1, 1)),
        courses=(TherapyCourse(Drug.ANASTROZOLE, start=date(2024, 1, 10)),),
        dxa=(DxaRoi(date(2024, 1, 5), DxaSite.TOTAL_HIP, Decimal("-2.6")),),
    )
    _, plan = evaluate(facts, TODAY, SETTINGS)
    assert plan.alerts
    bundle = bundle_of(facts, TODAY)
    validate_r4b(bundle)
    flags = resources(bundle, "Flag")
    assert len(flags) == len(plan.alerts)
    for alert in plan.alerts:
        f = next(r for r in flags if r["code"]["coding"][0]["code"] == alert.code)
        assert f["code"]["coding"][0]["system"] == codes.ALERT_SYSTEM
        assert f["code"]["text"] == alert.message
        assert f["period"] == {"start": alert.since.isoformat()}
        assert {"url": codes.SEVERITY_EXT, "valueCode": alert.severity.value} in f["extension"]
        priority = next(e for e in f["extension"] if e["url"] == codes.FLAG_PRIORITY_EXT)
        assert priority["valueCodeableConcept"]["coding"][0]["code"] == FLAG_PRIORITY_CODES[alert.severity][0]


# --------------------------------------------------------------------------- the pure round trip


def test_importable_facts_come_back_exactly_and_plan_the_same(tmp_path):
    facts = importable_facts()
    back = reimport(bundle_of(facts), tmp_path).patients[0]
    p, q = facts.patient, back.patient
    assert (q.mrn, q.birth_date, q.sex, q.name, q.deceased_date) == (p.mrn, p.birth_date, p.sex, p.name,
                                                                    p.deceased_date)
    for group in FACT_GROUPS:
        assert set(getattr(back, group)) == set(getattr(facts, group)), group
    for day in (AS_OF, TODAY):
        assert plan_view(back, day) == plan_view(facts, day)


def test_the_report_ignores_plan_resources_and_lists_no_error(tmp_path):
    result = reimport(bundle_of(importable_facts()), tmp_path)
    report = result.files[0]
    assert report.rejected == 0
    assert report.ignored_by.get("Task") == len(resources(bundle_of(importable_facts()), "Task"))
    assert "CarePlan" in report.ignored_by


def test_every_fact_comes_back_with_bonemon_codes(tmp_path):
    facts = full_facts()
    back = reimport(bundle_of(facts), tmp_path).patients[0]
    p, q = facts.patient, back.patient
    for name in ("mrn", "birth_date", "sex", "name", "deceased_date", "menopause", "clinic", "phone", "country"):
        assert getattr(q, name) == getattr(p, name), name
    for group in FACT_GROUPS:
        assert set(getattr(back, group)) == set(getattr(facts, group)), group
    assert plan_view(back, AS_OF) == plan_view(facts, AS_OF)
    assert json.dumps(bundle_of(back)) == json.dumps(bundle_of(facts))


def test_local_codes_are_unknown_to_the_importer_never_guessed(tmp_path):
    """Whatever the importer does not read is listed as unknown and ignored, never misread as a tiering fact."""
    facts = full_facts()
    back = reimport(bundle_of(facts), tmp_path).patients[0]
    tiering = {DxaSite.LUMBAR_SPINE, DxaSite.FEMORAL_NECK, DxaSite.TOTAL_HIP, DxaSite.RADIUS_33, DxaSite.UNSPECIFIED}
    exported = {(x.date, x.site, x.side, x.t_score) for x in facts.dxa if x.site in tiering and x.valid}
    assert {(x.date, x.site, x.side, x.t_score) for x in back.dxa if x.site in tiering and x.valid} == exported


# --------------------------------------------------------------------------- the CLI


def build_patient(cli, mrn: str = "P100", *, full: bool = True) -> None:
    """A patient with every kind of fact, recorded through the CLI (TODAY is 2025-06-01)."""
    ok = cli.ok
    ok("patient", "add", mrn, "--birth-date", "1950-04-12", "--name", "Ada Example",
       *(["--menopause", "post", "--phone", "+44 20 7946 0000"] if full else []))
    ok("therapy", "start", mrn, "--drug", "tamoxifen", "--date", "2019-03-01")
    ok("therapy", "stop", mrn, "--drug", "tamoxifen", "--date", "2021-03-01",
       *(["--reason", "switch to an AI"] if full else []))
    if full:  # a plan that began, and a plan that was cancelled
        ok("therapy", "start", mrn, "--drug", "letrozole", "--date", "2021-02-15", "--planned")
        ok("therapy", "start", mrn, "--drug", "raloxifene", "--date", "2018-01-01", "--planned")
        ok("therapy", "stop", mrn, "--drug", "raloxifene", "--date", "2018-02-01")
    ok("therapy", "start", mrn, "--drug", "letrozole", "--date", "2021-03-02")
    ok("record", "dose", mrn, "--drug", "letrozole", "--date", "2025-04-01", "--days-supply", "90")
    ok("therapy", "start", mrn, "--drug", "alendronate", "--date", "2019-01-10", "--dose-mg", "70")
    ok("record", "dose", mrn, "--drug", "alendronate", "--date", "2022-11-01", "--dose-mg", "70",
       "--days-supply", "84")
    ok("therapy", "stop", mrn, "--drug", "alendronate", "--date", "2023-05-01")
    ok("therapy", "start", mrn, "--drug", "denosumab", "--date", "2023-06-01", "--dose-mg", "60",
       "--interval-months", "6")
    for day in ("2023-06-01", "2023-12-05", "2024-06-10", "2024-12-20"):
        ok("record", "dose", mrn, "--drug", "denosumab", "--date", day, "--dose-mg", "60")
    ok("therapy", "start", mrn, "--drug", "zoledronic_acid", "--date", "2025-07-01", "--planned", "--dose-mg", "4")
    scanner = ["--scanner", "HOLO-1"] if full else []
    ok("record", "dxa", mrn, "--date", "2023-05-20", "--site", "lumbar_spine", "--t-score", "-2.7",
       "--z-score", "-1.5", "--bmd", "0.851", "--vertebrae", "4", *scanner)
    ok("record", "dxa", mrn, "--date", "2023-05-20", "--site", "femoral_neck", "--side", "left", "--t-score",
       "-2.2", "--bmd", "0.612", *scanner)
    ok("record", "dxa", mrn, "--date", "2023-05-20", "--site", "total_hip", "--side", "right", "--t-score",
       "-1.9", "--z-score", "-0.8", "--bmd", "0.75")
    ok("record", "dxa", mrn, "--date", "2023-05-20", "--site", "radius_33", "--t-score", "-2.05")
    ok("record", "dxa", mrn, "--date", "2025-05-10", "--site", "lumbar_spine", "--t-score", "-2.5", "--bmd",
       "0.87", "--vertebrae", "3", *scanner)
    ok("record", "dxa", mrn, "--date", "2025-05-10", "--site", "trochanter", "--t-score", "-1.5")
    if full:
        ok("record", "dxa", mrn, "--date", "2025-05-10", "--site", "femoral_neck", "--side", "right",
           "--t-score", "-3.5", "--invalid")
    ok("record", "marker", mrn, "--date", "2023-05-20", "--analyte", "ctx", "--value", "0.45", "--unit", "ng/mL")
    ok("record", "marker", mrn, "--date", "2023-09-01", "--analyte", "p1np", "--value", "40.5", "--unit", "ug/L")
    if full:
        ok("record", "marker", mrn, "--date", "2024-02-01", "--analyte", "ntx", "--value", "35",
           "--unit", "nmol BCE/mmol Cr")
    ok("record", "lab", mrn, "--date", "2025-05-01", "--analyte", "calcium", "--value", "9.2", "--unit", "mg/dL")
    ok("record", "lab", mrn, "--date", "2025-05-01", "--analyte", "vitamin_d", "--value", "55", "--unit", "nmol/L")
    ok("record", "lab", mrn, "--date", "2025-05-01", "--analyte", "egfr", "--value", "70", "--unit", "mL/min/1.73m2")
    ok("record", "lab", mrn, "--date", "2025-05-01", "--analyte", "creatinine", "--value", "0.9", "--unit", "mg/dL")
    ok("record", "vitals", mrn, "--date", "2025-05-01", "--weight-kg", "62.5", "--height-cm", "160",
       "--waist-cm", "82")
    ok("record", "frax", mrn, "--date", "2025-05-10", "--hip", "3.5", "--mof", "18", "--model", "UK",
       *(["--with-bmd"] if full else []))
    ok("record", "fracture", mrn, "--date", "2022-02-01", "--site", "distal_forearm", "--mechanism", "fragility")
    ok("record", "fracture", mrn, "--date", "2020-07-07", "--site", "other", "--mechanism", "trauma")
    if full:
        ok("record", "fracture", mrn, "--date", "2024-03-03", "--site", "vertebra", "--mechanism", "fragility",
           "--genant-grade", "1")
    ok("record", "note", mrn, "--date", "2023-01-01", "--kind", "smoker", *(["--text", "10 a day"] if full else []))
    if full:
        ok("record", "note", mrn, "--date", "2023-05-25", "--kind", "dental_check", "--text", "no issues")
        ok("record", "note", mrn, "--date", "2025-01-15", "--kind", "risk_review")
        ok("record", "note", mrn, "--date", "undated", "--kind", "family_hip_fracture")
    ok("patient", "update", mrn, "--deceased-date", "2025-05-31")


@pytest.fixture
def other_url(backend_name, tmp_path, cli, today):
    """A second, initialised, empty database of the same backend."""
    if backend_name == "sqlite":
        url = f"sqlite:///{tmp_path / 'other.db'}"
        cli.ok("init", db=url)
        yield url
        return
    from tests.dbfixtures import _pg_schema

    with _pg_schema() as url:
        cli.ok("init", db=url)
        yield url


def shown(cli, mrn: str, as_of: date, db: str | None = None) -> dict[str, Any]:
    doc = cli.json("patient", "show", mrn, "--as-of", as_of.isoformat(), "--json", db=db)
    for t in doc["tasks"]:
        t.pop("id")
    doc.pop("valid_until", None)
    return doc


def _plan_part(doc: dict[str, Any]) -> dict[str, Any]:
    keep = ("tier", "provisional", "reasons", "flags", "t_min", "t_min_site", "bmd_date", "ai_status",
            "bma_indicated", "in_pathway", "exit_reasons", "alerts", "deceased_date", "birth_date", "sex", "name")
    return {**{k: doc[k] for k in keep},
            "tasks": [{k: t[k] for k in ("rule", "kind", "earliest", "target", "latest", "status", "done_on")}
                      for t in doc["tasks"]]}


def _round_trip(cli, other_url, tmp_path, *, full: bool) -> None:
    build_patient(cli, full=full)
    out = tmp_path / "p100.json"
    cli.ok("export", "fhir", "P100", "--out", out, "--as-of", AS_OF.isoformat())
    bundle = json.loads(out.read_text(encoding="utf-8"))
    validate_r4b(bundle)
    report = cli.json("import", out, "--json", db=other_url)
    assert report["written"]["patients_created"] == 1
    assert all(p.get("severity") != "error" for f in report["files"] for p in f["problems"])
    for day in (AS_OF, TODAY):
        before, after = shown(cli, "P100", day), shown(cli, "P100", day, db=other_url)
        assert _plan_part(after) == _plan_part(before)
        if full:
            assert after == before
    # Re-importing into the database it came from adds nothing.
    snapshot = cli.snapshot()
    report = cli.json("import", out, "--json")
    assert report["written"]["added"] == 0 and report["written"]["updated"] == 0
    assert cli.snapshot() == snapshot


def test_cli_patient_round_trips_through_an_empty_database(cli, other_url, tmp_path, today):
    _round_trip(cli, other_url, tmp_path, full=False)


def test_cli_patient_with_every_detail_round_trips(cli, other_url, tmp_path, today):
    _round_trip(cli, other_url, tmp_path, full=True)


def test_cli_export_twice_is_byte_identical_and_validates(cli, tmp_path, today):
    build_patient(cli)
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    cli.ok("export", "fhir", "P100", "--out", first)
    cli.ok("export", "fhir", "P100", "--out", second)
    assert first.read_bytes() == second.read_bytes()
    bundle = json.loads(first.read_text(encoding="utf-8"))
    validate_r4b(bundle)
    tasks = resources(bundle, "Task")
    doc = cli.json("patient", "show", "P100", "--json")
    assert sorted(t["businessStatus"]["coding"][0]["code"] for t in tasks) == sorted(t["status"] for t in doc["tasks"])
    stored_ids = {str(t["id"]) for t in doc["tasks"] if t["id"] is not None}
    exported_ids = {i["value"] for t in tasks for i in t["identifier"] if i["system"] == codes.TASK_ID_SYSTEM}
    assert exported_ids == stored_ids


def test_snoozed_and_done_tasks_are_exported_with_their_status(cli, tmp_path, today):
    cli.ok("patient", "add", "P1", "--birth-date", "1955-01-01", "--menopause", "post")
    cli.ok("therapy", "start", "P1", "--drug", "anastrozole", "--date", "2025-01-10")
    doc = cli.json("patient", "show", "P1", "--json")
    open_tasks = [t for t in doc["tasks"] if t["status"] in ("due", "overdue") and t["id"] is not None]
    assert open_tasks
    task = open_tasks[0]
    cli.ok("task", "snooze", task["id"], "--until", "2025-06-20", "--reason", "patient away")
    bundle = json.loads(cli.ok("export", "fhir", "P1").stdout)
    t = next(r for r in resources(bundle, "Task")
             if {"system": codes.TASK_ID_SYSTEM, "value": str(task["id"])} in r["identifier"])
    assert t["businessStatus"]["coding"][0]["code"] == "snoozed"
    assert t["status"] == "on-hold"
    assert t["statusReason"]["text"] == "snoozed until 2025-06-20"


def test_every_patient_to_ndjson_and_a_folder_and_all_of_it_imports(cli, other_url, tmp_path, today):
    build_patient(cli, full=False)
    cli.ok("patient", "add", "P/2", "--birth-date", "1960-01-01", "--clinic", "south")
    cli.ok("patient", "add", "P3", "--birth-date", "1961-01-01")
    nd = tmp_path / "all.ndjson"
    result = cli.ok("export", "fhir", "--out", nd)
    assert "Exported 3 patient(s)" in result.stdout
    lines = nd.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    for line in lines:
        validate_r4b(json.loads(line))
    folder = tmp_path / "bundles"
    folder.mkdir()
    cli.ok("export", "fhir", "--out", folder)
    assert sorted(p.name for p in folder.iterdir()) == ["P100.json", "P3.json", "P_2.json"]
    assert (folder / "P3.json").read_text(encoding="utf-8") == json.dumps(json.loads(lines[1]), indent=2,
                                                                           ensure_ascii=False) + "\n"
    stdout = cli.ok("export", "fhir", "--clinic", "south").stdout
    assert [json.loads(x)["entry"][0]["resource"]["identifier"][0]["value"] for x in stdout.splitlines()] == ["P/2"]
    report = cli.json("import", nd, "--json", db=other_url)
    assert sorted(report["patients"]) == ["P/2", "P100", "P3"]
    assert report["written"]["patients_created"] == 3


# --------------------------------------------------------------------------- bad input


def test_unknown_mrn_is_an_error_and_writes_nothing(cli, tmp_path, today):
    cli.ok("patient", "add", "P1", "--birth-date", "1955-01-01")
    out = tmp_path / "x.json"
    line = cli.error("export", "fhir", "P1", "NOPE", "--out", out)
    assert "NOPE" in line
    assert not out.exists() and list(tmp_path.glob(".x.json*")) == []


def test_an_output_folder_that_does_not_exist_is_a_clear_error(cli, tmp_path, today):
    cli.ok("patient", "add", "P1", "--birth-date", "1955-01-01")
    line = cli.error("export", "fhir", "--out", tmp_path / "missing" / "all.ndjson")
    assert "out" in line and "no folder" in line
    line = cli.error("export", "fhir", "--out", f"{tmp_path / 'missing'}/")
    assert "existing folder" in line
    assert not (tmp_path / "missing").exists()


def test_one_json_file_takes_one_patient(cli, tmp_path, today):
    cli.ok("patient", "add", "P1", "--birth-date", "1955-01-01")
    cli.ok("patient", "add", "P2", "--birth-date", "1956-01-01")
    line = cli.error("export", "fhir", "--out", tmp_path / "all.json")
    assert "2 patients" in line and ".ndjson" in line
    assert not (tmp_path / "all.json").exists()


def test_unknown_clinic_and_bad_dates_are_errors(cli, tmp_path, today):
    cli.ok("patient", "add", "P1", "--birth-date", "1955-01-01")
    assert "clinic" in cli.error("export", "fhir", "--clinic", "nowhere")
    assert "as-of" in cli.error("export", "fhir", "P1", "--as-of", "2025-02-30")
    assert cli("export", "fhir", "P1", "--out", tmp_path / "x.txt").exit_code == 1
