"""Benchmark: the daily run on a 100,000-patient demo cohort where nothing changed since the day before.

    python bench/daily_bench.py [--patients 100000] [--date 2025-06-02] [--repeat 3] [--rebuild]

Set-up (cached, see bench/cohort.py): the cohort is generated and planned as of the day before
(D−1) and the daily run of D−1 has been done, so its reminders exist. Each repetition copies that
file and, in a fresh process with the imports done and the database opened, times:

- the daily run of D (monitor.app.daily.run_daily: claim, replan the plans that expire on D, reminders,
  counts, ledger), with the time of each step;
- the floor: one raw `sqlite3` query returning the same due and overdue tasks of D from the same file;
- the peak memory (max RSS) of that process.

Then it times whole `bonemon remind` processes (the run and the worklist as JSON) beside the floor
of a bare process that only imports the modules `bonemon remind` imports. Targets (issue): run /
raw query ≤ 3, peak memory ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RAW_QUERY = """
SELECT t.id, p.mrn, t.kind, t.rule, t.earliest, t.target, t.latest
FROM task t JOIN patient p ON p.id = t.patient_id
WHERE t.active = 1 AND t.earliest <= :d
  AND (t.done_on IS NULL OR t.done_on > :d)
  AND (t.manual_done_on IS NULL OR t.manual_done_on > :d)
  AND (t.snoozed_until IS NULL OR t.snoozed_until < :d)
"""
TARGET_RATIO = 3.0
TARGET_MB = 300


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BONEMON_")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


# --------------------------------------------------------------------------- the base file


def base_file(n: int, seed: int, day: date, rebuild: bool) -> Path:
    """The cohort planned as of day−1 with the daily run of day−1 done (cached)."""
    from bench.cohort import build, cache_path

    before = day - timedelta(days=1)
    path = cache_path(n, seed, before)
    if path.exists() and not rebuild:
        print(f"cohort: {path} (cached; --rebuild to rebuild)")
        return path
    print(f"cohort: building {n:,} patients as of {before} into {path} (a few minutes, once)")
    started = time.perf_counter()
    build(path, n=n, seed=seed, as_of=before)
    print(f"cohort: loaded in {time.perf_counter() - started:.0f} s; running the daily run of {before}")
    from db.engine import make_engine
    from monitor.app.context import Context
    from monitor.app.daily import run_daily
    from monitor.settings import load_settings

    engine = make_engine(f"sqlite:///{path}")
    ctx = Context(settings=load_settings(), user="bench", now=datetime.combine(before, datetime.min.time(), UTC))
    result = run_daily(engine, ctx, clinic=None, day=before, trigger="remind")
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    print(f"cohort: day-before run created {result.created:,} reminders ({result.due:,} due, "
          f"{result.overdue:,} overdue, {result.alerts:,} alerts)")
    return path


def fresh_copy(base: Path, work: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(base, work)
    return work


# --------------------------------------------------------------------------- one measured process


def child(path: str, day: str) -> None:
    """Runs in a fresh process: imports and engine first, then the timed run and the timed raw query."""
    import resource
    import sqlite3

    import monitor.app.daily as daily
    from db.engine import make_engine
    from monitor.app.context import Context
    from monitor.settings import load_settings

    d = date.fromisoformat(day)
    steps: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                steps[name] = steps.get(name, 0.0) + time.perf_counter() - t
        return wrapper

    daily.replan_expired = timed("replan expired plans", daily.replan_expired)
    daily.derive_statuses = timed("statuses (INSERT … SELECT)", daily.derive_statuses)
    daily.insert_reminders = timed("reminders (INSERT … SELECT)", daily.insert_reminders)
    daily.status_counts = timed("status counts", daily.status_counts)
    settings = load_settings()
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:  # open the database
        conn.exec_driver_sql("SELECT count(*) FROM patient").scalar()
    raw = sqlite3.connect(path)
    # warm the page cache the same way for both, without holding the rows
    raw.execute(f"SELECT count(*) FROM ({RAW_QUERY})", {"d": day}).fetchone()
    rss_ready = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    now = datetime.combine(d, datetime.min.time(), UTC) + timedelta(hours=6)
    ctx = Context(settings=settings, user="bench", now=now)
    t = time.perf_counter()
    result = daily.run_daily(engine, ctx, clinic=None, day=d, trigger="remind")
    run_s = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the run's peak, before the raw rows

    raw_times = []
    for _ in range(3):
        t = time.perf_counter()
        rows = raw.execute(RAW_QUERY, {"d": day}).fetchall()
        raw_times.append(time.perf_counter() - t)
        raw_rows = len(rows)
        del rows
    print(json.dumps({
        "run_s": run_s, "raw_s": min(raw_times), "raw_rows": raw_rows, "steps": steps, "peak_mb": peak,
        "ready_mb": rss_ready, "replanned": result.replanned, "created": result.created, "due": result.due,
        "overdue": result.overdue, "alerts": result.alerts, "outcome": result.outcome,
    }))


def measure(path: Path, day: date) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(path), day.isoformat()], capture_output=True,
                         text=True, env=_env(), check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- process start-up


MODULES_OF = """
import sys
from monitor.cli.main import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    print("MODULES=" + ",".join(sorted(sys.modules)), file=sys.stderr)
"""

IMPORT_ONLY = """
import importlib, sys
for name in sys.argv[1].split(","):
    try:
        importlib.import_module(name)
    except Exception:
        pass
