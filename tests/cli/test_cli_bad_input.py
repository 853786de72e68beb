"""Bad input everywhere (docs/cli.md): one line `Error: ...` naming field, value and what is allowed; exit 1;
the database exactly as it was. One row per bad input per command, on SQLite and PostgreSQL.

Today is frozen at 2025-06-01 (clinic zone). P1 was born 1950-01-01, takes letrozole since
2025-01-01 and has a femoral-neck DXA of 2025-02-01; her last recorded fact is that DXA.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("tests.dbfixtures")
from tests.dbfixtures import (  # noqa: E402
    BACKENDS,
    FROZEN_AT,
    Cli,
    empty_database,
    error_line,
    initialised_database,
    isolate,
    make_runner,
)

pytest_plugins = ["tests.dbfixtures"]

LONG = "x" * 10_000


def _build(cli: Cli) -> dict[str, str]:
    from datetime import date

    from freezegun import freeze_time

    with freeze_time(FROZEN_AT):
        cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01", "--name", "Ann Example", "--menopause", "post")
        cli.ok("therapy", "start", "P1", "--drug", "letrozole", "--date", "2025-01-01")
        cli.ok("record", "dxa", "P1", "--date", "2025-02-01", "--site", "femoral_neck", "--t-score", "-1.5")
    tasks = {
        "open": cli.insert_task("P1", rule="T-OPEN"),
        "inactive": cli.insert_task("P1", rule="T-GONE", active=False),
        "done": cli.insert_task("P1", rule="T-DONE", manual_done_on=date(2025, 5, 1)),
    }
    return {k: str(v) for k, v in tasks.items()}


@pytest.fixture(scope="module", params=BACKENDS)
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """P1's database, built once per backend and test process; rebuilt only after a test changed it."""
    directory = tmp_path_factory.mktemp("bad-input")
    with pytest.MonkeyPatch.context() as mp, initialised_database(request.param, directory) as url:
        cli = make_runner(url, isolate(mp, directory / "cwd"), mp)
        state = {"tasks": _build(cli), "dirty": False}
        state["pristine"] = cli.snapshot()
        yield cli, state


@pytest.fixture
def base(shared, today) -> Iterator[tuple[Cli, dict[str, str]]]:
    """The shared database; a test that writes (by design, or a refused input that was not) marks it dirty."""
    cli, state = shared
    state["dirty"] = True  # until the test shows it left the database as it was
    yield cli, state["tasks"]
    if state["dirty"]:
        empty_database(cli.url)
        state["tasks"] = _build(cli)
        state["pristine"] = cli.snapshot()
        state["dirty"] = False


@pytest.fixture
def unchanged(shared):
    """Call after the command: asserts the database is exactly as built, and keeps it for the next test."""
    cli, state = shared

    def check() -> None:
        assert cli.snapshot() == state["pristine"], "the database changed"
        state["dirty"] = False

    return check


