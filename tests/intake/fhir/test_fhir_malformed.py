"""FHIR import of malformed input: a clear error or a rejected-resource line, never a traceback."""

from __future__ import annotations

import dataclasses
import gzip
import json
from datetime import date
from pathlib import Path

import pytest

from monitor.intake.fhir import read_fhir
from monitor.intake.fhir.reader import FhirImport, FileReport
from monitor.settings import load_settings

TODAY = date(2026, 11, 25)
SETTINGS = load_settings()
PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1950-01-01"}


def t_score(rid: str = "o1", **extra) -> dict:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "38267-1"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2021-05-01",
        "valueQuantity": {"value": -2.7, "unit": "{T-score}"},
        **extra,
    }


def bundle(*resources: dict) -> dict:
    return {"resourceType": "Bundle", "type": "batch", "entry": [{"resource": r} for r in resources]}


def read(*paths: Path, **fhir) -> FhirImport:
    settings = dataclasses.replace(SETTINGS.fhir, **fhir)
    return read_fhir(list(paths), fhir=settings, policy=SETTINGS.policy, today=TODAY)


def one(path: Path, **fhir) -> FileReport:
    return read(path, **fhir).files[0]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def good_bundle_with(bad: dict) -> str:
    return json.dumps(bundle(PATIENT, bad, t_score("ok")), indent=1)


# --------------------------------------------------------------------------- whole file refused


def test_truncated_json_is_refused_naming_line_and_column(tmp_path):
    text = json.dumps(bundle(PATIENT, t_score()), indent=1)
    report = one(write(tmp_path, "cut.json", text[: len(text) // 2]))
    assert report.fatal and (report.read, report.imported) == (0, 0)
    message = report.problems[0].message
    assert message.startswith("not valid JSON at line ") and " column " in message
    assert message.endswith("the file ends there (truncated?)")


def test_a_truncated_bundle_keeps_nothing_of_the_entries_read_before_the_cut(tmp_path):
    text = json.dumps(bundle(PATIENT, t_score(), t_score("o2")), indent=1)
    imp = read(write(tmp_path, "cut.json", text[: text.index('"o2"')]))
    assert imp.patients == [] and imp.files[0].fatal


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.json", "", "the file is empty"),
        ("blank.json", " \n\t\n", "the file is empty"),
        ("BMD.tsv", "idnum\tage\tgender\tspnbmd\n1\t11.7\tmale\t0.018\n", "tab-separated text"),
        ("table.csv", "mrn,date,site\nA1,2021-01-01,hip\n", "looks like CSV text"),
        ("notes.txt", "hello", "a FHIR file starts with '{'"),
        ("object.json", '{"name": "not a resource"}', "no item in the file has a resourceType"),
        ("log.ndjson", '{"eventId": "kickoff"}\n{"eventId": "export_complete"}\n', "a Bulk Data export log?"),
        ("extra.json", json.dumps(PATIENT) + " {", "extra data after the end of the JSON document"),
        ("deep.json", "[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("latin1.json", b'{"resourceType": "Patient", "id": "Jos\xe9"}', "not UTF-8 text"),
    ],
)
def test_a_file_that_is_not_fhir_json_is_refused_with_a_clear_message(tmp_path, name, content, message):
    report = one(write(tmp_path, name, content))
    assert report.fatal
    assert [p.where for p in report.problems] == [str(tmp_path / name)]
    assert message in report.problems[0].message


def test_a_missing_file_and_a_truncated_gzip_are_refused(tmp_path):
    packed = gzip.compress(json.dumps(bundle(PATIENT, t_score())).encode())
    imp = read(tmp_path / "nope.json", write(tmp_path, "cut.json.gz", packed[:-20]))
    assert [f.problems[0].message for f in imp.files] == [
        "file not found",
        "cannot be read: Compressed file ended before the end-of-stream marker was reached",
    ]


# --------------------------------------------------------------------------- one resource refused


def test_a_wrong_resource_type_is_a_rejected_line_and_the_rest_is_imported(tmp_path):
    report = one(write(tmp_path, "b.json", good_bundle_with(t_score(resourceType="Observaton"))))
    assert (report.read, report.imported, report.rejected, report.fatal) == (3, 2, 1, False)
    assert report.problems[0].where.endswith("b.json#Observaton/o1")
    assert report.problems[0].message == "resourceType 'Observaton' is not a FHIR R4 resource type"


def test_an_observation_without_value_is_rejected_with_the_reason(tmp_path):
    bad = t_score()
    del bad["valueQuantity"]
    bad["dataAbsentReason"] = {"text": "not performed"}
    report = one(write(tmp_path, "b.json", good_bundle_with(bad)))
    assert report.rejected == 1
    assert report.problems[0].message == "no value (a T-score needs valueQuantity); dataAbsentReason 'not performed'"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("effectiveDateTime", "2021-13-40", "effectiveDateTime: '2021-13-40' is not a real calendar date"),
        ("effectiveDateTime", "2021-02-29", "effectiveDateTime: '2021-02-29' is not a real calendar date"),
        ("effectiveDateTime", "yesterday", "effectiveDateTime: 'yesterday' is not a valid FHIR date (YYYY, YYYY-MM"),
        ("effectiveDateTime", 20210501, "effectiveDateTime: 20210501 is not a date"),
    ],
)
def test_an_impossible_date_is_rejected_naming_the_field_and_the_value(tmp_path, field, value, message):
    report = one(write(tmp_path, "b.json", good_bundle_with(t_score(**{field: value}))))
    assert report.rejected == 1 and report.imported == 2
    assert report.problems[0].message.startswith(message)


