"""The reports `bonemon demo` writes: three patient reports with their trend plots, and the adherence audit.

`write_demo_reports(state, as_of=..., out_dir=...)` returns the paths it wrote. The three patients are
DEMO-000008 (the patient named `<script>alert(1)</script>`, to show that every value is escaped) and
the two with the richest histories among the first patients (most DXA exams, a bone-modifying agent,
a fracture). File names carry MRNs and dates, never names.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

SCRIPT_MRN = "DEMO-000008"
CANDIDATES = 1000  # patients looked at to choose the two examples


def _richness(facts: Any) -> tuple:
    exams = len({r.date for r in facts.dxa})
    bma = any(c.drug.is_bma for c in facts.courses)
    return (bma, min(exams, 6), len(facts.fractures) > 0, len(facts.markers) > 0, exams)


def choose_patients(state: Any, *, n: int = 3) -> list[str]:
    """MRNs for the demo's patient reports: DEMO-000008 first when present, then the richest histories."""
    from db.queries import load_facts, patient_ids

    with state.read() as session:
        ids = patient_ids(session)[:CANDIDATES]
        facts = load_facts(session, ids)
    in_scope = [f for f in facts.values() if f.patient.deceased_date is None]
    chosen = [f.patient.mrn for f in in_scope if f.patient.mrn == SCRIPT_MRN]
    ranked = sorted((f for f in in_scope if f.patient.mrn not in chosen), key=lambda f: (_richness(f), f.patient.mrn),
                    reverse=True)
    chosen += [f.patient.mrn for f in ranked[: max(0, n - len(chosen))]]
    return chosen


def write_demo_reports(state: Any, *, as_of: date, out_dir: Path) -> list[Path]:
    """Patient reports and trend plots of three patients, and the adherence audit (HTML and CSV) of the
    twelve months up to `as_of`, written into `out_dir` (created if needed)."""
    from monitor.app.report_files import adherence_frames, patient_report, render_adherence, trend_report

    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for mrn in choose_patients(state):
        paths.append(patient_report(state, mrn, as_of=as_of, directory=out_dir).path)
        paths.append(trend_report(state, mrn, as_of=as_of, directory=out_dir).path)
    frames = adherence_frames(state, end=as_of)
    stem = f"adherence-{frames.meta.start.isoformat()}-{frames.meta.end.isoformat()}"
    for fmt in ("html", "csv"):
        target = out_dir / f"{stem}.{fmt}"
        with target.open("w", encoding="utf-8", newline="") as fh:
            fh.write(render_adherence(frames, fmt))
        paths.append(target)
    return paths