# (id, argv, field, value, allowed): the line must contain field, value and the hint of what is allowed.
DATE = "YYYY-MM-DD"
FUTURE = "today (2025-06-01)"
BIRTH = "birth date 1950-01-01"
BAD = [
    # ---- patient add
    ("patient-add-birth-date-tomorrow", ["patient", "add", "P2", "--birth-date", "2025-06-02"],
     "birth-date", "2025-06-02", FUTURE),
    ("patient-add-birth-date-2023-02-29", ["patient", "add", "P2", "--birth-date", "2023-02-29"],
     "birth-date", "2023-02-29", DATE),
    ("patient-add-birth-date-month-13", ["patient", "add", "P2", "--birth-date", "2024-13-01"],
     "birth-date", "2024-13-01", DATE),
    ("patient-add-birth-date-yesterday-as-a-word", ["patient", "add", "P2", "--birth-date", "yesterday"],
     "birth-date", "yesterday", DATE),
    ("patient-add-birth-date-iso-week", ["patient", "add", "P2", "--birth-date", "2025-W01-1"],
     "birth-date", "2025-W01-1", DATE),
    ("patient-add-birth-date-before-1900", ["patient", "add", "P2", "--birth-date", "1899-12-31"],
     "birth-date", "1899-12-31", "1900-01-01"),
    ("patient-add-duplicate-mrn-same-clinic", ["patient", "add", "P1", "--birth-date", "1960-01-01"],
     "mrn", "P1", "unique per clinic"),
    ("patient-add-empty-mrn", ["patient", "add", "", "--birth-date", "1960-01-01"],
     "mrn", "''", "non-empty"),
    ("patient-add-blank-mrn", ["patient", "add", "   ", "--birth-date", "1960-01-01"],
     "mrn", "'   '", "non-empty"),
    ("patient-add-10000-character-mrn", ["patient", "add", LONG, "--birth-date", "1960-01-01"],
     "mrn", "xxxxxxxxxx", "at most 64"),
    ("patient-add-10000-character-name", ["patient", "add", "P2", "--birth-date", "1960-01-01", "--name", LONG],
     "name", "xxxxxxxxxx", "at most 200"),
    ("patient-add-65-character-clinic", ["patient", "add", "P2", "--birth-date", "1960-01-01", "--clinic", "c" * 65],
     "clinic", "ccccccccc", "at most 64"),
    ("patient-add-unknown-sex", ["patient", "add", "P2", "--birth-date", "1960-01-01", "--sex", "x"],
     "sex", "'x'", "female"),
    ("patient-add-unknown-menopause", ["patient", "add", "P2", "--birth-date", "1960-01-01", "--menopause", "peri"],
     "menopause", "'peri'", "post"),
    # ---- patient update
    ("patient-update-unknown-patient", ["patient", "update", "NOPE", "--name", "X"],
     "mrn", "NOPE", "bonemon patient list"),
    ("patient-update-deceased-before-a-recorded-fact", ["patient", "update", "P1", "--deceased-date", "2025-01-15"],
     "deceased-date", "2025-01-15", "2025-02-01"),
    ("patient-update-deceased-before-birth", ["patient", "update", "P1", "--deceased-date", "1949-12-31"],
     "deceased-date", "1949-12-31", "1950-01-01"),
    ("patient-update-deceased-tomorrow", ["patient", "update", "P1", "--deceased-date", "2025-06-02"],
     "deceased-date", "2025-06-02", FUTURE),
    ("patient-update-deceased-2025-02-30", ["patient", "update", "P1", "--deceased-date", "2025-02-30"],
     "deceased-date", "2025-02-30", DATE),
    ("patient-update-birth-date-after-her-recorded-facts", ["patient", "update", "P1", "--birth-date", "2025-03-01"],
     "birth-date", "2025-03-01", "2025-01-01"),
    ("patient-update-10000-character-name", ["patient", "update", "P1", "--name", LONG],
     "name", "xxxxxxxxxx", "at most 200"),
    ("patient-update-nothing-to-change", ["patient", "update", "P1"],
     "options", "none given", "--name"),
    # ---- patient show / list
    ("patient-show-unknown-patient", ["patient", "show", "NOPE"], "mrn", "NOPE", "bonemon patient list"),
    ("patient-show-as-of-month-13", ["patient", "show", "P1", "--as-of", "2025-13-01"], "as-of", "2025-13-01", DATE),
    ("patient-list-unknown-tier", ["patient", "list", "--tier", "extreme"], "tier", "extreme", "moderate"),
    # ---- therapy start
    ("therapy-start-unknown-drug", ["therapy", "start", "P1", "--drug", "aspirin", "--date", "2025-03-01"],
     "drug", "aspirin", "anastrozole"),
    ("therapy-start-tomorrow", ["therapy", "start", "P1", "--drug", "anastrozole", "--date", "2025-06-02"],
     "date", "2025-06-02", FUTURE),
    ("therapy-start-before-birth", ["therapy", "start", "P1", "--drug", "anastrozole", "--date", "1949-12-31"],
     "date", "1949-12-31", BIRTH),
    ("therapy-start-planned-before-birth",
     ["therapy", "start", "P1", "--drug", "anastrozole", "--date", "1949-12-31", "--planned"],
     "date", "1949-12-31", BIRTH),
    ("therapy-start-2023-02-29", ["therapy", "start", "P1", "--drug", "anastrozole", "--date", "2023-02-29"],
     "date", "2023-02-29", DATE),
    ("therapy-start-a-second-open-course", ["therapy", "start", "P1", "--drug", "letrozole", "--date", "2025-03-01"],
     "drug", "letrozole", "stop it first"),
    ("therapy-start-negative-dose",
     ["therapy", "start", "P1", "--drug", "denosumab", "--date", "2025-03-01", "--dose-mg", "-60"],
     "dose-mg", "-60", "120"),
    ("therapy-start-absurd-dose",
     ["therapy", "start", "P1", "--drug", "denosumab", "--date", "2025-03-01", "--dose-mg", "6000"],
     "dose-mg", "6000", "120"),
    ("therapy-start-dose-abc",
     ["therapy", "start", "P1", "--drug", "denosumab", "--date", "2025-03-01", "--dose-mg", "abc"],
     "dose-mg", "abc", "number"),
    ("therapy-start-interval-0",
     ["therapy", "start", "P1", "--drug", "denosumab", "--date", "2025-03-01", "--interval-months", "0"],
     "interval-months", "0", "1 to 24"),
    ("therapy-start-interval-100",
     ["therapy", "start", "P1", "--drug", "denosumab", "--date", "2025-03-01", "--interval-months", "100"],
     "interval-months", "100", "1 to 24"),
    ("therapy-start-interval-1.5",
     ["therapy", "start", "P1", "--drug", "denosumab", "--date", "2025-03-01", "--interval-months", "1.5"],
     "interval-months", "1.5", "whole number"),
    ("therapy-start-unknown-patient", ["therapy", "start", "NOPE", "--drug", "letrozole", "--date", "2025-03-01"],
     "mrn", "NOPE", "bonemon patient list"),
    # ---- therapy stop
    ("therapy-stop-before-start", ["therapy", "stop", "P1", "--drug", "letrozole", "--date", "2024-12-31"],
     "date", "2024-12-31", "2025-01-01"),
    ("therapy-stop-a-course-that-is-not-open", ["therapy", "stop", "P1", "--drug", "anastrozole", "--date",
                                                "2025-03-01"], "drug", "anastrozole", "no open"),
    ("therapy-stop-tomorrow", ["therapy", "stop", "P1", "--drug", "letrozole", "--date", "2025-06-02"],
     "date", "2025-06-02", FUTURE),
    ("therapy-stop-unknown-drug", ["therapy", "stop", "P1", "--drug", "aspirin", "--date", "2025-03-01"],
     "drug", "aspirin", "anastrozole"),
    ("therapy-stop-10000-character-reason",
     ["therapy", "stop", "P1", "--drug", "letrozole", "--date", "2025-03-01", "--reason", LONG],
     "reason", "xxxxxxxxxx", "at most 500"),
    # ---- record dose
    ("record-dose-negative-dose", ["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-03-01",
                                   "--dose-mg", "-2.5"], "dose-mg", "-2.5", "up to 25"),
    ("record-dose-zero-dose", ["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-03-01",
                               "--dose-mg", "0"], "dose-mg", "0", "more than 0"),
    ("record-dose-absurd-dose", ["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-03-01",
                                 "--dose-mg", "2500"], "dose-mg", "2500", "up to 25"),
    ("record-dose-infinite-dose", ["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-03-01",
                                   "--dose-mg", "1e400"], "dose-mg", "1e400", "finite"),
    ("record-dose-days-supply-0", ["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-03-01",
                                   "--days-supply", "0"], "days-supply", "0", "1 to 366"),
    ("record-dose-days-supply-400", ["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-03-01",
                                     "--days-supply", "400"], "days-supply", "400", "1 to 366"),
    ("record-dose-days-supply-2.5", ["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-03-01",
                                     "--days-supply", "2.5"], "days-supply", "2.5", "whole number"),
    ("record-dose-days-supply-huge-exponent", ["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-03-01",
                                               "--days-supply", "1e5000"], "days-supply", "1e5000", "366"),
    ("record-dose-unknown-drug", ["record", "dose", "P1", "--drug", "vitamin_c", "--date", "2025-03-01"],
     "drug", "vitamin_c", "anastrozole"),
    ("record-dose-unknown-route", ["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-03-01",
                                   "--route", "nasal"], "route", "nasal", "oral"),
    ("record-dose-tomorrow", ["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-06-02"],
     "date", "2025-06-02", FUTURE),
    ("record-dose-before-birth", ["record", "dose", "P1", "--drug", "letrozole", "--date", "1949-12-31"],
     "date", "1949-12-31", BIRTH),
    ("record-dose-unknown-patient", ["record", "dose", "NOPE", "--drug", "letrozole", "--date", "2025-03-01"],
     "mrn", "NOPE", "bonemon patient list"),
    # ---- record dxa
    ("record-dxa-t-score-42", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip",
                               "--t-score", "42"], "t-score", "42", "-8 to 6"),
    ("record-dxa-t-score-minus-8.1", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip",
                                      "--t-score", "-8.1"], "t-score", "-8.1", "-8 to 6"),
    ("record-dxa-t-score-6.1", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip",
                                "--t-score", "6.1"], "t-score", "6.1", "-8 to 6"),
    ("record-dxa-t-score-abc", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip",
                                "--t-score", "abc"], "t-score", "abc", "number"),
    ("record-dxa-t-score-nan", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip",
                                "--t-score", "NaN"], "t-score", "NaN", "finite"),
    ("record-dxa-z-score-9", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip",
                              "--t-score", "-1", "--z-score", "9"], "z-score", "9", "-8 to 6"),
    ("record-dxa-unknown-site", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "elbow",
                                 "--t-score", "-1"], "site", "elbow", "femoral_neck"),
    ("record-dxa-tomorrow", ["record", "dxa", "P1", "--date", "2025-06-02", "--site", "total_hip",
                             "--t-score", "-1"], "date", "2025-06-02", FUTURE),
    ("record-dxa-before-birth", ["record", "dxa", "P1", "--date", "1949-12-31", "--site", "total_hip",
                                 "--t-score", "-1"], "date", "1949-12-31", BIRTH),
    ("record-dxa-2023-02-29", ["record", "dxa", "P1", "--date", "2023-02-29", "--site", "total_hip",
                               "--t-score", "-1"], "date", "2023-02-29", DATE),
    ("record-dxa-negative-bmd", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip",
                                 "--bmd", "-0.5"], "bmd", "-0.5", "g/cm"),
    ("record-dxa-absurd-bmd", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip",
                               "--bmd", "12"], "bmd", "12", "g/cm"),
    ("record-dxa-5-vertebrae", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "lumbar_spine",
                                "--t-score", "-1", "--vertebrae", "5"], "vertebrae", "5", "1 to 4"),
    ("record-dxa-vertebrae-on-the-hip", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip",
                                         "--t-score", "-1", "--vertebrae", "3"], "vertebrae", "3", "lumbar_spine"),
    ("record-dxa-neither-t-score-nor-bmd", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip"],
     "t-score", "missing", "BMD"),
    ("record-dxa-unknown-side", ["record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip",
                                 "--t-score", "-1", "--side", "middle"], "side", "middle", "left"),
    # ---- record marker
    ("record-marker-unknown-analyte", ["record", "marker", "P1", "--date", "2025-03-01", "--analyte", "osteocalcin",
                                       "--value", "20", "--unit", "ng/mL"], "analyte", "osteocalcin", "ctx"),
    ("record-marker-ctx-in-mmol-per-l", ["record", "marker", "P1", "--date", "2025-03-01", "--analyte", "ctx",
                                         "--value", "300", "--unit", "mmol/L"], "unit", "mmol/L", "ng/L"),
    ("record-marker-value-abc", ["record", "marker", "P1", "--date", "2025-03-01", "--analyte", "ctx",
                                 "--value", "abc", "--unit", "ng/L"], "value", "abc", "number"),
    ("record-marker-negative-value", ["record", "marker", "P1", "--date", "2025-03-01", "--analyte", "ctx",
                                      "--value", "-5", "--unit", "ng/L"], "value", "-5", "10000"),
    ("record-marker-absurd-value", ["record", "marker", "P1", "--date", "2025-03-01", "--analyte", "ctx",
                                    "--value", "25000", "--unit", "ng/L"], "value", "25000", "10000"),
    ("record-marker-tomorrow", ["record", "marker", "P1", "--date", "2025-06-02", "--analyte", "ctx",
                                "--value", "300", "--unit", "ng/L"], "date", "2025-06-02", FUTURE),
    # ---- record lab
    ("record-lab-calcium-in-ng-per-ml", ["record", "lab", "P1", "--date", "2025-03-01", "--analyte", "calcium",
                                         "--value", "2.3", "--unit", "ng/mL"], "unit", "ng/mL", "mmol/L"),
    ("record-lab-vitamin-d-in-mg-per-dl", ["record", "lab", "P1", "--date", "2025-03-01", "--analyte", "vitamin_d",
                                           "--value", "30", "--unit", "mg/dL"], "unit", "mg/dL", "nmol/l"),
    ("record-lab-unknown-analyte", ["record", "lab", "P1", "--date", "2025-03-01", "--analyte", "sodium",
                                    "--value", "140", "--unit", "mmol/L"], "analyte", "sodium", "calcium"),
    ("record-lab-value-abc", ["record", "lab", "P1", "--date", "2025-03-01", "--analyte", "egfr",
                              "--value", "abc", "--unit", "mL/min"], "value", "abc", "number"),
    ("record-lab-negative-egfr", ["record", "lab", "P1", "--date", "2025-03-01", "--analyte", "egfr",
                                  "--value", "-1", "--unit", "mL/min"], "value", "-1", "200"),
    ("record-lab-absurd-calcium", ["record", "lab", "P1", "--date", "2025-03-01", "--analyte", "calcium",
                                   "--value", "50", "--unit", "mmol/L"], "value", "50", "0.5 to 5"),
    ("record-lab-before-birth", ["record", "lab", "P1", "--date", "1949-12-31", "--analyte", "egfr",
                                 "--value", "80", "--unit", "mL/min"], "date", "1949-12-31", BIRTH),
    # ---- record fracture
    ("record-fracture-unknown-site", ["record", "fracture", "P1", "--date", "2025-03-01", "--site", "elbow"],
     "site", "elbow", "hip"),
    ("record-fracture-unknown-mechanism", ["record", "fracture", "P1", "--date", "2025-03-01", "--site", "hip",
                                           "--mechanism", "skiing"], "mechanism", "skiing", "fragility"),
    ("record-fracture-genant-grade-4", ["record", "fracture", "P1", "--date", "2025-03-01", "--site", "vertebra",
                                        "--genant-grade", "4"], "genant-grade", "4", "1, 2 or 3"),
    ("record-fracture-tomorrow", ["record", "fracture", "P1", "--date", "2025-06-02", "--site", "hip"],
     "date", "2025-06-02", FUTURE),
    # ---- record frax
    ("record-frax-hip-150", ["record", "frax", "P1", "--date", "2025-03-01", "--hip", "150"], "hip", "150", "100"),
    ("record-frax-negative-mof", ["record", "frax", "P1", "--date", "2025-03-01", "--mof", "-1"], "mof", "-1", "100"),
    ("record-frax-hip-abc", ["record", "frax", "P1", "--date", "2025-03-01", "--hip", "abc"], "hip", "abc", "number"),
    ("record-frax-no-probability", ["record", "frax", "P1", "--date", "2025-03-01"], "hip", "missing", "--mof"),
    # ---- record vitals
    ("record-vitals-weight-0", ["record", "vitals", "P1", "--date", "2025-03-01", "--weight-kg", "0"],
     "weight-kg", "0", "300"),
    ("record-vitals-negative-weight", ["record", "vitals", "P1", "--date", "2025-03-01", "--weight-kg", "-70"],
     "weight-kg", "-70", "300"),
    ("record-vitals-weight-700", ["record", "vitals", "P1", "--date", "2025-03-01", "--weight-kg", "700"],
     "weight-kg", "700", "300"),
    ("record-vitals-height-500", ["record", "vitals", "P1", "--date", "2025-03-01", "--height-cm", "500"],
     "height-cm", "500", "230"),
    ("record-vitals-bmi-2", ["record", "vitals", "P1", "--date", "2025-03-01", "--bmi", "2"], "bmi", "2", "10 to 80"),
    ("record-vitals-waist-5", ["record", "vitals", "P1", "--date", "2025-03-01", "--waist-cm", "5"],
     "waist-cm", "5", "40 to 250"),
    ("record-vitals-nothing-measured", ["record", "vitals", "P1", "--date", "2025-03-01"],
     "vitals", "none given", "weight"),
    # ---- record note
    ("record-note-unknown-kind", ["record", "note", "P1", "--date", "2025-03-01", "--kind", "gossip"],
     "kind", "gossip", "dental_check"),
    ("record-note-10000-character-text", ["record", "note", "P1", "--date", "2025-03-01", "--kind", "risk_review",
                                          "--text", LONG], "text", "xxxxxxxxxx", "at most 2000"),
    ("record-note-yesterday-as-a-word", ["record", "note", "P1", "--date", "yesterday", "--kind", "risk_review"],
     "date", "yesterday", DATE),
    ("record-note-tomorrow", ["record", "note", "P1", "--date", "2025-06-02", "--kind", "risk_review"],
     "date", "2025-06-02", FUTURE),
    # ---- task
    ("task-ack-unknown-task", ["task", "ack", "99999"], "task-id", "99999", "no task"),
    ("task-ack-task-id-abc", ["task", "ack", "abc"], "task-id", "abc", "number"),
    ("task-ack-task-id-0", ["task", "ack", "0"], "task-id", "0", "bonemon remind"),
    ("task-ack-a-task-no-longer-planned", ["task", "ack", "{inactive}"], "task", "{inactive}", "no longer"),
    ("task-snooze-past-snooze-max-days", ["task", "snooze", "{open}", "--until", "2025-08-31", "--reason", "away"],
     "until", "2025-08-31", "2025-08-30"),
    ("task-snooze-until-yesterday", ["task", "snooze", "{open}", "--until", "2025-05-31", "--reason", "away"],
     "until", "2025-05-31", "2025-06-01"),
    ("task-snooze-until-a-word", ["task", "snooze", "{open}", "--until", "later", "--reason", "away"],
     "until", "later", DATE),
    ("task-snooze-empty-reason", ["task", "snooze", "{open}", "--until", "2025-06-10", "--reason", ""],
     "reason", "''", "a reason"),
    ("task-snooze-blank-reason", ["task", "snooze", "{open}", "--until", "2025-06-10", "--reason", "   "],
     "reason", "'   '", "a reason"),
    ("task-snooze-a-done-task", ["task", "snooze", "{done}", "--until", "2025-06-10", "--reason", "away"],
     "task", "{done}", "already done"),
    ("task-snooze-10000-character-reason", ["task", "snooze", "{open}", "--until", "2025-06-10", "--reason", LONG],
     "reason", "xxxxxxxxxx", "at most 500"),
    ("task-ack-10000-character-reason", ["task", "ack", "{open}", "--reason", LONG],
     "reason", "xxxxxxxxxx", "at most 500"),
    ("task-done-tomorrow", ["task", "done", "{open}", "--date", "2025-06-02"], "date", "2025-06-02", FUTURE),
    ("task-done-twice", ["task", "done", "{done}"], "task", "{done}", "already done"),
    # ---- audit log
    ("audit-log-from-a-word", ["audit", "log", "--from", "last-week"], "from", "last-week", DATE),
    ("audit-log-to-2025-02-30", ["audit", "log", "--to", "2025-02-30"], "to", "2025-02-30", DATE),
]


