"""FHIR import of the real fixture files: the facts each one must yield (fixtures DATA.md)."""

from __future__ import annotations

import gzip
import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.core.domain import (
    AIStatus,
    Drug,
    DxaSite,
    FractureSite,
    Mechanism,
    Menopause,
    NoteKind,
    PatientFacts,
    Sex,
    Side,
)
from monitor.core.risk import assess, round_t
from monitor.intake.fhir import looks_like_fhir, read_fhir
from monitor.intake.fhir.reader import FhirImport
from monitor.settings import load_settings
from tests.paths import FIXTURES

SHARED = Path("/work/shared/fixtures/fhir")
TODAY = date(2026, 11, 25)
SETTINGS = load_settings()
NOT_FHIR = {"log.ndjson", "README.txt", "BMD.tsv", "SHA256SUMS", "PROVENANCE.md"}


def read(*names: str | Path) -> FhirImport:
    paths = [n if isinstance(n, Path) else FIXTURES / n for n in names]
    return read_fhir(paths, fhir=SETTINGS.fhir, policy=SETTINGS.policy, today=TODAY)


def only(imp: FhirImport) -> PatientFacts:
    assert len(imp.patients) == 1, [p.patient.mrn for p in imp.patients]
    return imp.patients[0]


def by_mrn(imp: FhirImport, mrn: str) -> PatientFacts:
    found = [p for p in imp.patients if p.patient.mrn == mrn]
    assert found, f"{mrn} not in {[p.patient.mrn for p in imp.patients]}"
    return found[0]


def messages(imp: FhirImport, severity: str | None = None) -> list[str]:
    return [p.message for f in imp.files for p in f.problems if severity is None or p.severity == severity]


def fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- US Core and HL7 core DXA


def test_us_core_patient_has_left_hip_and_femur_t_scores_and_female_sex_from_the_extension():
    facts = only(read("us-core-dxa"))
    assert facts.patient.mrn == "1032702"
    assert facts.patient.sex is Sex.FEMALE  # no Patient.gender: the us-core-individual-sex extension
    rois = {(r.site, r.side): r for r in facts.dxa}
    hip, femur = rois[(DxaSite.TOTAL_HIP, Side.LEFT)], rois[(DxaSite.FEMORAL_NECK, Side.LEFT)]
    assert (hip.date, hip.t_score) == (date(2021, 11, 10), Decimal("-1.62"))
    assert (femur.date, femur.t_score) == (date(2021, 11, 10), Decimal("-1.48"))
    assert hip.source == "fhir:Observation/dxa-hip-l-t-score-bmd"


def test_us_core_z_scores_and_bmd_join_the_t_score_of_their_roi():
    facts = only(read("us-core-dxa"))
    assert len(facts.dxa) == 2
    rois = {r.site: r for r in facts.dxa}
    assert (rois[DxaSite.TOTAL_HIP].z_score, rois[DxaSite.TOTAL_HIP].bmd) == (Decimal("-0.19"), 0.734)
    assert (rois[DxaSite.FEMORAL_NECK].z_score, rois[DxaSite.FEMORAL_NECK].bmd) == (Decimal("0.05"), 0.631)


def test_us_core_report_counts_each_observation_as_imported_and_the_practitioner_as_ignored():
    imp = read("us-core-dxa")
    assert sum(f.imported for f in imp.files) == 7  # six Observations and the Patient
    assert sum(f.ignored_by.get("Practitioner", 0) + f.ignored_by.get("DiagnosticReport", 0) for f in imp.files) == 2
    assert not messages(imp, "error")


@pytest.mark.parametrize("name", sorted(p.name for p in (FIXTURES / "us-core-dxa").glob("dxa-*.json")))
def test_a_us_core_observation_alone_is_refused_because_its_patient_is_absent(name):
    imp = read(f"us-core-dxa/{name}")
    report = imp.files[0]
    assert (report.read, report.imported, report.rejected, report.fatal) == (1, 0, 1, False)
    assert "subject 'Patient/example' is not in this import" in report.problems[0].message
    assert report.problems[0].where.endswith(f"{name}#Observation/{name.removesuffix('.json')}")
    assert imp.patients == []


