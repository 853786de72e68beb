"""`bonemon import` of the documented CSV format (monitor/csv_import.py), on SQLite and PostgreSQL.

One record per row: columns mrn, record, optional clinic, and the value columns of
monitor.intake.factbuild.COLUMNS. All or nothing by default; `--skip-invalid` writes the valid rows and a
`<name>.rejects.csv`; `--dry-run` writes nothing; a second import of the same file adds nothing.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.dbfixtures")
from tests.dbfixtures import Cli, error_line  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]

TSV_FIXTURE = Path("/work/shared/fixtures/fhir/esl-spinal-bmd/BMD.tsv")

EVERY_RECORD = [
    {"mrn": "P1", "record": "patient", "birth_date": "1950-01-01", "name": "Ann Example", "sex": "female",
     "menopause": "post"},
    {"mrn": "P2", "record": "patient", "clinic": "north", "birth_date": "1948-07-15", "name": "Bo, Jr."},
    {"mrn": "P1", "record": "therapy_start", "drug": "anastrozole", "date": "2020-01-01"},
    {"mrn": "P1", "record": "therapy_stop", "drug": "anastrozole", "date": "2024-12-31", "stop_reason": "switch"},
    {"mrn": "P1", "record": "therapy_start", "drug": "letrozole", "date": "2025-01-01"},
    {"mrn": "P1", "record": "therapy_start", "drug": "denosumab", "date": "2025-02-01", "dose_mg": "60",
     "interval_months": "6"},
    {"mrn": "P2", "record": "therapy_start", "drug": "exemestane", "date": "2025-07-01", "planned": "true",
     "clinic": "north"},
    {"mrn": "P1", "record": "dose", "drug": "denosumab", "date": "2025-02-01", "dose_mg": "60"},
    {"mrn": "P1", "record": "dose", "drug": "letrozole", "date": "2025-01-01", "dose_mg": "2.5", "days_supply": "90"},
    {"mrn": "P1", "record": "dxa", "date": "2025-01-10", "site": "femoral_neck", "t_score": "-2.1", "bmd": "0.70",
     "side": "left", "scanner": "H1"},
    {"mrn": "P1", "record": "dxa", "date": "2025-01-10", "site": "lumbar_spine", "t_score": "-1.2", "vertebrae": "4"},
    {"mrn": "P1", "record": "marker", "date": "2025-01-10", "analyte": "ctx", "value": "0.45", "unit": "ng/mL"},
    {"mrn": "P1", "record": "lab", "date": "2025-01-10", "analyte": "calcium", "value": "9.2", "unit": "mg/dL"},
    {"mrn": "P1", "record": "fracture", "date": "2024-03-03", "site": "distal_forearm", "mechanism": "fragility"},
    {"mrn": "P1", "record": "frax", "date": "2025-01-10", "hip": "2.5", "mof": "14", "with_bmd": "true",
     "model": "UK"},
    {"mrn": "P1", "record": "vitals", "date": "2025-01-10", "weight_kg": "60", "height_cm": "160", "bmi": "23.4",
     "waist_cm": "79"},
    {"mrn": "P1", "record": "note", "date": "2025-01-05", "kind": "dental_check", "text": "no caries"},
]
FACT_TABLES = ("course", "dose", "dxa", "marker", "lab", "fracture", "frax", "vitals", "note")


def write_csv(path: Path, rows: list[dict[str, str]], *, encoding: str = "utf-8") -> Path:
    header = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def patient_rows(*mrns: str) -> list[dict[str, str]]:
    return [{"mrn": m, "record": "patient", "birth_date": "1950-01-01"} for m in mrns]


def only(rows: list[dict]) -> dict:
    assert len(rows) == 1, rows
    return rows[0]


@pytest.fixture
def every_record(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "cohort.csv", EVERY_RECORD)


# --------------------------------------------------------------------------- the documented format


def test_every_record_type_is_imported_as_written(cli: Cli, today, every_record: Path):
    result = cli.ok("import", str(every_record))

    assert result.stdout.startswith(f"{every_record}: read {len(EVERY_RECORD)}, ")
    assert "rejected 0" in result.stdout
    counts = cli.counts()
    assert {t: counts[t] for t in ("patient", *FACT_TABLES)} == {
        "patient": 2, "course": 4, "dose": 2, "dxa": 2, "marker": 1, "lab": 1, "fracture": 1, "frax": 1,
        "vitals": 1, "note": 1}
    patients = {(p["clinic"], p["mrn"]): p for p in cli.fetch("patient")}
    assert (patients["main", "P1"]["name"], patients["main", "P1"]["menopause"]) == ("Ann Example", "post")
    assert (patients["north", "P2"]["name"], patients["north", "P2"]["birth_date"]) == ("Bo, Jr.", date(1948, 7, 15))
    courses = {c["drug"]: c for c in cli.fetch("course")}
    assert (courses["anastrozole"]["start"], courses["anastrozole"]["stop"], courses["anastrozole"]["stop_reason"]) \
        == (date(2020, 1, 1), date(2024, 12, 31), "switch")
    assert (courses["denosumab"]["dose_mg"], courses["denosumab"]["interval_months"]) == (60.0, 6)
    assert (courses["exemestane"]["start"], courses["exemestane"]["planned_start"]) == (None, date(2025, 7, 1))
    dxa = {d["site"]: d for d in cli.fetch("dxa")}
    assert (dxa["femoral_neck"]["t_score"], dxa["femoral_neck"]["side"], dxa["femoral_neck"]["scanner"]) == (
        Decimal("-2.1"), "left", "H1")
    assert dxa["lumbar_spine"]["vertebrae"] == 4
    marker = only(cli.fetch("marker"))
    assert (marker["value"], marker["unit"]) == (450.0, "ng/L")
    assert only(cli.fetch("lab"))["value"] == pytest.approx(2.2954, abs=1e-4)
    assert only(cli.fetch("frax"))["with_bmd"] is True
    assert only(cli.fetch("note"))["text"] == "no caries"


def test_a_marker_and_a_lab_keep_the_value_and_unit_as_reported_like_record_does(
    cli: Cli, today, every_record: Path
):
    cli.ok("import", str(every_record))
    marker, lab = only(cli.fetch("marker")), only(cli.fetch("lab"))
    assert (marker["value_reported"], marker["unit_reported"]) == (0.45, "ng/mL")
    assert (lab["value_reported"], lab["unit_reported"]) == (9.2, "mg/dL")


def test_an_import_is_audited_once_per_patient(cli: Cli, today, every_record: Path):
    cli.ok("import", str(every_record), user="importer")
    entries = cli.json("audit", "log", "--json")["entries"]
    assert sorted((e["user"], e["action"], e["mrn"]) for e in entries) == [
        ("importer", "import patient", "P1"), ("importer", "import patient", "P2")]
    assert cli.ok("audit", "verify").stdout.startswith("audit trail intact: 2 rows")


def test_the_report_accounts_for_every_row_read(cli: Cli, today, every_record: Path):
    report = only(cli.json("import", str(every_record), "--json")["files"])
    assert report["read"] == report["imported"] + report["ignored"] + report["rejected"], report


def test_import_json_has_the_design_shape(cli: Cli, today, every_record: Path):
    doc = cli.json("import", str(every_record), "--json")

    assert set(doc) >= {"files", "patients"}
    report = only(doc["files"])
    assert set(report) >= {"path", "read", "imported", "ignored", "rejected", "problems"}
    assert (report["path"], report["read"], report["rejected"], report["problems"]) == (
        str(every_record), len(EVERY_RECORD), 0, [])
    assert sorted(doc["patients"]) == ["P1", "P2"]


def test_a_utf8_file_with_a_byte_order_mark_is_accepted(cli: Cli, today, tmp_path: Path):
    path = write_csv(tmp_path / "bom.csv", patient_rows("P1"), encoding="utf-8-sig")
    cli.ok("import", str(path))
    assert only(cli.fetch("patient"))["mrn"] == "P1"


def test_a_header_with_quoted_column_names_is_accepted(cli: Cli, today, tmp_path: Path):
    path = tmp_path / "quoted.csv"
    path.write_text('"mrn","record","birth_date"\r\n"P1","patient","1950-01-01"\r\n', encoding="utf-8")
    cli.ok("import", str(path))
    assert only(cli.fetch("patient"))["mrn"] == "P1"


def test_a_therapy_stop_row_closes_a_course_started_in_the_database_earlier(cli: Cli, today, tmp_path: Path):
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    cli.ok("therapy", "start", "P1", "--drug", "letrozole", "--date", "2020-02-02")
    path = write_csv(tmp_path / "stop.csv", [{"mrn": "P1", "record": "therapy_stop", "drug": "letrozole",
                                              "date": "2025-02-02", "stop_reason": "completed"}])

    cli.ok("import", str(path))

    course = only(cli.fetch("course"))
    assert (course["start"], course["stop"], course["stop_reason"]) == (
        date(2020, 2, 2), date(2025, 2, 2), "completed")
    assert cli.json("patient", "show", "P1", "--json")["ai_status"] == "past"


def test_facts_for_a_patient_already_in_the_database_need_no_patient_row(cli: Cli, today, tmp_path: Path):
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    path = write_csv(tmp_path / "facts.csv", [{"mrn": "P1", "record": "vitals", "date": "2025-05-01", "bmi": "22"}])
    cli.ok("import", str(path))
    assert only(cli.fetch("vitals"))["bmi"] == 22.0


# --------------------------------------------------------------------------- all or nothing, skip-invalid, dry run


def test_one_bad_row_refuses_the_whole_file_naming_every_problem(cli: Cli, today, tmp_path: Path):
    rows = [*patient_rows("P1"),
            {"mrn": "P1", "record": "vitals", "date": "2025-05-01", "bmi": "22"},
            {"mrn": "P1", "record": "dxa", "date": "2025-05-01", "site": "total_hip", "t_score": "42"},
            {"mrn": "P1", "record": "lab", "date": "2025-05-01", "analyte": "calcium", "value": "2.3", "unit": "ng/mL"}]
    path = write_csv(tmp_path / "in.csv", rows)
    before = cli.snapshot()

    result = cli("import", str(path))

    line = error_line(result)
    assert line.startswith(f"Error: {path}:4 ") and "42" in line and "nothing was written" in line
    assert f"{path}:4 column t" in result.stdout and "42 is not allowed" in result.stdout
    assert f"{path}:5 column unit" in result.stdout and "'ng/mL'" in result.stdout
    assert cli.snapshot() == before


def test_a_problem_names_the_column_as_spelled_in_the_header(cli: Cli, today, tmp_path: Path):
    rows = [*patient_rows("P1"),
            {"mrn": "P1", "record": "dxa", "date": "2025-05-01", "site": "total_hip", "t_score": "42"}]
    path = write_csv(tmp_path / "in.csv", rows)
    problems = only(cli.json_fails("import", str(path), "--json")["files"])["problems"]
    assert only(problems)["where"] == f"{path}:3 column t_score"


@pytest.mark.parametrize(("row", "column", "value"), [
    ({"mrn": "P1", "record": "dose", "drug": "letrozole", "date": "2025-06-02"}, "date", "2025-06-02"),
    ({"mrn": "P1", "record": "dose", "drug": "letrozole", "date": "1949-12-31"}, "date", "1949-12-31"),
    ({"mrn": "P1", "record": "dose", "drug": "aspirin", "date": "2025-05-01"}, "drug", "aspirin"),
    ({"mrn": "P1", "record": "dose", "drug": "letrozole", "date": "2025-05-01", "days_supply": "400"}, "days", "400"),
    ({"mrn": "P1", "record": "dxa", "date": "2025-05-01", "site": "elbow", "t_score": "-1"}, "site", "elbow"),
    ({"mrn": "P1", "record": "marker", "date": "2025-05-01", "analyte": "ctx", "value": "abc", "unit": "ng/L"},
     "value", "abc"),
    ({"mrn": "NOPE", "record": "vitals", "date": "2025-05-01", "bmi": "22"}, "mrn", "NOPE"),
    ({"mrn": "P1", "record": "vitals", "date": "2025-05-01", "bmi": "22", "drug": "letrozole"}, "drug", "letrozole"),
    ({"mrn": "P1", "record": "biopsy", "date": "2025-05-01"}, "record", "biopsy"),
    ({"mrn": "", "record": "vitals", "date": "2025-05-01", "bmi": "22"}, "mrn", "''"),
], ids=["future-date", "before-birth", "unknown-drug", "days-supply-400", "unknown-site", "value-abc",
        "unknown-patient", "a-column-of-another-record-type", "unknown-record-type", "empty-mrn"])
def test_a_bad_row_is_named_by_file_line_column_and_value(cli: Cli, today, tmp_path: Path, row, column, value):
    path = write_csv(tmp_path / "in.csv", [*patient_rows("P1"), row])
    before = cli.snapshot()

    result = cli("import", str(path))

    line = error_line(result)
    assert line.startswith(f"Error: {path}:3 column {column}"), line
    assert value in line
    assert cli.snapshot() == before


def test_a_bad_file_among_several_refuses_them_all(cli: Cli, today, tmp_path: Path):
    good = write_csv(tmp_path / "good.csv", patient_rows("P1", "P2"))
    bad = write_csv(tmp_path / "bad.csv", [*patient_rows("P3"),
                                           {"mrn": "P3", "record": "vitals", "date": "2025-06-02", "bmi": "22"}])
    before = cli.snapshot()
    line = error_line(cli("import", str(good), str(bad)))
    assert f"{bad}:3" in line
    assert cli.snapshot() == before


def test_skip_invalid_writes_the_valid_rows_and_a_rejects_file(cli: Cli, today, tmp_path: Path):
    rows = [*patient_rows("P1"),
            {"mrn": "P1", "record": "dxa", "date": "2025-05-01", "site": "total_hip", "t_score": "42"},
            {"mrn": "P1", "record": "vitals", "date": "2025-05-01", "bmi": "22"},
            {"mrn": "NOPE", "record": "vitals", "date": "2025-05-01", "bmi": "21"}]
    path = write_csv(tmp_path / "visit.csv", rows)

    result = cli.ok("import", str(path), "--skip-invalid")

    rejects = tmp_path / "visit.rejects.csv"
    assert f"Rejected rows written to {rejects}" in result.stdout
    assert (only(cli.fetch("patient"))["mrn"], only(cli.fetch("vitals"))["bmi"]) == ("P1", 22.0)
    assert cli.counts()["dxa"] == 0
    with rejects.open(encoding="utf-8-sig", newline="") as fh:
        rejected = list(csv.DictReader(fh))
    assert [(r["mrn"], r["record"]) for r in rejected] == [("P1", "dxa"), ("NOPE", "vitals")]
    assert rejected[0]["t_score"] == "42"
    assert rejected[0]["error"].startswith("line 3: ") and "42" in rejected[0]["error"]
    assert rejected[1]["error"].startswith("line 5: ") and "NOPE" in rejected[1]["error"]


def test_skip_invalid_with_nothing_wrong_writes_no_rejects_file(cli: Cli, today, every_record: Path):
    cli.ok("import", str(every_record), "--skip-invalid")
    assert not (every_record.parent / "cohort.rejects.csv").exists()


def test_importing_the_same_file_twice_adds_nothing(cli: Cli, today, every_record: Path):
    cli.ok("import", str(every_record))
    before = cli.snapshot()

    report = only(cli.json("import", str(every_record), "--json")["files"])

    assert (report["imported"], report["rejected"]) == (0, 0)
    assert cli.snapshot() == before, "a second import must change nothing, not even the audit trail"


def test_dry_run_writes_nothing_and_says_so(cli: Cli, today, every_record: Path):
    before = cli.snapshot()
    result = cli.ok("import", str(every_record), "--dry-run")
    assert "Dry run, nothing written: 14 new fact(s), 0 changed, 0 already stored, 2 new patient(s) would be " \
           "imported." in result.stdout
    assert cli.snapshot() == before


def test_dry_run_of_a_bad_file_fails_like_the_real_import(cli: Cli, today, tmp_path: Path):
    rows = [*patient_rows("P1"), {"mrn": "P1", "record": "dxa", "date": "2025-05-01", "site": "hip",
                                  "t_score": "-9"}]
    path = write_csv(tmp_path / "in.csv", rows)
    before = cli.snapshot()
    line = error_line(cli("import", str(path), "--dry-run"))
    assert f"{path}:3" in line and "-9" in line
    assert cli.snapshot() == before


# --------------------------------------------------------------------------- problems found only against the database


@pytest.fixture
def letrozole_since_2025(cli: Cli, today) -> Cli:
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    cli.ok("therapy", "start", "P1", "--drug", "letrozole", "--date", "2025-01-01")
    return cli


STOP_BEFORE_START = {"mrn": "P1", "record": "therapy_stop", "drug": "letrozole", "date": "2024-12-01"}
STOP_NOT_OPEN = {"mrn": "P1", "record": "therapy_stop", "drug": "anastrozole", "date": "2025-02-01"}
OTHER_BIRTH_DATE = {"mrn": "P1", "record": "patient", "birth_date": "1960-01-01"}


@pytest.mark.parametrize(("row", "column", "value"), [
    (STOP_BEFORE_START, "date", "2024-12-01"),
    (STOP_NOT_OPEN, "drug", "anastrozole"),
    (OTHER_BIRTH_DATE, "birth_date", "1960-01-01"),
], ids=["stop-before-the-stored-start", "stop-of-a-course-not-open", "birth-date-differs-from-the-stored-one"])
def test_a_row_that_contradicts_the_database_is_named_by_file_line_and_column(
    letrozole_since_2025: Cli, tmp_path: Path, row, column, value
):
    cli = letrozole_since_2025
    path = write_csv(tmp_path / "in.csv", [row])
    before = cli.snapshot()

    line = error_line(cli("import", str(path)))

    assert line.startswith(f"Error: {path}:2 column {column}"), line
    assert value in line
    assert cli.snapshot() == before


@pytest.mark.parametrize("row", [STOP_BEFORE_START, STOP_NOT_OPEN, OTHER_BIRTH_DATE],
                         ids=["stop-before-the-stored-start", "stop-of-a-course-not-open",
                              "birth-date-differs-from-the-stored-one"])
def test_dry_run_finds_the_rows_that_contradict_the_database(letrozole_since_2025: Cli, tmp_path: Path, row):
    cli = letrozole_since_2025
    path = write_csv(tmp_path / "in.csv", [row])
    line = error_line(cli("import", str(path), "--dry-run"))
    assert f"{path}:2" in line


# --------------------------------------------------------------------------- malformed files


def _refused(cli: Cli, path: Path) -> tuple[str, str]:
    before = cli.snapshot()
    result = cli("import", str(path))
    line = error_line(result)
    assert "Traceback" not in result.stdout + result.stderr
    assert cli.snapshot() == before
    return line, result.stdout


def test_an_unbalanced_quote_is_refused_naming_the_line(cli: Cli, today, tmp_path: Path):
    path = tmp_path / "quote.csv"
    path.write_text('mrn,record,birth_date,name\nP1,patient,1950-01-01,"Ann\nP2,patient,1950-01-01,Bea\n',
                    encoding="utf-8")
    line, _ = _refused(cli, path)
    assert f"{path}:2" in line
    assert cli.counts()["patient"] == 0, "the quote swallowed the rest of the file into one name"


def test_a_row_with_the_wrong_number_of_fields_is_refused_naming_the_line(cli: Cli, today, tmp_path: Path):
    path = tmp_path / "fields.csv"
    path.write_text("mrn,record,birth_date\nP1,patient,1950-01-01\nP2,patient,1950-01-01,extra\n", encoding="utf-8")
    line, _ = _refused(cli, path)
    assert f"{path}:3" in line and "4 fields" in line and "header has 3" in line


def test_an_unknown_column_is_refused_naming_it_and_the_allowed_columns(cli: Cli, today, tmp_path: Path):
    path = tmp_path / "shoe.csv"
    path.write_text("mrn,record,birth_date,shoe_size\nP1,patient,1950-01-01,40\n", encoding="utf-8")
    line, _ = _refused(cli, path)
    assert f"{path}:1" in line and "'shoe_size'" in line and "birth_date" in line


def test_a_file_that_is_not_utf8_is_refused_saying_so(cli: Cli, today, tmp_path: Path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("mrn,record,birth_date,name\nP1,patient,1950-01-01,Renée\n".encode("latin-1"))
    line, _ = _refused(cli, path)
    assert str(path) in line and "UTF-8" in line.replace(str(path), "")


def test_an_empty_file_is_refused_saying_it_is_empty(cli: Cli, today, tmp_path: Path):
    path = tmp_path / "visits.csv"
    path.write_bytes(b"")
    line, _ = _refused(cli, path)
    assert str(path) in line and "empty" in line.replace(str(path), "")


def test_a_tsv_file_is_refused_with_a_clear_message(cli: Cli, today):
    if not TSV_FIXTURE.is_file():
        pytest.skip(f"shared fixture {TSV_FIXTURE} is not on this machine")
    line, _ = _refused(cli, TSV_FIXTURE)
    assert str(TSV_FIXTURE) in line and "neither a bonemon CSV" in line


def test_a_missing_file_is_refused_naming_it(cli: Cli, today, tmp_path: Path):
    line, _ = _refused(cli, tmp_path / "nothere.csv")
    assert f"{tmp_path / 'nothere.csv'}: no such file" in line


def test_two_patient_rows_for_one_mrn_that_disagree_are_refused(cli: Cli, today, tmp_path: Path):
    rows = [{"mrn": "P1", "record": "patient", "birth_date": "1950-01-01"},
            {"mrn": "P1", "record": "patient", "birth_date": "1951-01-01"}]
    line, _ = _refused(cli, write_csv(tmp_path / "dup.csv", rows))
    assert f"{tmp_path / 'dup.csv'}:3 column mrn" in line
