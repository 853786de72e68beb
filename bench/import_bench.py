"""FHIR bulk (NDJSON) import of a synthetic cohort: resources per second and peak memory.

    python bench/import_bench.py --patients 10000

It writes the demo cohort (monitor.demo.cohort) as a Bulk Data export — one NDJSON file per resource type,
built with bonemon's own FHIR export — then, in a fresh child process, runs `bonemon import` of those
files into an empty SQLite database (read, map, validate, deduplicate, write, audit, replan) and a
second time into the same database (everything already stored). It prints resources/s for both runs
and the child's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Resources that carry facts; the plan resources (CarePlan, Task, ServiceRequest, Flag) are bonemon's
# output, not clinical input, and a bulk export from an EHR would not have them.
TYPES = ("Patient", "Observation", "Condition", "MedicationStatement", "MedicationAdministration",
         "MedicationDispense")


def write_ndjson(folder: Path, n: int, seed: int, day: date) -> int:
    from monitor.core.plan import plan
    from monitor.core.risk import assess
    from monitor.demo.cohort import generate_cohort
    from monitor.export.fhir.bundle import patient_bundle
    from monitor.settings import default_policy

    policy = default_policy()
    files = {t: (folder / f"{t}.000.ndjson").open("w", encoding="utf-8") for t in TYPES}
    count = 0
    try:
        for facts in generate_cohort(n, seed=seed, as_of=day):
            a = assess(facts, as_of=day, policy=policy)
            bundle = patient_bundle(facts, a, plan(facts, a, as_of=day, policy=policy), as_of=day)
            # A bulk export references resources as Type/id, not by the Bundle's urn:uuid fullUrls.
            local = {e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
            for entry in bundle["entry"]:
                res = entry["resource"]
                if res["resourceType"] in files:
                    text = json.dumps(res, separators=(",", ":"), default=str)
                    for url, ref in local.items():
                        text = text.replace(f'"reference":"{url}"', f'"reference":"{ref}"')
                    files[res["resourceType"]].write(text + "\n")
                    count += 1
    finally:
        for fh in files.values():
            fh.close()
    return count


def child(db: str, folder: str) -> None:
    from monitor.cli.state import CliState
    from monitor.intake.pipeline import run_import

    state = CliState(db_url=f"sqlite:///{db}")
    paths = sorted(Path(folder).glob("*.ndjson"))
    out = {}
    for label in ("first", "again"):
        t0 = time.perf_counter()
        result = run_import(state, paths, dry_run=False, skip_invalid=False, clinic=None)
        out[label] = {"seconds": time.perf_counter() - t0, "read": sum(f.read for f in result.files),
                      "added": result.written.get("added", 0), "failed": result.failed}
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def main() -> int:
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2025, 6, 2))
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "export"
        folder.mkdir()
        t0 = time.perf_counter()
        resources = write_ndjson(folder, args.patients, args.seed, args.date)
        size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
        print(f"wrote {resources:,} resources ({size:.0f} MB NDJSON) for {args.patients:,} patients "
              f"in {time.perf_counter() - t0:.0f} s")
        db = Path(tmp) / "import.db"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-m", "monitor.cli.main", "--db", f"sqlite:///{db}", "init"], env=env,
                       check=True, capture_output=True)
        out = subprocess.run([sys.executable, __file__, "--child", str(db), str(folder)], env=env,
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
    for label, what in (("first", "into an empty database"), ("again", "again (all already stored)")):
        run = r[label]
        print(f"import {what}: {run['read']:,} resources in {run['seconds']:.1f} s = "
              f"{run['read'] / run['seconds']:,.0f} resources/s ({run['added']:,} facts added"
              f"{', FAILED' if run['failed'] else ''})")
    print(f"peak memory of the importing process: {r['peak_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
