"""Storage on SQLite and PostgreSQL: migrations, pragmas, all-or-nothing units of work, locks, crashes.

Every test that takes `db_url`, `cli` or `blank_cli` runs once per backend.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

pytest.register_assert_rewrite("tests.dbfixtures")
from db.migrate import HEAD_REVISION  # noqa: E402
from tests.dbfixtures import Cli, error_line, raw_engine, snapshot, table_names, write_config  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]

SQLITE_ONLY = pytest.mark.parametrize("backend_name", ["sqlite"], indirect=True)
MODEL_TABLES = {"patient", "course", "dose", "dxa", "marker", "fracture", "frax", "lab", "vitals", "note", "task",
                "task_action", "alert", "plan_state", "audit", "audit_head"}


def _context():
    from monitor.app.context import Context
    from monitor.settings import load_settings

    return Context(settings=load_settings(), user="tester", now=datetime(2025, 6, 1, 11, tzinfo=UTC))


def _patient(mrn: str = "P1"):
    from datetime import date

    from monitor.core.domain import Menopause, Patient, Sex

    return Patient(mrn=mrn, birth_date=date(1950, 1, 1), sex=Sex.FEMALE, menopause=Menopause.POST, clinic="main")


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("BONEMON_")}


# --------------------------------------------------------------------------- init and migrations


def test_init_creates_the_database_then_says_it_is_up_to_date(blank_cli: Cli):
    first = blank_cli.ok("init")
    assert first.stdout.startswith("Created database ")
    assert f"(schema {HEAD_REVISION})" in first.stdout
    assert set(table_names(blank_cli.url)) >= MODEL_TABLES
    before = blank_cli.snapshot()

    second = blank_cli.ok("init")

    assert second.stdout.startswith("Database ") and f"is up to date (schema {HEAD_REVISION})" in second.stdout
    assert blank_cli.snapshot() == before


@pytest.mark.parametrize("backend_name", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_init_hides_the_password_of_the_database_url(blank_cli: Cli):
    url = sa.engine.make_url(blank_cli.url)
    if url.password:
        pytest.skip("the test server URL already has a password")
    result = blank_cli("init", db=url.set(password="s3cret-pw").render_as_string(hide_password=False))
    assert "s3cret-pw" not in result.stdout + result.stderr


def test_the_migrated_schema_equals_the_models(cli: Cli):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import db.models  # noqa: F401 - registers the tables

    engine = raw_engine(cli.url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_init_upgrades_a_database_at_an_older_revision_and_keeps_its_rows(blank_cli: Cli):
    from alembic import command
    from alembic.script import ScriptDirectory

    from db.migrate import alembic_config

    revisions = [r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()][::-1]
    if len(revisions) < 2:
        pytest.skip("only one migration so far")
    engine = raw_engine(blank_cli.url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revisions[0])
            conn.execute(sa.text(
                "INSERT INTO patient (clinic, mrn, birth_date, sex, menopause, created_at, updated_at) "
                "VALUES ('main', 'OLD1', '1950-01-01', 'female', 'post', '2025-01-01 00:00:00', "
                "'2025-01-01 00:00:00')"))
    finally:
        engine.dispose()

    result = blank_cli.ok("init")

    assert f"from schema {revisions[0]} to {HEAD_REVISION}" in result.stdout
    assert blank_cli.scalar("SELECT mrn FROM patient") == "OLD1"


def test_head_revision_constant_equals_alembics_head():
    from db.migrate import HEAD_REVISION, head_revision

    assert head_revision() == HEAD_REVISION


def test_a_database_at_an_older_schema_asks_for_bonemon_init(blank_cli: Cli):
    cli = blank_cli
    cli.ok("init")
    cli.sql("UPDATE alembic_version SET version_num = '0000'")
    line = error_line(cli("patient", "list"))
    assert line == f"Error: the database is at schema 0000, this bonemon needs {HEAD_REVISION}; run `bonemon init`"


# --------------------------------------------------------------------------- SQLite pragmas, keys, exact values


@SQLITE_ONLY
def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(cli: Cli):
    from db.engine import make_engine

    engine = make_engine(cli.url, busy_timeout_ms=1234)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
    finally:
        engine.dispose()
    # WAL is a property of the file: a plain connection sees it too.
    path = sa.engine.make_url(cli.url).database
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_fact_for_a_missing_patient_row_is_refused_by_the_foreign_key(cli: Cli):
    from db.engine import make_engine, write_session

    engine = make_engine(cli.url)
    before = cli.snapshot()
    try:
        with pytest.raises(sa.exc.IntegrityError), write_session(engine) as session:
            session.execute(sa.text("INSERT INTO note (patient_id, kind) VALUES (4242, 'dental_check')"))
    finally:
        engine.dispose()
    assert cli.snapshot() == before


def test_a_t_score_is_stored_exactly_as_reported(cli: Cli, today):
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    cli.ok("record", "dxa", "P1", "--date", "2025-05-01", "--site", "femoral_neck", "--t-score", "-1.05")
    assert cli.scalar("SELECT t_score FROM dxa") == "-1.05"


def test_audit_timestamps_come_back_as_aware_utc(cli: Cli, today):
    from db.engine import make_engine, read_session
    from db.models import AuditRow

    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    engine = make_engine(cli.url)
    try:
        with read_session(engine) as session:
            at = session.execute(sa.select(AuditRow.__table__.c.at)).scalar_one()
    finally:
        engine.dispose()
    assert at == datetime(2025, 6, 1, 11, tzinfo=UTC)
    assert at.utcoffset().total_seconds() == 0


# --------------------------------------------------------------------------- all or nothing


def test_a_failing_unit_of_work_leaves_nothing_written(cli: Cli):
    from db.engine import make_engine, write_session
    from monitor.app import patients as service

    engine = make_engine(cli.url)
    before = cli.snapshot()
    try:
        with pytest.raises(RuntimeError, match="boom"), write_session(engine) as session:
            service.add_patient(session, _context(), _patient())
            assert session.execute(sa.text("SELECT count(*) FROM patient")).scalar() == 1  # written, not committed
            raise RuntimeError("boom")
    finally:
        engine.dispose()
    assert cli.snapshot() == before


def test_a_successful_unit_of_work_commits_the_row_its_audit_and_its_plan_together(cli: Cli):
    from db.engine import make_engine, write_session
    from monitor.app import patients as service

    engine = make_engine(cli.url)
    try:
        with write_session(engine) as session:
            service.add_patient(session, _context(), _patient())
    finally:
        engine.dispose()
    counts = cli.counts()
    assert (counts["patient"], counts["audit"], counts["audit_head"], counts["plan_state"]) == (1, 1, 1, 1)


@pytest.mark.parametrize("backend_name", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_first_writers_on_a_fresh_postgres_database_both_commit_with_their_audit_rows(cli: Cli):
    """The first write creates the audit head; a second writer waiting on it must not fail with a duplicate key."""
    import threading
    import time

    from db.engine import make_engine, write_session
    from monitor.app import patients as service

    engine = make_engine(cli.url)
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            with write_session(engine) as session:
                service.add_patient(session, _context(), _patient("P2"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%audit_head%'"
    try:
        with write_session(engine) as session:
            service.add_patient(session, _context(), _patient("P1"))
            thread = threading.Thread(target=second_writer)
            thread.start()
            deadline = time.monotonic() + 10
            while cli.scalar(waiting) == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
        thread.join(timeout=30)
    finally:
        engine.dispose()

    assert errors == [], f"the second writer failed: {errors[0]!r}"
    assert cli.count("patient") == 2
    assert cli.ok("audit", "verify").stdout.startswith("audit trail intact: 2 rows")


# --------------------------------------------------------------------------- another process


HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    sys.stdin.read()
    conn.execute("ROLLBACK")
""")


