"""Database fixtures for CLI and storage tests: a fresh database per test on SQLite and PostgreSQL.

Register with `pytest_plugins = ["tests.dbfixtures"]` in a test module.

- `db_url`: an empty database (never initialised). Parametrised over "sqlite" (a file in tmp_path)
  and "postgresql" (a fresh schema on the server named by BONEMON_TEST_POSTGRES_URL, dropped
  afterwards; skipped with a reason when the variable is absent).
- `blank_cli`: runs `bonemon` in-process (click's CliRunner) against `db_url`, not initialised.
- `cli`: the same on an initialised, empty database (`ready_url`: a copy of a migrated SQLite file; on
  PostgreSQL one migrated schema per test process, emptied and its sequences restarted before each
  test, because migrating a schema costs most of a second).
- `today`: freezes the clock at the CLI edge on TODAY (2025-06-01, noon in London).
- `snapshot(url)`: every table's rows (audit and audit_head included), to assert "unchanged" exactly.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from sqlalchemy.pool import NullPool

PG_ENV = "BONEMON_TEST_POSTGRES_URL"
TODAY = date(2025, 6, 1)
FROZEN_AT = "2025-06-01 11:00:00"  # UTC; 12:00 in Europe/London (BST), the packaged clinic zone
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
ENV_TO_CLEAR = ("BONEMON_DB", "BONEMON_CONFIG", "BONEMON_USER", "BONEMON_DEBUG")


# --------------------------------------------------------------------------- URLs and raw SQL


def _sa_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def raw_engine(url: str) -> sa.Engine:
    """An engine of the test's own (no bonemon code): for snapshots and tampering."""
    return sa.create_engine(_sa_url(url), poolclass=NullPool)


def backend(url: str) -> str:
    return sa.engine.make_url(_sa_url(url)).get_backend_name()


def sql(url: str, statement: str, **params: Any) -> list[Any]:
    """Run one statement in its own committed transaction; returns the rows of a SELECT."""
    engine = raw_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(statement), params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def scalar(url: str, statement: str, **params: Any) -> Any:
    rows = sql(url, statement, **params)
    return rows[0][0] if rows else None


def table_names(url: str) -> list[str]:
    engine = raw_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def snapshot(url: str) -> dict[str, list[str]]:
    """Every row of every table (sorted reprs), so "the database is unchanged" is asserted exactly."""
    engine = raw_engine(url)
    out: dict[str, list[str]] = {}
    try:
        with engine.connect() as conn:
            for name in sorted(sa.inspect(conn).get_table_names()):
                rows = conn.execute(sa.text(f'SELECT * FROM "{name}"')).all()
                out[name] = sorted(repr(tuple(r)) for r in rows)
    finally:
        engine.dispose()
    return out


def fetch(url: str, table: str, **where: Any) -> list[dict[str, Any]]:
    """Rows of one bonemon table through its model's column types (dates, UTC datetimes, Decimals), by id."""
    from sqlmodel import SQLModel

    import db.models  # noqa: F401 - registers the tables

    t = SQLModel.metadata.tables[table]
    query = sa.select(t).where(*[t.c[k] == v for k, v in where.items()])
    if "id" in t.c:
        query = query.order_by(t.c.id)
    engine = raw_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]
    finally:
        engine.dispose()


def insert_task(url: str, mrn: str, **values: Any) -> int:
    """A stored task row, as the planner would write it (for task actions while monitor.core.plan is absent)."""
    from datetime import UTC, datetime

    from db.models import PatientRow, TaskRow

    row = {"kind": "dxa", "rule": "T-TEST", "anchor": date(2025, 1, 1), "earliest": date(2025, 5, 1),
           "target": date(2025, 6, 1), "latest": date(2025, 7, 1), "grace_days": 0, "reason": "a test task",
           "active": True, "created_at": datetime(2025, 5, 1, tzinfo=UTC),
           "updated_at": datetime(2025, 5, 1, tzinfo=UTC), **values}
    engine = raw_engine(url)
    try:
        with engine.begin() as conn:
            patient = PatientRow.__table__
            pid = conn.execute(sa.select(patient.c.id).where(patient.c.mrn == mrn)).scalar_one()
            task = TaskRow.__table__
            return conn.execute(task.insert().values(patient_id=pid, **row).returning(task.c.id)).scalar_one()
    finally:
        engine.dispose()