def test_hl7_core_bmd_example_is_refused_naming_the_missing_patient_and_the_missing_date():
    report = read("hl7-fhir-core/observation-example-bmd.json").files[0]
    assert report.rejected == 1
    message = report.problems[0].message
    assert "subject 'Patient/pat2' is not in this import" in message
    assert "no effective date" in message


# --------------------------------------------------------------------------- Synthea bundles


SMART = "synthea-r4-bundles/smart-generated-sample-data"
OMOP = "synthea-r4-bundles/mcode-fhir-reasoning-omop-ri"
HALLIE = f"{SMART}/Hallie_Hoeger_62a0b57c-4129-43d9-b787-bcf7ad4fa654.json.gz"


def test_hallie_hoeger_has_two_dxas_alendronate_and_an_osteoporotic_forearm_fracture():
    facts = only(read(HALLIE))
    assert facts.patient.birth_date == date(1926, 6, 6)
    assert [(r.date, r.site, round_t(r.t_score)) for r in facts.dxa] == [
        (date(2012, 4, 2), DxaSite.UNSPECIFIED, Decimal("-0.0")),
        (date(2016, 10, 9), DxaSite.UNSPECIFIED, Decimal("-3.3")),
    ]
    assert facts.dxa[1].t_score == Decimal("-3.3138274392911726")  # exact, rounded only by the risk rules
    assert [(c.drug, c.start, c.stop) for c in facts.courses] == [(Drug.ALENDRONATE, date(2016, 10, 9), None)]
    fx = [f for f in facts.fractures if f.date == date(2020, 12, 16)]
    assert [(f.site, f.mechanism) for f in fx] == [(FractureSite.DISTAL_FOREARM, Mechanism.FRAGILITY)]


def test_hallie_hoeger_forearm_fracture_without_an_osteoporosis_code_keeps_an_unknown_mechanism():
    facts = only(read(HALLIE))
    first = [f for f in facts.fractures if f.date == date(2012, 4, 2)]
    assert [(f.site, f.mechanism) for f in first] == [(FractureSite.DISTAL_FOREARM, Mechanism.UNKNOWN)]


def test_hallie_hoeger_labs_and_vitals_come_in_canonical_units_one_vitals_fact_per_day():
    facts = only(read(HALLIE))
    assert facts.labs and all(lab.unit in ("mmol/L", "umol/L", "mL/min/1.73m2", "g/L") for lab in facts.labs)
    days = [v.date for v in facts.vitals]
    assert len(days) == len(set(days))
    assert any(v.weight_kg and v.height_cm and v.bmi for v in facts.vitals)


@pytest.mark.parametrize(
    "path",
    [
        f"{SMART}/Lonnie_Von_28fbf0c8-5a9c-4781-b79f-f6118c3e2816.json.gz",
        f"{OMOP}/Kevin729_Reynolds644_c94bb5f4-5c25-84b1-ca96-f846db8e94f3.json.gz",
    ],
)
def test_the_two_men_are_imported_as_male_and_assessed_out_of_scope(path, policy):
    facts = only(read(path))
    assert facts.patient.sex is Sex.MALE
    assert any(c.drug is Drug.ALENDRONATE for c in facts.courses)
    assessment = assess(facts, as_of=TODAY, policy=policy)
    assert "OUT_OF_SCOPE" in assessment.flags and "MALE" in assessment.exit_reasons


def test_josie_has_a_tamoxifen_course_and_no_ai_so_she_is_not_on_an_ai(policy):
    imp = read(f"{OMOP}/Josie226_Mitchell808_c209d8f7-892e-323a-6da8-07ad1510700f.json.gz")
    facts = only(imp)
    assert [(c.drug, c.start, c.stop) for c in facts.courses] == [(Drug.TAMOXIFEN, date(2019, 2, 10), None)]
    assert assess(facts, as_of=TODAY, policy=policy).ai_status is AIStatus.NONE
    assert any("status stopped but no end date" in m for m in messages(imp, "warning"))


