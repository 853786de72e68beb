"""The audit trail (docs/architecture.md): every write adds its rows in the same transaction, with who, what,
before and after; a failed command adds none; the hash chain verifies, and tampering is named.
On SQLite and PostgreSQL.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.dbfixtures")
from tests.dbfixtures import Cli, error_line  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]


@pytest.fixture
def p1(cli: Cli, today) -> Cli:
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01", user="setup")
    cli.ok("therapy", "start", "P1", "--drug", "letrozole", "--date", "2025-01-01", user="setup")
    return cli


def newest(cli: Cli, n: int = 1) -> list[dict]:
    return cli.json("audit", "log", "--limit", str(n), "--json")["entries"]


WRITES = [
    (["patient", "add", "P2", "--birth-date", "1960-01-01"], "patient add", "P2"),
    (["patient", "update", "P1", "--name", "Ann"], "patient update", "P1"),
    (["therapy", "start", "P1", "--drug", "denosumab", "--date", "2025-07-01", "--planned"], "therapy plan", "P1"),
    (["therapy", "start", "P1", "--drug", "denosumab", "--date", "2025-05-01"], "therapy start", "P1"),
    (["therapy", "stop", "P1", "--drug", "letrozole", "--date", "2025-05-01"], "therapy stop", "P1"),
    (["record", "dose", "P1", "--drug", "letrozole", "--date", "2025-05-01"], "record dose", "P1"),
    (["record", "dxa", "P1", "--date", "2025-05-01", "--site", "total_hip", "--t-score", "-1"], "record dxa", "P1"),
    (["record", "marker", "P1", "--date", "2025-05-01", "--analyte", "ctx", "--value", "300", "--unit", "ng/L"],
     "record marker", "P1"),
    (["record", "lab", "P1", "--date", "2025-05-01", "--analyte", "egfr", "--value", "80", "--unit", "mL/min"],
     "record lab", "P1"),
    (["record", "fracture", "P1", "--date", "2025-05-01", "--site", "hip", "--mechanism", "trauma"],
     "record fracture", "P1"),
    (["record", "frax", "P1", "--date", "2025-05-01", "--hip", "1.2"], "record frax", "P1"),
    (["record", "vitals", "P1", "--date", "2025-05-01", "--bmi", "22"], "record vitals", "P1"),
    (["record", "note", "P1", "--date", "2025-05-01", "--kind", "dental_check"], "record note", "P1"),
    (["import", "{csv}"], "import facts", "P1"),
    (["task", "ack", "{task}"], "task ack", "P1"),
    (["task", "snooze", "{task}", "--until", "2025-06-10", "--reason", "away"], "task snooze", "P1"),
    (["task", "done", "{task}"], "task done", "P1"),
]


@pytest.mark.parametrize(("argv", "action", "mrn"), [pytest.param(*w, id=w[1]) for w in WRITES])
def test_every_write_command_adds_its_audit_row_with_the_acting_user(p1: Cli, tmp_path: Path, argv, action, mrn):
    csv = tmp_path / "in.csv"
    csv.write_text("mrn,record,date,bmi\nP1,vitals,2025-05-02,23\n", encoding="utf-8")
    task = str(p1.insert_task("P1"))
    argv = [str(csv) if a == "{csv}" else task if a == "{task}" else a for a in argv]
    rows_before = p1.count("audit")

    p1.ok(*argv, user="auditor-7")

    entries = newest(p1, p1.count("audit") - rows_before)
    assert entries, "no audit row was written"
    assert [(e["user"], e["action"], e["mrn"]) for e in entries] == [("auditor-7", action, mrn)] * len(entries)
    assert all(e["after"] is not None for e in entries)
    assert p1.ok("audit", "verify").stdout.startswith("audit trail intact")


@pytest.mark.parametrize("argv", [
    ["patient", "add", "P1", "--birth-date", "1960-01-01"],
    ["record", "dxa", "P1", "--date", "2025-05-01", "--site", "total_hip", "--t-score", "42"],
    ["therapy", "stop", "P1", "--drug", "anastrozole", "--date", "2025-05-01"],
], ids=["duplicate-mrn", "t-score-42", "stop-not-open"])
def test_a_failed_command_adds_no_audit_row(p1: Cli, argv):
    before = p1.sql("SELECT id, hash FROM audit ORDER BY id"), p1.sql("SELECT last_id, last_hash FROM audit_head")
    error_line(p1(*argv))
    assert (p1.sql("SELECT id, hash FROM audit ORDER BY id"), p1.sql("SELECT last_id, last_hash FROM audit_head")) \
        == before


@pytest.mark.parametrize("argv", [
    ["patient", "show", "P1", "--json"], ["patient", "list"], ["audit", "log"], ["audit", "verify"],
    ["import", "{csv}", "--dry-run"],
], ids=["patient show", "patient list", "audit log", "audit verify", "import dry-run"])
def test_a_read_adds_no_audit_row(p1: Cli, tmp_path: Path, argv):
    csv = tmp_path / "in.csv"
    csv.write_text("mrn,record,date,bmi\nP1,vitals,2025-05-02,23\n", encoding="utf-8")
    before = p1.snapshot()
    p1.ok(*[str(csv) if a == "{csv}" else a for a in argv])
    assert p1.snapshot() == before


def test_an_update_records_before_and_after(p1: Cli):
    p1.ok("patient", "update", "P1", "--name", "Ann", "--menopause", "post", user="clerk")
    entry = newest(p1)[0]
    assert (entry["entity"], entry["user"]) == ("patient", "clerk")
    assert entry["before"] == {"name": None, "menopause": "unknown"}
    assert entry["after"] == {"name": "Ann", "menopause": "post"}


def test_a_stop_records_before_and_after(p1: Cli):
    p1.ok("therapy", "stop", "P1", "--drug", "letrozole", "--date", "2025-05-01", "--reason", "arthralgia")
    entry = newest(p1)[0]
    assert entry["before"] == {"stop": None}
    assert entry["after"] == {"stop": "2025-05-01", "stop_reason": "arthralgia"}


def test_a_recorded_fact_is_audited_with_its_values(p1: Cli):
    p1.ok("record", "dxa", "P1", "--date", "2025-05-01", "--site", "total_hip", "--t-score", "-1.05")
    entry = newest(p1)[0]
    assert (entry["entity"], entry["after"]["site"], entry["after"]["t_score"]) == ("dxa", "total_hip", "-1.05")
    assert entry["entity_id"] == p1.fetch("dxa")[0]["id"]


def test_the_user_defaults_to_the_os_user(p1: Cli, monkeypatch):
    import getpass

    monkeypatch.setattr(getpass, "getuser", lambda: "os-user")
    result = p1.raw("--db", p1.url, "patient", "update", "P1", "--name", "Ann")
    assert result.exit_code == 0, result.stderr
    assert newest(p1)[0]["user"] == "os-user"


# --------------------------------------------------------------------------- the chain


@pytest.fixture
def five_rows(cli: Cli, today) -> Cli:
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    cli.ok("patient", "add", "P2", "--birth-date", "1951-01-01")
    cli.ok("record", "vitals", "P1", "--date", "2025-05-01", "--bmi", "22")
    cli.ok("patient", "update", "P2", "--name", "Bea")
    cli.ok("record", "note", "P2", "--date", "2025-05-01", "--kind", "dental_check")
    assert cli.scalar("SELECT max(id) FROM audit") == 5
    return cli


def test_the_chain_of_many_writes_verifies(five_rows: Cli):
    assert five_rows.ok("audit", "verify").stdout.startswith("audit trail intact: 5 rows, newest hash ")


def test_each_row_links_to_the_hash_of_the_row_before(five_rows: Cli):
    rows = five_rows.sql("SELECT id, prev_hash, hash FROM audit ORDER BY id")
    assert rows[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert five_rows.sql("SELECT last_id, last_hash FROM audit_head")[0] == (5, rows[-1].hash)


@pytest.mark.parametrize(("statement", "named"), [
    ("UPDATE audit SET \"user\" = 'mallory' WHERE id = 3", "audit row 3 was altered"),
    ("UPDATE audit SET action = 'patient delete' WHERE id = 3", "audit row 3 was altered"),
    ("UPDATE audit SET after = '{\"bmi\": 35}' WHERE id = 3", "audit row 3 was altered"),
    ("UPDATE audit SET mrn = 'P9' WHERE id = 3", "audit row 3 was altered"),
    ("UPDATE audit SET hash = prev_hash WHERE id = 3", "audit row 3 was altered"),
    ("DELETE FROM audit WHERE id = 3", "audit row 3 is missing"),
    ("DELETE FROM audit WHERE id = 5", "audit row 5"),
], ids=["middle-row-user-edited", "middle-row-action-edited", "middle-row-after-edited", "middle-row-mrn-edited",
        "middle-row-hash-edited", "middle-row-deleted", "newest-row-deleted"])
def test_tampering_is_detected_and_the_row_named(five_rows: Cli, statement, named):
    five_rows.sql(statement)
    line = five_rows.error("audit", "verify")
    assert named in line, line


def test_a_middle_row_edited_with_its_hash_recomputed_is_detected_at_the_next_row(five_rows: Cli):
    import hashlib

    from db.audit import canonical

    row = five_rows.fetch("audit", id=3)[0]
    forged = {**row, "user": "mallory"}
    digest = hashlib.sha256((row["prev_hash"] + canonical(forged)).encode()).hexdigest()
    five_rows.sql("UPDATE audit SET \"user\" = 'mallory', hash = :h WHERE id = 3", h=digest)

    line = five_rows.error("audit", "verify")

    assert "audit row 4" in line


def test_a_row_appended_behind_the_heads_back_is_detected_and_named(five_rows: Cli):
    """A forged sixth row with a correct chain hash, the head left at row 5."""
    import hashlib

    from db.audit import canonical

    last = five_rows.fetch("audit", id=5)[0]
    forged = {**last, "id": 6, "user": "mallory", "action": "patient update", "prev_hash": last["hash"]}
    forged["hash"] = hashlib.sha256((last["hash"] + canonical(forged)).encode()).hexdigest()
    from db.models import AuditRow
    from tests.dbfixtures import raw_engine

    engine = raw_engine(five_rows.url)
    try:
        with engine.begin() as conn:
            conn.execute(AuditRow.__table__.insert().values(**forged))
    finally:
        engine.dispose()

    line = five_rows.error("audit", "verify")

    assert "audit row 6" in line, line