@pytest.mark.parametrize(("argv", "field", "value", "allowed"), [pytest.param(*row[1:], id=row[0]) for row in BAD])
def test_bad_input_is_refused_naming_field_value_and_what_is_allowed_and_nothing_is_written(
    base, unchanged, argv, field, value, allowed
):
    cli, tasks = base
    argv = [a.format(**tasks) if a.startswith("{") else a for a in argv]
    value = value.format(**tasks)

    result = cli(*argv)

    unchanged()
    line = error_line(result)
    assert f"{field}" in line.lower(), f"the field {field!r} is not named: {line}"
    assert value in line, f"the value {value!r} is not named: {line}"
    assert allowed.lower() in line.lower(), f"what is allowed ({allowed!r}) is not said: {line}"
    assert len(line) < 1000, "a 10,000-character value must not be echoed in full"


def test_the_same_mrn_in_another_clinic_is_not_a_duplicate(base):
    cli, _ = base
    cli.ok("patient", "add", "P1", "--birth-date", "1960-01-01", "--clinic", "north")
    assert cli.counts()["patient"] == 2


def test_an_mrn_in_two_clinics_needs_clinic_to_record(base):
    cli, _ = base
    cli.ok("patient", "add", "P1", "--birth-date", "1960-01-01", "--clinic", "north")
    before = cli.snapshot()

    line = cli.error("record", "vitals", "P1", "--date", "2025-03-01", "--bmi", "22")

    assert "mrn" in line and "P1" in line and "--clinic" in line
    assert cli.snapshot() == before


