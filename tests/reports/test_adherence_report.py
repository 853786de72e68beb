"""reports.adherence: the adherence report's frames (hand-computed numbers), CSV / JSON golden files, HTML safety."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from monitor.core.adherence import DoseTiming
from monitor.core.domain import Patient, TaskKind
from monitor.core.history import (
    BaselineRecord,
    Completeness,
    Met,
    Outcome,
    PatientAdherence,
    PdcRecord,
    StopRecord,
    TaskRecord,
)
from reports import adherence
from tests.paths import GOLDEN

START, END = date(2025, 1, 1), date(2025, 3, 31)
META = adherence.AdherenceMeta(START, END, None, datetime(2025, 4, 1, 9, 30, tzinfo=UTC))
FORMULA = '=HYPERLINK("http://x")'
SCRIPT = "<script>alert(1)</script>"


def golden(name: str, text: str) -> None:
    """Compare with tests/golden/NAME; BONEMON_UPDATE_GOLDEN=1 rewrites it (review the diff)."""
    path = GOLDEN / name
    if os.environ.get("BONEMON_UPDATE_GOLDEN"):
        path.write_bytes(text.encode("utf-8"))
    assert text == path.read_bytes().decode("utf-8"), f"{name} differs from its golden file"


def task(kind: TaskKind, outcome: Outcome, resolved: date | None, *, latest: date = date(2025, 2, 28),
         done: date | None = None, late: int | None = None) -> TaskRecord:
    return TaskRecord(kind, "R", date(2024, 1, 1), date(2024, 12, 1), date(2025, 1, 31), latest, done, outcome,
                      resolved, late)


def completeness(*items: tuple[str, bool]) -> Completeness:
    return Completeness(tuple(items))


ANN = PatientAdherence(
    Patient("A1", date(1950, 1, 1), clinic="main", name="Ann O'Brien"), START, END,
    tasks=(
        task(TaskKind.DXA, Outcome.ON_TIME, date(2025, 2, 10), done=date(2025, 2, 10), late=0),
        task(TaskKind.DXA, Outcome.LATE, date(2025, 3, 15), latest=date(2025, 3, 5), done=date(2025, 3, 15),
             late=10),
        task(TaskKind.BTM, Outcome.OVERDUE, date(2025, 3, 1), latest=date(2025, 2, 28), late=31),
        task(TaskKind.DENOSUMAB_DOSE, Outcome.EARLY, date(2025, 1, 20), done=date(2025, 1, 20)),
        task(TaskKind.DXA, Outcome.ON_TIME, date(2024, 12, 30), done=date(2024, 12, 30), late=0),  # before
        task(TaskKind.RISK_REVIEW, Outcome.OPEN, None, latest=date(2025, 6, 1)),  # not judged
    ),
    denosumab_doses=(DoseTiming(date(2025, 1, 20), date(2025, 1, 10), 10, True),
                     DoseTiming(date(2025, 3, 30), date(2025, 2, 20), 38, False)),
    denosumab_stops=(StopRecord(date(2025, 1, 5), date(2024, 7, 1), date(2025, 2, 1), date(2025, 1, 30), Met.MET),
                     StopRecord(date(2025, 3, 1), date(2025, 2, 1), date(2025, 9, 1), None, Met.PENDING)),
    oral_bp=PdcRecord(START, END, 0.9, True, 3),
    baselines=(BaselineRecord("D1", date(2025, 2, 1), date(2024, 2, 1), date(2025, 5, 2), date(2025, 1, 1), Met.MET),
               BaselineRecord("B1", date(2025, 2, 1), date(2024, 11, 3), date(2025, 2, 1), None, Met.MISSED)),
    completeness=completeness(("menopause", True), ("dxa_bmd_scanner", True), ("dxa_site", False)),
)
HYPER = PatientAdherence(
    Patient("B2", date(1950, 1, 1), clinic="main", name=FORMULA), START, END,
    tasks=(task(TaskKind.DXA, Outcome.LATE, date(2025, 3, 20), latest=date(2025, 2, 18), done=date(2025, 3, 20),
                late=30),),
    denosumab_doses=(), denosumab_stops=(), oral_bp=PdcRecord(date(2025, 2, 1), END, 0.5, False, 2), baselines=(),
    completeness=completeness(("menopause", True)),
)
CE = PatientAdherence(Patient("C3", date(1950, 1, 1), clinic="north", name=SCRIPT), START, END, tasks=(),
                  denosumab_doses=(), denosumab_stops=(), oral_bp=None, baselines=(),
                  completeness=completeness(("menopause", True)))
AUDITS = [CE, HYPER, ANN]
NAN = math.nan


@pytest.fixture(scope="module")
def frames() -> adherence.AdherenceFrames:
    return adherence.build(AUDITS, META)


def test_the_task_frame_holds_only_the_tasks_resolved_in_the_period(frames):
    t = frames.tasks

    assert list(t.columns) == adherence.TASK_COLUMNS
    assert sorted(zip(t["mrn"], t["kind"], t["outcome"], t["month"], strict=True)) == [
        ("A1", "btm", "overdue", "2025-03"), ("A1", "denosumab_dose", "early", "2025-01"),
        ("A1", "dxa", "late", "2025-03"), ("A1", "dxa", "on_time", "2025-02"), ("B2", "dxa", "late", "2025-03")]
    assert t.loc[t["outcome"] == "late", "days_late"].tolist() == [10, 30]


def test_the_patient_frame_counts_each_patients_numbers(frames):
    expected = pd.DataFrame({
        "clinic": ["main", "main", "north"], "mrn": ["A1", "B2", "C3"],
        "tasks": [4, 1, 0], "on_time": [1, 0, 0], "early": [1, 0, 0], "late": [1, 1, 0], "overdue": [1, 0, 0],
        "on_time_rate": [0.25, 0.0, NAN], "median_days_late": [10.0, 30.0, NAN],
        "dmab_doses": [2, 0, 0], "dmab_on_time": [1, 0, 0], "dmab_on_time_rate": [0.5, NAN, NAN],
        "dmab_stops": [1, 0, 0], "dmab_sequenced": [1, 0, 0], "dmab_pending": [1, 0, 0],
        "oral_bp": [1, 1, 0], "pdc": [0.9, 0.5, NAN], "pdc_adherent": pd.array([True, False, None], dtype="boolean"),
        "d1_events": [1, 0, 0], "d1_met": [1, 0, 0], "b1_events": [1, 0, 0], "b1_met": [0, 0, 0],
        "data_items": [3, 1, 1], "data_present": [2, 1, 1], "data_completeness": [2 / 3, 1.0, 1.0],
        "missing_data": ["dxa_site", "", ""],
    })

    assert_frame_equal(frames.patients[list(expected.columns)], expected, check_dtype=False)
    assert frames.patients["name"].tolist() == ["Ann O'Brien", FORMULA, SCRIPT]


def test_the_summary_divides_sums_and_takes_the_median_over_the_late_tasks(frames):
    expected = pd.DataFrame({
        "clinic": ["all clinics", "main", "north"], "patients": [3, 2, 1], "tasks": [5, 5, 0],
        "on_time": [1, 1, 0], "late": [2, 2, 0], "on_time_rate": [0.2, 0.2, NAN],
        "median_days_late": [20.0, 20.0, NAN], "dmab_on_time_rate": [0.5, 0.5, NAN],
        "dmab_sequenced_rate": [1.0, 1.0, NAN], "dmab_pending": [1, 1, 0],
        "oral_bp": [2, 2, 0], "mean_pdc": [0.7, 0.7, NAN], "pdc_adherent": [1, 1, 0],
        "pdc_adherent_share": [0.5, 0.5, NAN], "d1_rate": [1.0, 1.0, NAN], "b1_rate": [0.0, 0.0, NAN],
        "data_completeness": [4 / 5, 3 / 4, 1.0], "data_complete": [2, 1, 1], "data_complete_share": [2 / 3, 0.5, 1.0],
    })

    assert_frame_equal(frames.summary[list(expected.columns)], expected, check_dtype=False)


def test_the_kind_frame_gives_an_on_time_rate_per_task_kind(frames):
    expected = pd.DataFrame({
        "clinic": ["all clinics"] * 3 + ["main"] * 3,
        "kind": ["dxa", "btm", "denosumab_dose"] * 2,
        "tasks": [3, 1, 1] * 2, "on_time": [1, 0, 0] * 2, "early": [0, 0, 1] * 2, "late": [2, 0, 0] * 2,
        "overdue": [0, 1, 0] * 2, "on_time_rate": [1 / 3, 0.0, 0.0] * 2, "median_days_late": [20.0, NAN, NAN] * 2,
    })

    assert_frame_equal(frames.kinds, expected, check_dtype=False)


def test_the_monthly_frame_has_every_month_of_the_period(frames):
    m = frames.monthly[frames.monthly["clinic"] == "all clinics"].reset_index(drop=True)
    expected = pd.DataFrame({"clinic": ["all clinics"] * 3, "month": ["2025-01", "2025-02", "2025-03"],
                             "tasks": [1, 1, 3], "on_time": [0, 1, 0], "on_time_rate": [0.0, 1.0, 0.0]})

    assert_frame_equal(m, expected, check_dtype=False)
    north = frames.monthly[frames.monthly["clinic"] == "north"]
    assert north["tasks"].tolist() == [0, 0, 0] and north["on_time_rate"].isna().all()


def test_the_csv_matches_its_golden_file(frames):
    golden("adherence.csv", adherence.render_csv(frames))


def test_the_json_matches_its_golden_file(frames):
    golden("adherence.json", adherence.render_json(frames))


def test_the_csv_is_utf8_with_a_byte_order_mark_and_crlf_line_ends(frames):
    text = adherence.render_csv(frames)

    assert text.startswith("\ufeffscope,clinic,mrn,name,")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")


def test_a_formula_in_a_patient_field_comes_out_neutralised_in_the_csv():
    hostile = PatientAdherence(Patient("+M1", date(1950, 1, 1), clinic="@lab", name=FORMULA), START, END, (), (), (),
                           None, (), completeness(("menopause", True)))
    rows = list(csv.DictReader(io.StringIO(adherence.render_csv(adherence.build([hostile], META)).lstrip("\ufeff"))))

    patient_rows = [r for r in rows if r["scope"] == "patient"]
    assert patient_rows and all(r["name"] == "'" + FORMULA for r in patient_rows)
    assert {r["mrn"] for r in patient_rows} == {"'+M1"}
    assert {r["clinic"] for r in rows if r["clinic"] != "all clinics"} == {"'@lab"}
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for k, v in r.items() if k in ("mrn", "name"))


def test_every_rendering_states_the_period_the_filter_and_the_generation_time(frames):
    doc = json.loads(adherence.render_json(frames))
    html = adherence.render_html(frames)
    rows = list(csv.DictReader(io.StringIO(adherence.render_csv(frames).lstrip("\ufeff"))))

    assert (doc["from"], doc["to"], doc["clinic"], doc["generated_at"]) == (
        "2025-01-01", "2025-03-31", None, "2025-04-01T09:30:00+00:00")
    assert {(r["period_from"], r["period_to"], r["clinic_filter"], r["generated_at"]) for r in rows} == {
        ("2025-01-01", "2025-03-31", "all clinics", "2025-04-01T09:30:00+00:00")}
    assert "2025-01-01" in html and "2025-03-31" in html and "all clinics" in html and "2025-04-01 09:30:00" in html


def test_the_html_escapes_every_value_and_loads_nothing_from_outside(frames):
    html = adherence.render_html(frames)

    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<script") == 1  # the table-sorting script, allowed by its hash
    assert "O&#39;Brien" in html
    assert 'src="http' not in html and 'href="http' not in html and "@import" not in html
    assert 'src="data:image/png;base64,' in html


def test_an_empty_cohort_gives_a_valid_report_that_says_so():
    frames = adherence.build([], adherence.AdherenceMeta(START, END, "west", META.generated_at))

    doc = json.loads(adherence.render_json(frames))
    rows = list(csv.DictReader(io.StringIO(adherence.render_csv(frames).lstrip("\ufeff"))))
    html = adherence.render_html(frames)

    assert (doc["empty"], doc["patients"], doc["clinic"], doc["patient_rows"]) == (True, 0, "west", [])
    assert {(r["scope"], r["measure"], r["numerator"]) for r in rows if r["measure"] == "patients"} == {
        ("all", "patients", "0")}
    assert "No patients match these filters (clinic west)" in html
    assert len(frames.monthly[frames.monthly["clinic"] == "all clinics"]) == 3


def test_the_monthly_chart_plots_the_on_time_rate_of_each_month(frames):
    fig = adherence.monthly_chart(frames)

    bars = [p for p in fig.axes[0].patches if p.get_gid() == "on-time-rate"]
    assert [round(b.get_height(), 6) for b in bars] == [0.0, 100.0, 0.0]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["2025-01", "2025-02", "2025-03"]
