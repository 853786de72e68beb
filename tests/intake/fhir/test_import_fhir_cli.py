"""`bonemon import` of real FHIR files end to end: written, re-imported, refused, all or nothing."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from tests.dbfixtures import Cli, error_line
from tests.paths import FIXTURES

pytest_plugins = ["tests.dbfixtures"]



def fixture(relative: str, tmp_path: Path) -> Path:
    """A fixture file as a plain file (large ones are stored gzipped beside their name)."""
    path = FIXTURES / relative
    if path.exists():
        return path
    packed = path.with_name(path.name + ".gz")
    target = tmp_path / path.name
    with gzip.open(packed, "rb") as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return target


def show(cli: Cli, mrn: str, as_of: str = "2026-01-01") -> dict:
    return cli.json("patient", "show", mrn, "--as-of", as_of, "--json")


def test_the_us_core_dxa_example_yields_site_t_scores_and_sex_from_the_extension(cli: Cli, tmp_path: Path):
    files = sorted((FIXTURES / "us-core-dxa").glob("*.json"))
    report = cli.json("import", *files, "--json")
    (mrn,) = report["patients"]  # Amy Shaw's first identifier
    doc = show(cli, mrn, "2022-01-01")
    assert doc["sex"] == "female"
    rows = {(r["site"], str(r["t_score"])) for r in cli.fetch("dxa") if r["t_score"] is not None}
    assert rows == {("total_hip", "-1.62"), ("femoral_neck", "-1.48")}
    assert doc["t_min"] == -1.6 and doc["t_min_site"] == "total_hip" and doc["bmd_date"] == "2021-11-10"


def test_reimporting_the_same_files_adds_nothing(cli: Cli, tmp_path: Path):
    files = sorted((FIXTURES / "mcode-breast-ai").glob("*.json"))
    cli.ok("import", *files)
    before = {t: cli.count(t) for t in ("patient", "course", "dose", "note", "dxa")}
    audit_before = cli.count("audit")
    second = cli.json("import", *files, "--json")
    assert second["written"]["added"] == 0 and second["written"]["updated"] == 0
    assert {t: cli.count(t) for t in before} == before
    assert cli.count("audit") == audit_before, "a re-import that changes nothing writes no audit rows"


def test_mcode_bone_metastasis_takes_the_patients_out_of_the_pathway(cli: Cli):
    cli.ok("import", *sorted((FIXTURES / "mcode-breast-ai").glob("TrialMatching_*.json")))
    for mrn in ("a123", "a123~1973-01-01"):
        doc = show(cli, mrn)
        assert not doc["in_pathway"] and "BONE_METASTASIS" in doc["exit_reasons"]
        assert [a["code"] for a in doc["alerts"]] == ["ALERT-EXIT"] and doc["tasks"] == []


def test_two_patients_sharing_an_identifier_but_not_a_birth_date_are_kept_apart(cli: Cli):
    report = cli.json("import", *sorted((FIXTURES / "mcode-breast-ai").glob("TrialMatching_*.json")), "--json")
    assert sorted(report["patients"]) == ["a123", "a123~1973-01-01"]
    births = {r["mrn"]: r["birth_date"] for r in cli.json("patient", "list", "--json")["patients"]}
    assert births == {"a123": "1959-01-01", "a123~1973-01-01": "1973-01-01"}
    warnings = [p for f in report["files"] for p in f["problems"] if p["severity"] == "warning"]
    assert any("kept apart" in p["message"] for p in warnings)


def test_the_bulk_export_brings_thirteen_patients_with_their_deaths(cli: Cli, tmp_path: Path):
    folder = FIXTURES / "synthea-bulk-10-patients"
    files = [fixture(f"synthea-bulk-10-patients/{name}", tmp_path)
             for name in ("Patient.000.ndjson", "Condition.000.ndjson", "MedicationRequest.000.ndjson",
                          "Procedure.000.ndjson")]
    assert folder.exists()
    cli.ok("import", *files)
    patients = cli.json("patient", "list", "--json")["patients"]
    assert len(patients) == 13
    assert sum(1 for p in patients if p["deceased_date"]) >= 1


def test_the_bulk_export_log_is_refused_with_a_clear_error_and_nothing_is_written(cli: Cli, tmp_path: Path):
    log = fixture("synthea-bulk-10-patients/log.ndjson", tmp_path)
    patients = fixture("synthea-bulk-10-patients/Patient.000.ndjson", tmp_path)
    before = cli.snapshot()
    line = error_line(cli("import", patients, log))
    assert "log.ndjson" in line and "nothing was written" in line
    assert cli.snapshot() == before


def test_skip_invalid_imports_the_valid_files_beside_a_refused_one(cli: Cli, tmp_path: Path):
    log = fixture("synthea-bulk-10-patients/log.ndjson", tmp_path)
    patients = fixture("synthea-bulk-10-patients/Patient.000.ndjson", tmp_path)
    cli.ok("import", patients, log, "--skip-invalid")
    assert cli.count("patient") == 13


def test_a_tsv_file_is_refused_as_neither_csv_nor_fhir(cli: Cli):
    before = cli.snapshot()
    line = error_line(cli("import", FIXTURES / "esl-spinal-bmd" / "BMD.tsv"))
    assert "BMD.tsv" in line and "neither a bonemon CSV" in line
    assert cli.snapshot() == before


def test_an_observation_without_its_patient_is_rejected_not_guessed(cli: Cli):
    before = cli.snapshot()
    report = cli.json_fails("import", FIXTURES / "hl7-fhir-core" / "observation-example-bmd.json", "--json")
    errors = [p for f in report["files"] for p in f["problems"] if p["severity"] == "error"]
    assert errors and "pat2" in errors[0]["message"]
    assert cli.snapshot() == before


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("truncated.json", '{"resourceType": "Bundle", "type": "collection", "entry": [', "not valid JSON"),
        ("wrong.json", '{"resourceType": "Banana", "id": "x"}', "Banana"),
        ("baddate.json", json.dumps({"resourceType": "Patient", "id": "p1", "birthDate": "2021-13-40",
                                     "identifier": [{"value": "X1"}]}), "2021-13-40"),
    ],
)
def test_malformed_fhir_is_refused_without_a_traceback_and_writes_nothing(cli: Cli, tmp_path: Path, name, content,
                                                                          words):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    before = cli.snapshot()
    result = cli("import", path)
    line = error_line(result)
    assert words in line or words in result.stdout
    assert cli.snapshot() == before


def test_dry_run_reports_what_would_be_written_and_writes_nothing(cli: Cli):
    before = cli.snapshot()
    report = cli.json("import", *sorted((FIXTURES / "mcode-breast-ai").glob("*.json")), "--dry-run", "--json")
    assert report["dry_run"] is True and report["written"]["added"] > 0
    assert cli.snapshot() == before


def test_jenny_m_anastrozole_coded_at_ingredient_level_makes_her_ai_current(cli: Cli):
    report = cli.json("import", FIXTURES / "pacio-jenny-m" / "Bundle-mcode-patient-bundle-jenny-m.json", "--json")
    (mrn,) = report["patients"]
    courses = cli.fetch("course")
    assert any(c["drug"] == "anastrozole" and str(c["start"]) == "2018-09-30" for c in courses)
    assert show(cli, mrn, "2019-01-01")["ai_status"] == "current"