def test_a_patient_with_an_impossible_birth_date_is_rejected_with_its_facts(tmp_path):
    imp = read(write(tmp_path, "b.json", json.dumps(bundle(dict(PATIENT, birthDate="1950-02-30"), t_score()))))
    assert imp.patients == []
    assert imp.files[0].problems[0].message == "birthDate: '1950-02-30' is not a real calendar date"


def test_a_patient_born_in_the_future_is_refused_by_the_shared_validation(tmp_path):
    imp = read(write(tmp_path, "b.json", json.dumps(bundle(dict(PATIENT, birthDate="2030-01-01"), t_score()))))
    assert imp.patients == []
    messages = [p.message for p in imp.files[0].problems]
    assert messages[0].startswith("birth-date: 2030-01-01 is not allowed")
    assert messages[1].startswith("its patient (") and "was refused: birth-date" in messages[1]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("NaN", "valueQuantity.value: NaN is not a finite number"),
        ('"-2.7"', "valueQuantity.value: '-2.7' is not a number"),
        ("true", "valueQuantity.value: True is not a number"),
    ],
)
def test_a_value_that_is_not_a_finite_number_is_rejected(tmp_path, value, message):
    text = good_bundle_with(t_score()).replace('"value": -2.7', f'"value": {value}', 1)
    report = one(write(tmp_path, "b.json", text))
    assert report.problems[0].message == message


def test_array_items_that_are_not_resources_are_rejected_lines(tmp_path):
    report = one(write(tmp_path, "a.json", json.dumps([PATIENT, 42, {"id": "x"}, t_score()])))
    assert (report.read, report.imported, report.rejected, report.fatal) == (4, 2, 2, False)
    assert [p.where.rsplit("#", 1)[1] for p in report.problems] == ["[1]", "[2]"]


def test_a_broken_ndjson_line_is_a_rejected_line_with_its_number(tmp_path):
    text = "\n".join([json.dumps(PATIENT), '{"resourceType": "Observation", "id": ', json.dumps(t_score())]) + "\n"
    report = one(write(tmp_path, "Observation.ndjson", text))
    assert (report.read, report.imported, report.rejected) == (3, 2, 1)
    assert report.problems[0].where == f"{tmp_path / 'Observation.ndjson'}:2"
    assert report.problems[0].message == "not valid JSON at column 39: Expecting value"


def test_a_resource_over_the_size_limit_is_skipped_and_the_rest_imported(tmp_path):
    huge = t_score("huge", note=[{"text": 'a "quoted" {[ \\ text ' * 120_000}])
    as_ndjson = write(tmp_path, "big.ndjson", "\n".join(json.dumps(r) for r in (PATIENT, huge, t_score())) + "\n")
    as_bundle = write(tmp_path, "big.json", json.dumps(bundle(PATIENT, huge, t_score()), indent=1))
    imp = read(as_ndjson, as_bundle, max_resource_mb=1)
    for report in imp.files:
        assert (report.read, report.imported, report.rejected, report.fatal) == (3, 2, 1, False)
        assert "over the limit of 1 MB ([fhir] max_resource_mb); refused" in report.problems[0].message
    assert len(imp.patients[0].dxa) == 1


def test_bundle_entries_without_a_resource_or_deleting_one_are_skipped(tmp_path):
    doc = {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            {"response": {"status": "201 Created"}},
            {"request": {"method": "DELETE", "url": "Observation/x"}, "resource": t_score("x")},
            {"resource": PATIENT},
        ],
    }
    report = one(write(tmp_path, "r.json", json.dumps(doc)))
    assert (report.read, report.imported, report.rejected) == (1, 1, 0)


def test_a_bundle_inside_a_bundle_is_read_entry_by_entry(tmp_path):
    doc = bundle(PATIENT, bundle(t_score()))
    report = one(write(tmp_path, "nested.json", json.dumps(doc)))
    assert (report.read, report.imported) == (2, 2)


def test_a_directory_is_read_file_by_file_and_other_files_in_it_are_left_alone(tmp_path):
    write(tmp_path, "Patient.ndjson", json.dumps(PATIENT) + "\n")
    write(tmp_path, "Observation.ndjson.gz", gzip.compress((json.dumps(t_score()) + "\n").encode()))
    write(tmp_path, "README.txt", "notes")
    imp = read(tmp_path)
    assert sorted(Path(f.path).name for f in imp.files) == ["Observation.ndjson.gz", "Patient.ndjson"]
    assert len(imp.patients[0].dxa) == 1


def test_a_directory_without_fhir_files_is_reported_not_skipped(tmp_path):
    write(tmp_path, "README.txt", "notes")
    report = one(tmp_path)
    assert report.fatal and report.problems[0].message == "a directory with no .json or .ndjson file in it"