def test_clorinda_keeps_her_date_of_death_and_four_fragility_fractures():
    facts = only(read(f"{SMART}/Clorinda_Wilkinson_3a77c3ad-6d14-4ec5-ac60-05a01355bb27.json.gz"))
    assert facts.patient.deceased_date == date(2019, 7, 1)
    fragility = [f for f in facts.fractures if f.mechanism is Mechanism.FRAGILITY]
    assert [f.date.year for f in fragility] == [2011, 2012, 2014, 2015]
    assert facts.dxa == ()


# --------------------------------------------------------------------------- bulk NDJSON export

BULK = "synthea-bulk-10-patients"


def test_bulk_export_yields_thirteen_patients_with_their_dates_of_death():
    imp = read(BULK)
    assert len(imp.patients) == 13
    deaths = {p.patient.mrn: p.patient.deceased_date for p in imp.patients if p.patient.deceased_date}
    assert deaths == {
        "129c6ac7-8d06-89de-ad63-0204a93e76c3": date(1989, 5, 9),
        "3af3708d-41f1-cd80-f3dd-ec5ac76072bf": date(1971, 10, 1),
        "79a66c97-6131-3213-f3c9-4606946ab056": date(1994, 11, 11),
    }


def test_bulk_export_seventeen_yearly_alendronate_orders_are_one_open_course_from_2007():
    facts = by_mrn(read(BULK), "a5cb8ce9-cec6-6b23-0990-cbaf753578a4")
    assert [(c.drug, c.start, c.stop) for c in facts.courses] == [(Drug.ALENDRONATE, date(2007, 11, 10), None)]
    assert [(f.date, f.site, f.mechanism) for f in facts.fractures] == [
        (date(2018, 10, 18), FractureSite.DISTAL_FOREARM, Mechanism.FRAGILITY)
    ]


def test_bulk_export_references_resolve_across_files_whatever_the_order():
    forward = read(f"{BULK}/Patient.000.ndjson", f"{BULK}/MedicationRequest.000.ndjson.gz")
    backward = read(f"{BULK}/MedicationRequest.000.ndjson.gz", f"{BULK}/Patient.000.ndjson")
    assert forward.patients == backward.patients
    assert sum(f.rejected for f in forward.files) == 0


def test_bulk_export_log_is_refused_as_not_fhir_without_a_traceback():
    report = read(f"{BULK}/log.ndjson").files[0]
    assert report.fatal
    assert "no item in the file has a resourceType" in report.problems[0].message


def test_a_bulk_file_without_its_patients_rejects_every_mapped_resource_with_the_reason():
    report = read(f"{BULK}/MedicationRequest.000.ndjson.gz").files[0]
    assert report.imported == 0 and report.rejected == 17
    assert all("is not in this import" in p.message for p in report.problems)
    assert report.problems[0].where.startswith(str(FIXTURES / BULK / "MedicationRequest.000.ndjson.gz") + ":")


# --------------------------------------------------------------------------- mCODE and PACIO


def test_jenny_m_anastrozole_coded_at_ingredient_level_starts_on_the_bounds_period():
    facts = only(read("pacio-jenny-m"))
    assert facts.patient.mrn == "1072702"
    assert [(c.drug, c.start, c.planned_start, c.stop, c.dose_mg) for c in facts.courses] == [
        (Drug.ANASTROZOLE, date(2018, 9, 30), None, None, 1.0)
    ]
    assert any(n.kind is NoteKind.SMOKER for n in facts.notes)


def test_mcode_bone_metastasis_without_onset_takes_both_patients_out_of_the_pathway(policy):
    imp = read("mcode-breast-ai/TrialMatching_Patient01.json", "mcode-breast-ai/TrialMatching_Patient02.json")
    assert len(imp.patients) == 2
    for facts in imp.patients:
        assert [(n.kind, n.date) for n in facts.notes if n.kind is NoteKind.BONE_METASTASIS] == [
            (NoteKind.BONE_METASTASIS, None)
        ]
        assert "BONE_METASTASIS" in assess(facts, as_of=TODAY, policy=policy).exit_reasons