@pytest.fixture
def sqlite_write_lock(cli: Cli):
    """A second process that holds SQLite's write lock until the test ends."""
    path = sa.engine.make_url(cli.url).database
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, path], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        if not holder.stdin.closed:
            holder.stdin.close()
        holder.wait(timeout=30)


@SQLITE_ONLY
@pytest.mark.slow
def test_a_write_while_another_process_holds_the_lock_fails_after_the_busy_timeout(
    cli: Cli, tmp_path: Path, sqlite_write_lock
):
    config = write_config(tmp_path, "[database]\nbusy_timeout_ms = 200\n")
    before = cli.snapshot()

    line = cli.error("patient", "add", "P1", "--birth-date", "1950-01-01", config=config)

    assert line.startswith("Error: the database is locked")
    assert "nothing was written" in line
    assert cli.snapshot() == before


@SQLITE_ONLY
@pytest.mark.slow
def test_reads_go_on_while_another_process_holds_the_write_lock(cli: Cli, tmp_path: Path, sqlite_write_lock):
    config = write_config(tmp_path, "[database]\nbusy_timeout_ms = 200\n")
    assert cli.ok("patient", "list", "--json", config=config).stdout.strip().startswith("{")


@SQLITE_ONLY
@pytest.mark.slow
def test_a_write_succeeds_once_the_other_process_lets_go_of_the_lock(cli: Cli, tmp_path: Path, sqlite_write_lock):
    config = write_config(tmp_path, "[database]\nbusy_timeout_ms = 200\n")
    cli.error("patient", "add", "P1", "--birth-date", "1950-01-01", config=config)
    sqlite_write_lock.stdin.close()
    sqlite_write_lock.wait(timeout=30)

    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01", config=config)

    assert cli.counts()["patient"] == 1