def counts(url: str) -> dict[str, int]:
    return {name: len(rows) for name, rows in snapshot(url).items()}


# --------------------------------------------------------------------------- the database per test


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    """The backend of this run of the test; "postgresql" is skipped when no server is configured."""
    if request.param == "postgresql" and not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test against")
    return request.param


def _pg_admin() -> sa.Engine:
    return sa.create_engine(_sa_url(os.environ[PG_ENV]), poolclass=NullPool, isolation_level="AUTOCOMMIT")


def _pg_schema_url(schema: str) -> str:
    base = _sa_url(os.environ[PG_ENV])
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@contextmanager
def _pg_schema() -> Iterator[str]:
    """A new, empty schema on the test server; dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = _pg_admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text("SET lock_timeout = '20s'"))
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db_url(backend_name: str, tmp_path: Path) -> Iterator[str]:
    """An empty database that was never initialised: a file in tmp_path, or a fresh PostgreSQL schema."""
    if backend_name == "sqlite":
        yield f"sqlite:///{tmp_path / 'bonemon.db'}"
        return
    with _pg_schema() as url:
        yield url


@pytest.fixture(scope="session")
def _pg_initialised() -> Iterator[str]:
    """One migrated schema per test process; `ready_url` empties it before each test (fast, like a new one)."""
    if not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test against")
    from db.engine import make_engine
    from db.migrate import upgrade

    with _pg_schema() as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        yield url


def _pg_reset(url: str) -> None:
    """Every table emptied, identities restarted, the schema at Alembic's head: as after a fresh init.

    DELETE in foreign-key order in one round trip: TRUNCATE of twenty tables costs half a second.
    """
    from sqlmodel import SQLModel

    import db.models  # noqa: F401 - registers the tables
    from db.migrate import HEAD_REVISION, upgrade

    engine = raw_engine(url)
    try:
        with engine.begin() as conn:
            names = set(sa.inspect(conn).get_table_names()) - {"alembic_version"}
            ordered = [t.name for t in reversed(SQLModel.metadata.sorted_tables) if t.name in names]
            tables = sorted(names - set(ordered)) + ordered
            sequences = conn.exec_driver_sql(
                "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = current_schema()"
            ).scalars().all()
            statements = [f'DELETE FROM "{t}"' for t in tables] + [f'ALTER SEQUENCE "{q}" RESTART' for q in sequences]
            if statements:
                conn.exec_driver_sql("; ".join(statements))
            current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if current != HEAD_REVISION:  # a migration landed while the test process was running
            upgrade(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test process; each test gets a copy (migrating costs ~0.1 s)."""
    from db.engine import make_engine
    from db.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "bonemon.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def ready_url(backend_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database after `bonemon init` with nothing in it."""
    if backend_name == "sqlite":
        import shutil

        target = tmp_path / "bonemon.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("_pg_initialised")
    _pg_reset(url)
    return url


# --------------------------------------------------------------------------- running the CLI


@dataclass
class Cli:
    """`bonemon --db URL --user NAME ...` in-process; every engine it made is disposed after the call."""

    url: str
    workdir: Path
    user: str = "tester"
    _made: list[sa.Engine] = field(default_factory=list, repr=False)

    def __call__(self, *args: Any, user: str | None = None, config: Path | str | None = None,
                 db: str | None = None) -> Result:
        argv = ["--db", db or self.url, "--user", user or self.user]
        if config is not None:
            argv += ["--config", str(config)]
        argv += [str(a) for a in args]
        return self.raw(*argv)

    def raw(self, *argv: str) -> Result:
        """`bonemon ARGV...` exactly as given (no --db, no --user)."""
        try:
            return CliRunner().invoke(_main(), list(argv), catch_exceptions=True)
        finally:
            while self._made:
                self._made.pop().dispose()

    def ok(self, *args: Any, **kwargs: Any) -> Result:
        result = self(*args, **kwargs)
        assert result.exit_code == 0, f"bonemon {' '.join(map(str, args))} failed: {describe(result)}"
        return result

    def error(self, *args: Any, **kwargs: Any) -> str:
        """Runs a command that must fail as a domain error; returns its one `Error: ...` line."""
        result = self(*args, **kwargs)
        return error_line(result)

    def json(self, *args: Any, **kwargs: Any) -> Any:
        import json

        return json.loads(self.ok(*args, **kwargs).stdout)

    def json_fails(self, *args: Any, **kwargs: Any) -> Any:
        """A --json command that must exit 1; its JSON report."""
        import json

        result = self(*args, **kwargs)
        assert result.exit_code == 1, f"expected exit 1: {describe(result)}"
        return json.loads(result.stdout)

    def snapshot(self) -> dict[str, list[str]]:
        return snapshot(self.url)

    def counts(self) -> dict[str, int]:
        return counts(self.url)

    def count(self, table: str) -> int:
        return int(self.scalar(f'SELECT count(*) FROM "{table}"'))

    def fetch(self, table: str, **where: Any) -> list[dict[str, Any]]:
        return fetch(self.url, table, **where)

    def insert_task(self, mrn: str, **values: Any) -> int:
        return insert_task(self.url, mrn, **values)

    def sql(self, statement: str, **params: Any) -> list[Any]:
        return sql(self.url, statement, **params)

    def scalar(self, statement: str, **params: Any) -> Any:
        return scalar(self.url, statement, **params)

    @property
    def backend(self) -> str:
        return backend(self.url)