def test_the_exact_same_fact_twice_is_refused_as_a_duplicate(base, unchanged):
    cli, _ = base
    result = cli("record", "dxa", "P1", "--date", "2025-02-01", "--site", "femoral_neck", "--t-score", "-1.5")
    unchanged()
    assert "already recorded" in error_line(result)


def test_a_new_course_may_not_start_before_the_previous_one_stopped(base):
    cli, _ = base
    cli.ok("therapy", "stop", "P1", "--drug", "letrozole", "--date", "2025-04-01")
    before = cli.snapshot()
    line = cli.error("therapy", "start", "P1", "--drug", "letrozole", "--date", "2025-03-01")
    assert "date" in line and "2025-03-01" in line and "2025-04-01" in line
    assert cli.snapshot() == before


def test_a_fact_after_her_date_of_death_is_refused(base):
    cli, _ = base
    cli.ok("patient", "update", "P1", "--deceased-date", "2025-03-01")
    before = cli.snapshot()
    line = cli.error("record", "vitals", "P1", "--date", "2025-03-02", "--bmi", "22")
    assert "date" in line and "2025-03-02" in line and "date of death 2025-03-01" in line
    assert cli.snapshot() == before


def test_a_missing_required_option_is_a_usage_error_with_exit_2(base, unchanged):
    cli, _ = base
    result = cli("task", "snooze", "1", "--until", "2025-06-10")
    unchanged()
    assert result.exit_code == 2
    assert "--reason" in result.stderr