PAUSE_AFTER_AUDIT = textwrap.dedent("""
    import sys, time
    import db.audit

    original = db.audit.AuditTrail.flush

    def flush_then_hang(self):
        n = original(self)
        print("written, not committed", flush=True)
        time.sleep(600)
        return n

    db.audit.AuditTrail.flush = flush_then_hang
    from monitor.cli.main import main
    main(["--db", sys.argv[1], "--user", "killed", "patient", "add", "P9", "--birth-date", "1950-01-01"])
""")


@pytest.mark.slow
def test_a_process_killed_in_the_middle_of_a_write_leaves_the_database_consistent(cli: Cli, tmp_path: Path, today):
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    before = cli.snapshot()
    proc = subprocess.Popen([sys.executable, "-c", PAUSE_AFTER_AUDIT, cli.url], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=_env())
    try:
        assert proc.stdout.readline().strip() == "written, not committed", proc.stderr.read()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    assert cli.snapshot() == before
    assert cli.ok("audit", "verify").stdout.startswith("audit trail intact: 1 rows")
    cli.ok("patient", "add", "P9", "--birth-date", "1950-01-01")  # no lock was left behind
    assert cli.counts()["patient"] == 2
    assert cli.ok("audit", "verify").stdout.startswith("audit trail intact: 2 rows")


# --------------------------------------------------------------------------- never initialised


UNINITIALISED = [
    ("patient", "add", "P1", "--birth-date", "1950-01-01"),
    ("patient", "update", "P1", "--name", "Ann"),
    ("patient", "show", "P1"),
    ("patient", "list"),
    ("therapy", "start", "P1", "--drug", "letrozole", "--date", "2025-01-01"),
    ("therapy", "stop", "P1", "--drug", "letrozole", "--date", "2025-01-01"),
    ("record", "dose", "P1", "--drug", "letrozole", "--date", "2025-01-01"),
    ("record", "dxa", "P1", "--date", "2025-01-01", "--site", "total_hip", "--t-score", "-1"),
    ("record", "marker", "P1", "--date", "2025-01-01", "--analyte", "ctx", "--value", "300", "--unit", "ng/L"),
    ("record", "lab", "P1", "--date", "2025-01-01", "--analyte", "egfr", "--value", "80", "--unit", "mL/min"),
    ("record", "fracture", "P1", "--date", "2025-01-01", "--site", "hip"),
    ("record", "frax", "P1", "--date", "2025-01-01", "--hip", "1"),
    ("record", "vitals", "P1", "--date", "2025-01-01", "--bmi", "22"),
    ("record", "note", "P1", "--date", "2025-01-01", "--kind", "dental_check"),
    ("import", "{csv}"),
    ("task", "ack", "1"),
    ("task", "snooze", "1", "--until", "2025-06-10", "--reason", "away"),
    ("task", "done", "1"),
    ("audit", "log"),
    ("audit", "verify"),
    ("replan",),
]
LATER = [  # commands of docs/cli.md whose modules may not have landed yet
    ("monitor.cli.remind", ("remind", "--as-of", "2025-06-01")),
    ("monitor.cli.report", ("report", "adherence")),
    ("monitor.cli.export", ("export", "fhir")),
    ("monitor.cli.scheduler", ("scheduler", "status")),
]


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.parametrize("args", [
    *UNINITIALISED,
    *[pytest.param(args, marks=pytest.mark.skipif(not _available(m), reason=f"{m} has not landed yet"))
      for m, args in LATER],
], ids=lambda a: " ".join(a[:2]))
def test_every_command_on_a_database_never_initialised_says_run_bonemon_init(blank_cli: Cli, args, tmp_path):
    csv = tmp_path / "in.csv"
    csv.write_text("mrn,record,birth_date\nP1,patient,1950-01-01\n", encoding="utf-8")
    args = [str(csv) if a == "{csv}" else a for a in args]

    line = error_line(blank_cli(*args))

    assert "run `bonemon init`" in line
    assert not (set(table_names(blank_cli.url)) & MODEL_TABLES), "a command other than init created tables"


def test_snapshot_sees_a_change_in_any_table(cli: Cli):
    """The helper every "database unchanged" assertion relies on."""
    before = snapshot(cli.url)
    cli.sql("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, :h)", h="0" * 64)
    assert snapshot(cli.url) != before
