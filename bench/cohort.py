"""A large demo cohort in a SQLite file, built fast and cached between benchmark runs.

`bonemon demo` writes through the validated, audited import path (about 14 ms per patient: 25
minutes for 100,000). For benchmarks only the resulting rows matter, so this loader generates and
plans the patients in worker processes (monitor.demo.cohort.generate_range + monitor.app.context.evaluate) and
the parent writes them set-wise: patients with their ids, one executemany per fact table, and the
plans through db.plans.store_plans (the same code the daily run uses). No audit rows are written.

The file is cached under $BONEMON_BENCH_CACHE (default /tmp) keyed by size, seed, date and schema
revision; `--rebuild` (or deleting the file) rebuilds it.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

CHUNK = 1000


def cache_path(n: int, seed: int, as_of: date) -> Path:
    from db.migrate import HEAD_REVISION

    folder = Path(os.environ.get("BONEMON_BENCH_CACHE", "/tmp"))
    return folder / f"bonemon-bench-{n}-seed{seed}-{as_of.isoformat()}-schema{HEAD_REVISION}.db"


def _plan_range(args: tuple[int, int, int, date]) -> tuple[list, dict[str, tuple[list[str], list[tuple]]], dict]:
    """Worker: generate and plan patients start … stop−1; rows ready to insert (patient id = index + 1)."""
    from decimal import Decimal

    from db.queries import FACT_MAP, fact_to_values
    from db.writes import audit_image as _snapshot
    from monitor.app.context import evaluate
    from monitor.core.domain import iter_facts
    from monitor.demo.cohort import generate_range
    from monitor.settings import load_settings

    start, stop, seed, as_of = args
    settings = load_settings()
    patients, facts, results = [], defaultdict(list), {}
    columns: dict[str, list[str]] = {}
    for index, pf in enumerate(generate_range(start, stop, seed=seed, as_of=as_of), start=start):
        pid = index + 1
        values = _snapshot(pf.patient)
        values.update(id=pid, sex=pf.patient.sex.value, menopause=pf.patient.menopause.value)
        patients.append(values)
        for fact in iter_facts(pf):
            table = FACT_MAP[type(fact)][0].name
            row = fact_to_values(fact, pid)
            cols = columns.setdefault(table, list(row))
            facts[table].append(tuple(format(v, "f") if isinstance(v, Decimal) else v for v in (row[c] for c in cols)))
        results[pid] = evaluate(pf, as_of, settings)
    return patients, {t: (columns[t], rows) for t, rows in facts.items()}, results


def _write_chunk(engine: Any, planned: tuple, now: datetime) -> None:
    from db.engine import write_session
    from db.models import PatientRow
    from db.plans import store_plans

    patients, facts, results = planned
    for p in patients:
        p.update(created_at=now, updated_at=now)
    with write_session(engine) as session:
        session.execute(PatientRow.__table__.insert(), patients)
        cursor = session.connection().connection.dbapi_connection.cursor()
        for table, (cols, rows) in facts.items():
            marks = ", ".join("?" for _ in cols)
            cursor.executemany(f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({marks})', rows)
        store_plans(session, results, now=now)


def build(path: Path, *, n: int, seed: int, as_of: date, workers: int | None = None, echo=print) -> None:
    """Generate, plan and write n patients as of `as_of` into a new SQLite file at `path`."""
    from db.engine import make_engine
    from db.migrate import upgrade

    tmp = path.with_suffix(".building")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{tmp}")
    upgrade(engine)
    now = datetime.combine(as_of, datetime.min.time(), tzinfo=UTC)
    ranges = [(s, min(s + CHUNK, n), seed, as_of) for s in range(0, n, CHUNK)]
    started = time.perf_counter()
    workers = workers or max(1, (os.cpu_count() or 2))
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for (_start, stop, *_), planned in zip(ranges, pool.imap(_plan_range, ranges), strict=True):
            _write_chunk(engine, planned, now)
            done = stop
            if done % (10 * CHUNK) == 0 or done == n:
                echo(f"  {done:>7,} / {n:,} patients written ({time.perf_counter() - started:.0f} s)")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    tmp.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