def test_trial_matching_patients_sharing_identifier_a123_but_not_birth_date_are_kept_apart():
    imp = read("mcode-breast-ai/TrialMatching_Patient01.json", "mcode-breast-ai/TrialMatching_Patient02.json")
    assert {(p.patient.mrn, p.patient.birth_date) for p in imp.patients} == {
        ("a123", date(1959, 1, 1)),
        ("a123~1973-01-01", date(1973, 1, 1)),
    }
    warnings = messages(imp, "warning")
    assert any("kept apart as a different patient" in m and "birth date" in m for m in warnings)
    assert any("stored as 'a123~1973-01-01'" in m for m in warnings)


def test_trial_matching_patient_02_has_all_three_ais_and_zoledronic_acid_at_dose_form_group_level():
    facts = only(read("mcode-breast-ai/TrialMatching_Patient02.json"))
    starts = {c.drug: c.start for c in facts.courses}
    assert starts == {
        Drug.EXEMESTANE: date(2019, 6, 1),
        Drug.ZOLEDRONIC_ACID: date(2019, 6, 1),
        Drug.ANASTROZOLE: date(2019, 7, 1),
        Drug.LETROZOLE: date(2019, 8, 1),
        Drug.TAMOXIFEN: date(2019, 12, 1),
    }
    ignored = read("mcode-breast-ai/TrialMatching_Patient02.json").files[0].ignored_by
    assert ignored["MedicationStatement 1156671 (fulvestrant, not tracked)"] == 1


def test_trial_matching_patient_01_on_leuprolide_gets_an_ovarian_suppression_note():
    facts = only(read("mcode-breast-ai/TrialMatching_Patient01.json"))
    assert [(n.kind, n.date) for n in facts.notes if n.kind is NoteKind.OFS] == [(NoteKind.OFS, date(2019, 4, 1))]
    assert facts.courses == ()  # no AI: a negative control


def test_maryam_json_array_yields_anastrozole_from_2019_12_30_and_no_dxa(policy):
    imp = read("mcode-breast-ai/Maryam.json")
    facts = only(imp)
    assert [(c.drug, c.start, c.stop) for c in facts.courses] == [(Drug.ANASTROZOLE, date(2019, 12, 30), None)]
    assert facts.dxa == ()
    assessment = assess(facts, as_of=date(2020, 1, 15), policy=policy)
    assert assessment.ai_status is AIStatus.CURRENT and "NO_BMD" in assessment.flags
    assert imp.files[0].ignored_by["Condition 254837009 (context: breast cancer)"] == 1


# --------------------------------------------------------------------------- CMS249 test bundles

CMS = "cqf-cms249-dxa-tests"


def cms(uuid8: str) -> Path:
    return next((FIXTURES / CMS).glob(f"tests-{uuid8}-*-bundle.json"))


def test_cms249_cases_sharing_an_identifier_merge_with_a_warning_but_the_man_stays_apart():
    imp = read(CMS)
    assert {(p.patient.mrn, p.patient.sex) for p in imp.patients} == {
        ("999999995", Sex.FEMALE),
        ("999999995~1975-01-01~male", Sex.MALE),
    }
    warnings = messages(imp, "warning")
    assert sum("merged with" in m for m in warnings) == 51
    assert any("with another sex" in m for m in warnings)


def test_cms249_frax_mof_observation_becomes_a_frax_fact():
    facts = only(read(cms("76b79115")))
    assert [(f.date, f.mof, f.hip) for f in facts.frax] == [(date(2025, 1, 1), 8.4, None)]


def test_cms249_anastrozole_plan_is_a_planned_course_and_the_bounded_order_a_course():
    planned = only(read(cms("df8f004b"))).courses
    assert [(c.drug, c.start, c.planned_start) for c in planned] == [(Drug.ANASTROZOLE, None, date(2025, 1, 1))]
    ordered = only(read(cms("c2885ae7"))).courses
    assert [(c.start, c.stop) for c in ordered] == [(date(2024, 12, 31), date(2024, 12, 31))]


def test_cms249_glucocorticoid_order_is_a_course_with_its_bounds():
    facts = only(read(cms("8d04edbd")))
    assert [(c.drug, c.start, c.stop) for c in facts.courses] == [
        (Drug.GLUCOCORTICOID, date(2025, 1, 2), date(2025, 4, 1))
    ]


