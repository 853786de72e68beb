"""The worklist: frame (reports.worklist.build_frame), renderers, and `bonemon remind` at the CLI edge."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd  # imported before any freezegun freeze: a first import under freezegun segfaults
import pytest
from pandas.testing import assert_frame_equal

pytest.register_assert_rewrite("tests.dbfixtures")
from reports.worklist import (  # noqa: E402
    COLUMNS,
    build_frame,
    grouped,
    json_document,
    neutralise,
    render_csv,
    render_html,
    render_json,
    render_text,
)
from tests.dbfixtures import Cli  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]

AS_OF = date(2025, 6, 1)


def task(mrn, task_id, severity, status, latest, **extra):
    record = {"mrn": mrn, "name": f"Name {mrn}", "clinic": "main", "task_id": task_id, "kind": "dxa", "rule": "D3",
              "status": status, "stage": status, "severity": severity, "alert_code": None,
              "earliest": date(2025, 1, 1), "target": date(2025, 2, 1), "latest": latest, "acknowledged": False,
              "detail": "DXA 12 months after the last", "new": False}
    record.update(extra)
    return record


def alert(mrn, code, severity, since=date(2025, 5, 1), **extra):
    record = {"mrn": mrn, "name": f"Name {mrn}", "clinic": "main", "task_id": None, "kind": "alert", "rule": None,
              "status": "active", "stage": "alert", "severity": severity, "alert_code": code, "earliest": since,
              "target": since, "latest": None, "acknowledged": False, "detail": "check calcium",
              "new": True}
    record.update(extra)
    return record


RECORDS = [
    task("P5", 5, "warn", "due", date(2025, 6, 30)),
    task("P4", 4, "high", "overdue", date(2025, 4, 1), stage="overdue-high", acknowledged=True),
    alert("P3", "ALERT-TREATMENT-GAP", "warn"),
    task("P2", 2, "critical", "overdue", date(2024, 12, 1), stage="overdue-critical"),
    task("P6", 6, "high", "overdue", date(2025, 3, 1), stage="overdue-high"),
    alert("P1", "ALERT-HYPOCA", "block"),
    task("P7", 7, "warn", "overdue", date(2025, 5, 22)),
]


# --------------------------------------------------------------------------- the frame


def test_the_frame_is_sorted_by_severity_alerts_first_then_days_overdue():
    frame = build_frame(RECORDS, as_of=AS_OF)

    assert list(frame.columns) == COLUMNS
    assert list(frame["mrn"]) == ["P1", "P2", "P6", "P4", "P3", "P7", "P5"]
    assert list(frame["days_overdue"].astype("object").where(frame["days_overdue"].notna(), None)) == [
        None, 182, 92, 61, None, 10, 0]


def test_the_frame_has_typed_columns():
    frame = build_frame(RECORDS[:2], as_of=AS_OF)
    expected = pd.DataFrame({
        "severity": ["high", "warn"], "mrn": ["P4", "P5"], "task_id": pd.array([4, 5], dtype="Int64"),
        "days_overdue": pd.array([61, 0], dtype="Int64"), "acknowledged": [True, False], "new": [False, False],
    })

    assert_frame_equal(frame[list(expected.columns)], expected, check_dtype=False)
    assert frame["task_id"].dtype == "Int64" and frame["days_overdue"].dtype == "Int64"
    assert frame["acknowledged"].dtype == bool


def test_an_empty_worklist_is_an_empty_frame_with_every_column():
    frame = build_frame([], as_of=AS_OF)

    assert frame.empty and list(frame.columns) == COLUMNS
    assert json_document(frame, as_of=AS_OF, run_id=3, created=0)["reminders"] == []
    assert render_csv(frame).startswith("\ufeffaction,severity,mrn,name,phone,")


def test_extra_record_keys_become_extra_columns():
    frame = build_frame([task("P1", 1, "warn", "due", date(2025, 6, 30), room="B12")], as_of=AS_OF)

    assert list(frame.columns) == [*COLUMNS, "room"]
    assert json_document(frame, as_of=AS_OF, run_id=1, created=1)["reminders"][0]["room"] == "B12"


def test_the_contact_comes_with_every_item():
    frame = build_frame([task("P1", 1, "warn", "due", date(2025, 6, 30), phone="+44 1")], as_of=AS_OF)

    assert json_document(frame, as_of=AS_OF, run_id=1, created=1)["reminders"][0]["phone"] == "+44 1"
    assert "+44 1" in render_text(frame, title="t")


@pytest.mark.parametrize(("kind", "action"), [
    ("alert", "Safety check"), ("denosumab_dose", "Give denosumab"), ("bp_dose", "Infusion"),
    ("sequential_bp", "Infusion"), ("dxa", "Book DXA"), ("btm", "Draw markers"), ("risk_review", "Review visit"),
    ("endocrine_review", "Review visit"), ("bp_holiday_review", "Review visit"), ("lifestyle", "Review visit"),
])
def test_each_item_is_filed_under_what_staff_must_do(kind, action):
    frame = build_frame([task("P1", 1, "warn", "due", date(2025, 6, 30), kind=kind)], as_of=AS_OF)

    assert frame["action"].tolist() == [action]


def test_the_groups_come_in_action_order_and_keep_severity_order_inside():
    records = [task("P1", 1, "warn", "due", date(2025, 6, 30), kind="btm"),
               task("P2", 2, "critical", "overdue", date(2024, 12, 1), kind="dxa"),
               task("P3", 3, "high", "overdue", date(2025, 4, 1), kind="dxa"),
               alert("P4", "ALERT-DENTAL", "warn")]

    groups = [(action, part["mrn"].tolist()) for action, part in grouped(build_frame(records, as_of=AS_OF))]

    assert groups == [("Safety check", ["P4"]), ("Book DXA", ["P2", "P3"]), ("Draw markers", ["P1"])]


# --------------------------------------------------------------------------- JSON


def test_the_json_document_has_the_design_shape():
    doc = json.loads(render_json(build_frame(RECORDS, as_of=AS_OF), as_of=AS_OF, run_id=12, created=3))

    assert (doc["as_of"], doc["run_id"], doc["created"]) == ("2025-06-01", 12, 3)
    first, second = doc["reminders"][:2]
    assert list(first)[:10] == ["mrn", "task_id", "kind", "rule", "status", "target", "latest", "days_overdue",
                                "alert_code", "severity"]
    assert {k: first[k] for k in list(first)[:10]} == {
        "mrn": "P1", "task_id": None, "kind": "alert", "rule": None, "status": "active", "target": "2025-05-01",
        "latest": None, "days_overdue": None, "alert_code": "ALERT-HYPOCA", "severity": "block"}
    assert {k: second[k] for k in list(second)[:10]} == {
        "mrn": "P2", "task_id": 2, "kind": "dxa", "rule": "D3", "status": "overdue", "target": "2025-02-01",
        "latest": "2024-12-01", "days_overdue": 182, "alert_code": None, "severity": "critical"}


# --------------------------------------------------------------------------- CSV


@pytest.mark.parametrize(("cell", "expected"), [
    ("=1+1", "'=1+1"), ("+44 20 7946", "'+44 20 7946"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("Ann", "Ann"), ("O'Brien", "O'Brien"), ("", ""), (None, None), (5, 5),
])
def test_spreadsheet_formula_cells_are_neutralised(cell, expected):
    assert neutralise(cell) == expected


GOLDEN_CSV = (
    "\ufeffaction,severity,mrn,name,phone,clinic,kind,rule,alert_code,status,task_id,earliest,target,latest,"
    "days_overdue,acknowledged,new,detail\r\n"
    "Safety check,block,P1,\"'=HYPERLINK(\"\"http://x\"\")\",,main,alert,,ALERT-HYPOCA,active,,2025-05-01,2025-05-01,"
    ",,no,yes,'-check calcium\r\n"
    "Book DXA,high,P4,\"Zoë O'Brien, 王\",'+44 20 7946 0000,main,dxa,D3,,overdue,4,2025-01-01,2025-02-01,"
    "2025-04-01,61,yes,no,DXA 12 months after the last\r\n"
)


def test_the_csv_matches_its_golden_file():
    records = [alert("P1", "ALERT-HYPOCA", "block", name='=HYPERLINK("http://x")', detail="-check calcium"),
               RECORDS[1] | {"name": "Zoë O'Brien, 王", "phone": "+44 20 7946 0000"}]

    text = render_csv(build_frame(records, as_of=AS_OF))

    assert text == GOLDEN_CSV


def test_the_csv_reads_back_in_excel_dialect():
    import csv
    import io

    text = render_csv(build_frame(RECORDS, as_of=AS_OF))
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))

    # grouped by action (alerts first), severity order inside each group
    assert [r["mrn"] for r in rows] == ["P1", "P3", "P2", "P6", "P4", "P7", "P5"]
    assert rows[2]["days_overdue"] == "182" and rows[0]["days_overdue"] == ""


# --------------------------------------------------------------------------- text and HTML


GOLDEN_TEXT = """\
Worklist all clinics, 2025-06-01: 3 open item(s)