"""


def process_times(base: Path, work: Path, day: date, repeat: int) -> dict:
    script = Path(sys.executable).with_name("bonemon")
    bonemon = [str(script)] if script.exists() else [sys.executable, "-m", "monitor.cli.main"]
    args = ["--db", f"sqlite:///{work}", "--user", "bench", "remind", "--as-of", day.isoformat(), "--format", "json",
            "--out", os.devnull]
    fresh_copy(base, work)
    probe = subprocess.run([sys.executable, "-c", MODULES_OF, *args], capture_output=True, text=True, env=_env(),
                           cwd=ROOT, check=True)
    modules = next(line[8:] for line in probe.stderr.splitlines() if line.startswith("MODULES="))
    full, again, bare, empty = [], [], [], []
    for _ in range(repeat):
        fresh_copy(base, work)
        t = time.perf_counter()
        subprocess.run(bonemon + args, env=_env(), cwd=ROOT, check=True, capture_output=True)
        full.append(time.perf_counter() - t)
        t = time.perf_counter()  # the same date again: the run is already done, only the worklist
        subprocess.run(bonemon + args, env=_env(), cwd=ROOT, check=True, capture_output=True)
        again.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", IMPORT_ONLY, modules], env=_env(), cwd=ROOT, check=True)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=_env(), cwd=ROOT, check=True)
        empty.append(time.perf_counter() - t)
    return {"remind_s": statistics.median(full), "remind_again_s": statistics.median(again),
            "imports_s": statistics.median(bare), "python_s": statistics.median(empty),
            "modules": len(modules.split(","))}


# --------------------------------------------------------------------------- main


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2025, 6, 2))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--no-process", action="store_true", help="skip the whole-process timings")
    opts = parser.parse_args()

    base = base_file(opts.patients, opts.seed, opts.date, opts.rebuild)
    work = base.with_name(f"bonemon-bench-work-{os.getpid()}.db")
    try:
        runs = []
        for i in range(opts.repeat):
            runs.append(measure(fresh_copy(base, work), opts.date))
            r = runs[-1]
            print(f"  repetition {i + 1}: run {r['run_s']:.3f} s, raw query {r['raw_s']:.3f} s, "
                  f"peak {r['peak_mb']:.0f} MB")
        run_s = statistics.median(r["run_s"] for r in runs)
        raw_s = statistics.median(r["raw_s"] for r in runs)
        last = runs[-1]
        ratio = run_s / raw_s
        peak = max(r["peak_mb"] for r in runs)
        print()
        before = opts.date - timedelta(days=1)
        print(f"daily run of {opts.date} on {opts.patients:,} patients (nothing changed since {before})")
        print(f"  {last['replanned']:,} plans expired that day and were replanned; {last['created']:,} new "
              f"reminders; open: {last['due']:,} due, {last['overdue']:,} overdue, {last['alerts']:,} alerts")
        for name, seconds in last["steps"].items():
            print(f"    {name:<30} {seconds:7.3f} s")
        print(f"  daily run (median of {opts.repeat})       {run_s:7.3f} s")
        print(f"  raw sqlite3 query ({last['raw_rows']:,} rows) {raw_s:7.3f} s")
        verdict = "OK" if ratio <= TARGET_RATIO else "ABOVE TARGET"
        print(f"  ratio run / raw query          {ratio:7.2f}   (target ≤ {TARGET_RATIO:g}: {verdict})")
        replan_s = last["steps"].get("replan expired plans", 0.0)
        print(f"  ratio without the day's replans {(last['run_s'] - replan_s) / last['raw_s']:6.2f}")
        verdict = "OK" if peak <= TARGET_MB else "ABOVE TARGET"
        print(f"  peak memory (max RSS)          {peak:7.0f} MB (target ≤ {TARGET_MB} MB: {verdict}; "
              f"{last['ready_mb']:.0f} MB after imports and opening)")
        if not opts.no_process:
            p = process_times(base, work, opts.date, opts.repeat)
            print()
            print(f"whole processes (median of {opts.repeat})")
            print(f"  bonemon remind --format json (run + worklist)  {p['remind_s']:7.3f} s")
            print(f"  bonemon remind again (date done: worklist)     {p['remind_again_s']:7.3f} s")
            print(f"  bare process importing its {p['modules']} modules      {p['imports_s']:7.3f} s")
            print(f"  python -c pass                                 {p['python_s']:7.3f} s")
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