@pytest.mark.parametrize("argv", [
    ["therapy", "start", "P1", "--drug", "anastrozole", "--date", "2025-06-01"],
    ["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-06-01"],
    ["record", "dxa", "P1", "--date", "2025-06-01", "--site", "total_hip", "--t-score", "-1"],
    ["record", "marker", "P1", "--date", "2025-06-01", "--analyte", "p1np", "--value", "40", "--unit", "ug/L"],
    ["record", "lab", "P1", "--date", "2025-06-01", "--analyte", "egfr", "--value", "80", "--unit", "mL/min"],
    ["record", "fracture", "P1", "--date", "2025-06-01", "--site", "other", "--mechanism", "trauma"],
    ["record", "frax", "P1", "--date", "2025-06-01", "--mof", "12"],
    ["record", "vitals", "P1", "--date", "2025-06-01", "--weight-kg", "60"],
    ["record", "note", "P1", "--date", "2025-06-01", "--kind", "dental_check"],
    ["patient", "update", "P1", "--deceased-date", "2025-06-01"],
    ["task", "done", "{open}", "--date", "2025-06-01"],
], ids=lambda a: " ".join(a[:2]))
def test_today_itself_is_accepted(base, argv):
    cli, tasks = base
    cli.ok(*[a.format(**tasks) if a.startswith("{") else a for a in argv])


@pytest.mark.parametrize("t_score", ["-8", "6"])
def test_t_scores_of_minus_8_and_plus_6_are_accepted(base, t_score):
    cli, _ = base
    cli.ok("record", "dxa", "P1", "--date", "2025-03-01", "--site", "total_hip", "--t-score", t_score)