Safety check (1)
Severity  MRN  Name     Contact  Item          Rule  Status   Target      Latest      Overdue  Task  Notes
--------  ---  -------  -------  ------------  ----  -------  ----------  ----------  -------  ----  -----
block     P1   Name P1           ALERT-HYPOCA        active   2025-05-01                             new

Book DXA (2)
Severity  MRN  Name     Contact  Item          Rule  Status   Target      Latest      Overdue  Task  Notes
--------  ---  -------  -------  ------------  ----  -------  ----------  ----------  -------  ----  -----
critical  P2   Name P2  555 01   dxa           D3    overdue  2025-02-01  2024-12-01      182     2
high      P4   Name P4           dxa           D3    overdue  2025-02-01  2025-04-01       61     4  ack
"""


def test_the_text_table_matches_its_golden_file():
    frame = build_frame([RECORDS[1], RECORDS[3] | {"phone": "555 01"}, RECORDS[5]], as_of=AS_OF)

    assert render_text(frame, title="Worklist all clinics, 2025-06-01: 3 open item(s)") == GOLDEN_TEXT


def test_the_text_table_can_stop_after_some_rows():
    text = render_text(build_frame(RECORDS, as_of=AS_OF), title="t", limit=2)

    assert text.splitlines()[-1] == "… and 5 more"


def test_the_html_page_escapes_every_value_and_is_self_contained():
    records = [alert("P1", "ALERT-HYPOCA", "block", name="<script>alert(1)</script>", detail='"><img src=x>')]

    page = render_html(build_frame(records, as_of=AS_OF), as_of=AS_OF, run_id=4, created=1,
                       clinic="<b>main</b>")

    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img" not in page and "&lt;b&gt;main&lt;/b&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "http" not in page and "<link" not in page and "src=" not in page.replace("src=x", "")
    assert page.count("<tr class=") == 1


# --------------------------------------------------------------------------- the command


def _patient_with_items(cli: Cli) -> None:
    """P1 with an overdue and a due task and an alert; P2 in another clinic with a due task."""
    from db.engine import make_engine
    from tests.plan_rows import add_alert, add_task

    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01", "--name", "=cmd|' /C calc'!A0")
    cli.ok("patient", "add", "P2", "--birth-date", "1951-01-01", "--clinic", "north", "--name", "<b>Bea</b>")
    ids = dict(cli.sql("SELECT mrn, id FROM patient"))
    engine = make_engine(cli.url)
    try:
        cli.sql("UPDATE task SET active = false")  # only the items below
        cli.sql("UPDATE alert SET active = false")
        add_task(engine, ids["P1"], date(2025, 1, 1), date(2025, 3, 1), rule="X1")
        add_task(engine, ids["P1"], date(2025, 5, 1), date(2025, 6, 30), rule="X2", kind="btm")
        add_alert(engine, ids["P1"])
        add_task(engine, ids["P2"], date(2025, 5, 1), date(2025, 6, 30), rule="X3", kind="risk_review")
    finally:
        engine.dispose()
    cli.sql("UPDATE plan_state SET valid_until = '9999-12-31'")


def test_remind_json_lists_every_open_item_of_the_date(cli: Cli, today):
    _patient_with_items(cli)

    doc = cli.json("remind", "--format", "json")

    assert (doc["as_of"], doc["created"]) == ("2025-06-01", 4)
    assert [(r["mrn"], r["kind"], r["severity"], r["days_overdue"]) for r in doc["reminders"]] == [
        ("P1", "alert", "block", None), ("P1", "dxa", "critical", 92), ("P1", "btm", "warn", 0),
        ("P2", "risk_review", "warn", 0)]
    assert all(r["new"] for r in doc["reminders"])


def test_remind_for_one_clinic(cli: Cli, today):
    _patient_with_items(cli)

    doc = cli.json("remind", "--clinic", "north", "--format", "json")

    assert [r["mrn"] for r in doc["reminders"]] == ["P2"] and doc["created"] == 1


def test_remind_writes_csv_with_a_bom_and_neutralised_cells(cli: Cli, today, tmp_path: Path):
    _patient_with_items(cli)
    out = tmp_path / "worklist.csv"

    result = cli.ok("remind", "--format", "csv", "--out", out)

    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfaction,severity,mrn,name,phone,")
    assert "'=cmd|' /C calc'!A0" in data.decode("utf-8-sig")
    assert f"Wrote {out}." in result.stdout and "4 open item(s)" in result.stdout


def test_remind_writes_an_html_page(cli: Cli, today, tmp_path: Path):
    _patient_with_items(cli)
    out = tmp_path / "worklist.html"

    cli.ok("remind", "--format", "html", "--out", out)

    page = out.read_text(encoding="utf-8")
    assert "&lt;b&gt;Bea&lt;/b&gt;" in page and "<b>Bea</b>" not in page
    assert page.count("<tr class=") == 4


def test_remind_prints_a_table_by_default(cli: Cli, today):
    _patient_with_items(cli)

    out = cli.ok("remind").stdout

    assert out.splitlines()[0].startswith("Worklist all clinics, 2025-06-01: 4 open item(s); run #1 created 4 new "
                                          "reminder(s)")
    for heading in ("Severity", "MRN", "Name", "Contact", "Item", "Rule", "Status", "Target", "Latest",
                    "Overdue", "Task", "Notes"):
        assert heading in out
    # one section per action, alerts (safety checks) first
    assert out.index("Safety check") < out.index("Book DXA") < out.index("Draw markers") < out.index("Review visit")


def test_remind_says_when_the_date_already_ran(cli: Cli, today):
    _patient_with_items(cli)
    cli.ok("remind")

    first_line = cli.ok("remind").stdout.splitlines()[0]

    assert first_line.endswith("run #1 already done (ok), nothing new")


def test_remind_out_into_a_missing_folder_is_refused(cli: Cli, today, tmp_path: Path):
    line = cli.error("remind", "--out", tmp_path / "nowhere" / "w.csv", "--format", "csv")

    assert line.startswith("Error: out: ") and line.endswith("is not allowed; a file in an existing folder")
    assert cli.counts()["daily_run"] == 0