def test_cms249_bilateral_oophorectomy_and_premature_menopause_make_the_patient_postmenopausal():
    assert only(read(cms("e22e977b"))).patient.menopause is Menopause.POST
    assert only(read(cms("b5e83a18"))).patient.menopause is Menopause.POST
    assert only(read(cms("00aebb4a"))).patient.menopause is Menopause.UNKNOWN


def test_cms249_osteoporosis_condition_is_counted_as_context_not_lost():
    report = read(cms("00aebb4a")).files[0]
    assert report.ignored_by == {
        "Encounter": 1,
        "MeasureReport": 1,
        "Condition 109346000 (context: osteoporosis)": 1,
    }
    assert report.unknown_codes == []


def test_cms249_postoophorectomy_osteoporosis_with_fracture_is_a_fragility_fracture():
    facts = only(read(cms("b37d7d0c")))
    assert [(f.date, f.site, f.mechanism) for f in facts.fractures] == [
        (date(2025, 12, 31), FractureSite.OTHER, Mechanism.FRAGILITY)
    ]


def test_facts_dated_after_today_are_rejected_with_the_date_named():
    imp = read_fhir([cms("b37d7d0c")], fhir=SETTINGS.fhir, policy=SETTINGS.policy, today=date(2025, 6, 1))
    report = imp.files[0]
    assert report.rejected == 1
    assert "date: 2025-12-31 is not allowed; a date on or before today (2025-06-01)" in report.problems[0].message


# --------------------------------------------------------------------------- all files, idempotency


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_fixture_file_alone_imports_or_is_refused_with_a_clear_message(path):
    imp = read(path)
    report = imp.files[0]
    if path.name in NOT_FHIR:
        assert report.fatal and report.problems[0].message
        return
    assert not report.fatal
    assert report.read == report.imported + report.ignored + report.rejected
    if report.rejected:  # only Observations whose patient is in another file
        assert all("is not in this import" in p.message for p in report.problems if p.severity == "error")


def test_all_fixture_files_import_together():
    imp = read(*fixture_files())
    assert len(imp.patients) == 29
    fatal = sorted(Path(f.path).name for f in imp.files if f.fatal)
    assert fatal == sorted(NOT_FHIR)
    errors = [p for f in imp.files for p in f.problems if p.severity == "error" and not f.fatal]
    assert [Path(p.where.split("#")[0]).name for p in errors] == ["observation-example-bmd.json"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared fixture folder /work/shared/fixtures/fhir is not here")
def test_the_shared_fixture_folder_imports_as_a_whole():
    imp = read(SHARED)
    assert len(imp.patients) == 29
    assert [Path(f.path).name for f in imp.files if f.fatal] == ["log.ndjson"]


def test_reading_the_same_files_twice_gives_identical_facts():
    first, second = read(HALLIE, BULK), read(HALLIE, BULK)
    assert first.patients == second.patients
    assert [[(f.source, f) for f in p.courses + p.dxa + p.fractures] for p in first.patients] == [
        [(f.source, f) for f in p.courses + p.dxa + p.fractures] for p in second.patients
    ]


def test_a_file_given_twice_in_one_import_adds_no_duplicate_facts():
    once, twice = read("us-core-dxa"), read("us-core-dxa", "us-core-dxa")
    assert once.patients == twice.patients
    assert len(twice.files) == 2 * len(once.files)


def test_fixture_copies_decompress_to_the_listed_originals():
    listed = {}
    for line in (FIXTURES / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name.removeprefix("./")] = digest
    for name, digest in listed.items():
        path = FIXTURES / name
        data = path.read_bytes() if path.exists() else gzip.decompress((FIXTURES / f"{name}.gz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == digest, name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("us-core-dxa/patient-example.json", True),
        ("mcode-breast-ai/Maryam.json", True),
        (f"{BULK}/Patient.000.ndjson", True),
        (f"{BULK}/Condition.000.ndjson.gz", True),
        ("esl-spinal-bmd/BMD.tsv", False),
        ("synthea-bulk-10-patients", True),
        ("cqf-cms249-dxa-tests/README.txt", False),
    ],
)
def test_looks_like_fhir_tells_fhir_json_from_tables(name, expected):
    assert looks_like_fhir(FIXTURES / name) is expected
