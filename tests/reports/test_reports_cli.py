"""`bonemon report patient|trend|adherence` at the CLI edge, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas  # noqa: F401 - imported before any freezegun freeze: a first import under it crashes
import pytest

import reports.figures  # noqa: F401 - registers matplotlib's date converters for the real date class, not freezegun's

pytest.register_assert_rewrite("tests.dbfixtures")
from tests.dbfixtures import Cli  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def p1(cli: Cli, today) -> Cli:
    """P1 on letrozole and denosumab (doses on 2024-03-01, 2024-09-20 and 2025-04-15), two hip DXAs."""
    cli.ok("patient", "add", "P1", "--birth-date", "1955-03-01", "--name", SCRIPT, "--menopause", "post")
    cli.ok("therapy", "start", "P1", "--drug", "letrozole", "--date", "2024-01-15")
    cli.ok("record", "dxa", "P1", "--date", "2024-01-10", "--site", "total_hip", "--t-score", "-1.5", "--bmd", "0.8",
           "--scanner", "S1")
    cli.ok("record", "dxa", "P1", "--date", "2025-01-20", "--site", "total_hip", "--t-score", "-1.9", "--bmd", "0.75",
           "--scanner", "S1")
    cli.ok("therapy", "start", "P1", "--drug", "denosumab", "--date", "2024-03-01")
    for day in ("2024-03-01", "2024-09-20", "2025-04-15"):
        cli.ok("record", "dose", "P1", "--drug", "denosumab", "--date", day, "--dose-mg", "60")
    return cli


def test_report_patient_writes_one_page_named_by_mrn_and_date(p1: Cli):
    result = p1.ok("report", "patient", "P1")

    path = p1.workdir / "patient-P1-2025-06-01.html"
    assert result.stdout == f"Wrote Patient report for P1 as of 2025-06-01: {path}\n"
    html = path.read_text(encoding="utf-8")
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "generated 2025-06-01 11:00:00 UTC" in html
    assert SCRIPT not in result.stdout + result.stderr


def test_report_patient_writes_where_it_is_told_and_as_of_a_date(p1: Cli, tmp_path: Path):
    target = tmp_path / "p1.html"

    p1.ok("report", "patient", "P1", "--as-of", "2025-01-31", "--out", target)

    assert "As of <strong>2025-01-31</strong>" in target.read_text(encoding="utf-8")


def test_report_trend_writes_a_png_by_default_and_an_svg_when_asked(p1: Cli, tmp_path: Path):
    p1.ok("report", "trend", "P1")
    p1.ok("report", "trend", "P1", "--out", tmp_path / "t.svg")

    assert (p1.workdir / "trend-P1-2025-06-01.png").read_bytes().startswith(b"\x89PNG")
    assert "<svg" in (tmp_path / "t.svg").read_text(encoding="utf-8")


@pytest.mark.parametrize(("argv", "message"), [
    (["report", "trend", "P1", "--out", "t.pdf"],
     "Error: out: t.pdf is not allowed; a file name ending in .png or .svg"),
    (["report", "patient", "P404"], "Error: mrn: no patient with MRN 'P404'; see `bonemon patient list`"),
    (["report", "patient", "P1", "--out", "no/such/dir/p.html"],
     "Error: out: no/such/dir/p.html is not allowed; a file in an existing folder"),
    (["report", "adherence", "--from", "2025-05-02", "--to", "2025-05-01"],
     "Error: from: 2025-05-02 is not allowed; a date on or before --to (2025-05-01)"),
    (["report", "adherence", "--to", "2025-06-02"],
     "Error: to: 2025-06-02 is not allowed; a date on or before today (2025-06-01); the future has no adherence yet"),
    (["report", "adherence", "--from", "2025-13-01"], "Error: from: '2025-13-01' is not allowed; expected a real"),
], ids=["trend-suffix", "unknown-mrn", "missing-folder", "from-after-to", "future-to", "bad-date"])
def test_report_refuses_bad_input_with_one_line(p1: Cli, argv, message):
    assert p1.error(*argv).startswith(message)


def test_reports_write_nothing_to_the_database(p1: Cli, tmp_path: Path):
    before = p1.snapshot()

    p1.ok("report", "patient", "P1", "--out", tmp_path / "p.html")
    p1.ok("report", "trend", "P1", "--out", tmp_path / "t.png")
    p1.ok("report", "adherence", "--out", tmp_path / "a.csv")

    assert p1.snapshot() == before


def test_report_adherence_prints_csv_by_default_with_the_numbers_of_the_last_twelve_months(p1: Cli):
    text = p1.ok("report", "adherence").stdout
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))

    def row(measure, scope="all"):
        [r] = [r for r in rows if r["scope"] == scope and r["measure"] == measure and r["kind"] == "all"
               and not r["month"]]
        return r

    assert text.startswith("\ufeffscope,")
    assert {(r["period_from"], r["period_to"]) for r in rows} == {("2024-06-02", "2025-06-01")}
    dose = row("denosumab_dose_on_time")
    assert (dose["numerator"], dose["denominator"]) == ("2", "2")  # 2024-09-20 and 2025-04-15, both ≤ target + 28
    assert row("patients")["numerator"] == "1"
    assert {r["name"] for r in rows if r["scope"] == "patient"} == {SCRIPT}  # CSV is not HTML: shown as recorded


def test_report_adherence_json_is_filtered_by_clinic(p1: Cli):
    doc = json.loads(p1.ok("report", "adherence", "--format", "json", "--clinic", "main").stdout)
    empty = json.loads(p1.ok("report", "adherence", "--format", "json", "--clinic", "west").stdout)

    assert (doc["clinic"], doc["patients"], doc["empty"]) == ("main", 1, False)
    assert [r["mrn"] for r in doc["patient_rows"]] == ["P1"]
    assert (empty["clinic"], empty["patients"], empty["empty"]) == ("west", 0, True)


def test_report_adherence_takes_its_format_from_the_out_suffix(p1: Cli, tmp_path: Path):
    target = tmp_path / "audit.html"

    result = p1.ok("report", "adherence", "--from", "2025-01-01", "--to", "2025-05-31", "--out", target)

    assert result.stdout == (f"Wrote Adherence audit 2025-01-01 to 2025-05-31 (all clinics, 1 patient(s)) as html: "
                             f"{target}\n")
    html = target.read_text(encoding="utf-8")
    assert "Period <strong>2025-01-01</strong> to <strong>2025-05-31</strong>" in html
    assert SCRIPT not in html


def test_report_adherence_on_an_empty_database_says_so(cli: Cli, today, tmp_path: Path):
    cli.ok("report", "adherence", "--out", tmp_path / "a.html")

    assert "No patients match these filters (all clinics)" in (tmp_path / "a.html").read_text(encoding="utf-8")
