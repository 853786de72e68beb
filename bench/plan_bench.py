"""Full replan of a demo cohort (`bonemon replan --all`), in-process: patients per second and peak memory.

    python bench/plan_bench.py --patients 10000 100000

For each size it builds (or reuses, see bench/cohort.py) a demo cohort in a SQLite file, copies it,
then times `monitor.app.replan.replan_cohort(..., only_expired=False)` on one core: load facts in
batches (one query per table per batch), assess and plan every patient, store the plans set-wise.
It prints patients/s for the whole replan and for the pure core alone (assess + plan on the same
facts, no database), and the peak resident memory of a fresh child process that does the replan.

Targets: ≥ 5,000 patients/s on one core, ≤ 1 GB at 100,000 patients.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TARGET_RATE = 5000
TARGET_MB = 1024


def _child(path: str, day: str) -> None:
    """Run one full replan in this process and print JSON with the timings and peak RSS."""
    import resource

    from monitor.app.replan import replan_cohort
    from monitor.cli.state import CliState

    state = CliState(db_url=f"sqlite:///{path}")
    ctx = state.context()
    as_of = date.fromisoformat(day)
    with state.write() as session:  # warm-up: imports, engine, first query
        session.execute(__import__("sqlalchemy").text("SELECT count(*) FROM patient")).scalar()
    t0 = time.perf_counter()
    with state.write() as session:
        summary = replan_cohort(session, ctx, as_of=as_of, only_expired=False)
    seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"patients": summary["patients"], "seconds": seconds, "peak_mb": peak_kb / 1024}))


def _pure_rate(path: Path, day: date, sample: int) -> float:
    """assess + plan only, on the first `sample` patients already loaded in memory."""
    from db.queries import load_facts
    from monitor.cli.state import CliState
    from monitor.core.plan import plan
    from monitor.core.risk import assess

    state = CliState(db_url=f"sqlite:///{path}")
    policy = state.settings.policy
    with state.read() as session:
        facts = list(load_facts(session, list(range(1, sample + 1))).values())
    t0 = time.perf_counter()
    for f in facts:
        plan(f, assess(f, as_of=day, policy=policy), as_of=day, policy=policy)
    return len(facts) / (time.perf_counter() - t0)


def run(n: int, seed: int, day: date, rebuild: bool) -> dict:
    import cohort

    base = cohort.cache_path(n, seed, day)
    if rebuild or not base.exists():
        cohort.build(base, n=n, seed=seed, as_of=day)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "replan.db"
        shutil.copy(base, work)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, __file__, "--child", str(work), day.isoformat()], env=env,
                             capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["pure_rate"] = _pure_rate(work, day, min(n, 5000))
    result["rate"] = result["patients"] / result["seconds"]
    return result


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2025, 6, 2))
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for n in args.patients:
        r = run(n, args.seed, args.date, args.rebuild)
        print(f"{n:>7} patients: full replan {r['seconds']:.1f} s = {r['rate']:,.0f} patients/s "
              f"(target ≥ {TARGET_RATE:,}: ratio {r['rate'] / TARGET_RATE:.2f}); pure assess+plan "
              f"{r['pure_rate']:,.0f} patients/s; peak memory {r['peak_mb']:.0f} MB "
              f"(target ≤ {TARGET_MB} MB: ratio {r['peak_mb'] / TARGET_MB:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