def _main():
    from monitor.cli.main import main

    return main


def describe(result: Result) -> str:
    exc = result.exception
    detail = f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    if exc is not None and not isinstance(exc, SystemExit):
        import traceback

        detail += "\n" + "".join(traceback.format_exception(exc))
    return detail


def error_line(result: Result) -> str:
    """Asserts the contract of a domain error (docs/cli.md): exit 1, exactly one stderr line `Error: ...`."""
    assert result.exit_code == 1, f"expected exit 1: {describe(result)}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and result.stderr.endswith("\n"), f"expected one stderr line: {describe(result)}"
    line = lines[0]
    assert line.startswith("Error: "), f"expected `Error: ...`: {describe(result)}"
    assert "unexpected" not in line and "Traceback" not in line, f"an internal error leaked: {line}"
    return line


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No BONEMON_* variables and no ./config.toml from the checkout: only what the test passes."""
    return isolate(monkeypatch, tmp_path / "cwd")


def make_runner(url: str, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A Cli on `url` that disposes every engine bonemon made after each call (no pooled connections left)."""
    import db.engine

    runner = Cli(url, workdir)
    original = db.engine.make_engine

    def tracking_make_engine(*args: Any, **kwargs: Any) -> sa.Engine:
        engine = original(*args, **kwargs)
        runner._made.append(engine)
        return engine

    monkeypatch.setattr(db.engine, "make_engine", tracking_make_engine)
    return runner


def isolate(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> Path:
    for name in ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    workdir.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(workdir)
    return workdir


@contextmanager
def initialised_database(backend_name: str, directory: Path) -> Iterator[str]:
    """A migrated database of its own for a group of tests (module-scoped fixtures)."""
    from db.engine import make_engine
    from db.migrate import upgrade

    def migrate(url: str) -> None:
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()

    if backend_name == "sqlite":
        url = f"sqlite:///{directory / 'shared.db'}"
        migrate(url)
        yield url
        return
    if not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} is not set: no PostgreSQL server to test against")
    with _pg_schema() as url:
        migrate(url)
        yield url


def empty_database(url: str) -> None:
    """Every bonemon row gone and ids restarted, the schema kept."""
    if backend(url) == "postgresql":
        _pg_reset(url)
        return
    engine = raw_engine(url)
    try:
        with engine.begin() as conn:
            names = [n for n in sa.inspect(conn).get_table_names() if n != "alembic_version"]
            conn.exec_driver_sql("PRAGMA foreign_keys = OFF")
            for name in names:
                conn.execute(sa.text(f'DELETE FROM "{name}"'))
    finally:
        engine.dispose()


@pytest.fixture
def blank_cli(db_url: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`bonemon` against a database that was never initialised."""
    return make_runner(db_url, isolated_env, monkeypatch)


@pytest.fixture
def cli(ready_url: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`bonemon` against an initialised, empty database."""
    return make_runner(ready_url, isolated_env, monkeypatch)


@pytest.fixture
def today() -> Iterator[date]:
    """The clinic's today is 2025-06-01 for every command the test runs (freezegun at the CLI edge)."""
    import pandas  # noqa: F401 - pandas imported for the first time under freezegun crashes (pandas 3.1)
    from freezegun import freeze_time

    with freeze_time(FROZEN_AT, ignore=["_pytest.timing"]):
        yield TODAY


def write_config(directory: Path, text: str, name: str = "site.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
