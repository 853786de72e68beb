"""The demo job: initialise, load the synthetic cohort in batches, run the daily job, write reports."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

BATCH = 1000


def load_cohort(state: Any, *, n: int, seed: int, as_of: date, progress: Any = None) -> dict[str, int]:
    """Write the generated cohort through the import path (validated, deduplicated, audited)."""
    from monitor.app.bulk_write import write_patients
    from monitor.demo.cohort import generate_cohort

    ctx = state.context()
    totals = {"patients": 0, "added": 0, "skipped": 0}
    batch = []

    def flush() -> None:
        with state.write() as session:
            result = write_patients(session, ctx, batch, plan_as_of=as_of)
        if result.problems:
            mrn, message = result.problems[0]
            raise RuntimeError(f"demo patient {mrn} did not validate: {message}")
        totals["patients"] += len(batch)
        totals["added"] += sum(1 for o in result.outcome.values() if o == "added")
        totals["skipped"] += sum(1 for o in result.outcome.values() if o == "skipped")
        if progress is not None:
            progress(len(batch))
        batch.clear()

    for facts in generate_cohort(n, seed=seed, as_of=as_of):
        batch.append(facts)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return totals


def tier_summary(state: Any) -> Counter:
    import sqlalchemy as sa

    from db.models import PlanStateRow

    table = PlanStateRow.__table__
    with state.read() as session:
        rows = session.execute(sa.select(table.c.tier, sa.func.count()).group_by(table.c.tier))
        return Counter({tier: count for tier, count in rows})


def run_demo(state: Any, *, n: int, seed: int, as_of: date | None, out_dir: Path) -> list[str]:
    from rich.progress import Progress

    from db.migrate import upgrade
    from monitor.core.errors import DataError

    ctx = state.context()
    day = as_of or ctx.today
    if day > ctx.today:
        raise DataError("as-of", day, f"a date on or before today ({ctx.today})")
    upgrade(state.engine)
    lines = [f"Database {state.safe_url}: building a {n}-patient synthetic cohort as of {day} (seed {seed})."]
    with Progress(transient=True) as bar:
        task = bar.add_task("patients", total=n)
        totals = load_cohort(state, n=n, seed=seed, as_of=day, progress=lambda k: bar.advance(task, k))
    lines.append(f"Loaded {totals['patients']} patients: {totals['added']} facts written, "
                 f"{totals['skipped']} already there.")
    tiers = tier_summary(state)
    total = sum(tiers.values()) or 1
    lines.append("Tiers: " + ", ".join(f"{t} {tiers.get(t, 0)} ({100 * tiers.get(t, 0) / total:.0f} %)"
                                       for t in ("high", "moderate", "low", "unknown")))
    lines += _after_load(state, day, out_dir)
    return lines


def _after_load(state: Any, day: date, out_dir: Path) -> list[str]:
    """The daily job of the demo date, its worklist (HTML and CSV) and the reports."""
    from db.reminders import ALL_CLINICS, WORKLIST_COLUMNS, worklist_rows
    from monitor.app.daily import escalation, run_daily
    from reports import worklist
    from reports.worklist import SEVERITIES

    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = state.context()
    result = run_daily(state.engine, ctx, clinic=ALL_CLINICS, day=day, trigger="demo", runner="bonemon demo")
    with state.read() as session:
        rows = worklist_rows(session, day=day, escalation=escalation(ctx.settings), clinic=ALL_CLINICS,
                             run_id=result.run_id)
    frame = worklist.build_frame(rows, as_of=day, columns=WORKLIST_COLUMNS)
    severities = frame["severity"].value_counts().to_dict() if len(frame) else {}
    lines = [f"Daily run #{result.run_id} for {day}: {result.created} new reminder(s); worklist of "
             f"{len(frame)} open item(s): " + ", ".join(f"{s} {severities.get(s, 0)}"
                                                         for s in SEVERITIES)]
    html = out_dir / f"worklist-{day}.html"
    html.write_text(worklist.render_html(frame, as_of=day, run_id=result.run_id, created=result.created,
                                         clinic="all clinics", generated=f"{ctx.now:%Y-%m-%d %H:%M} UTC"),
                    encoding="utf-8")
    csv = out_dir / f"worklist-{day}.csv"
    csv.write_text(worklist.render_csv(frame), encoding="utf-8", newline="")
    paths = [html, csv]
    from monitor.demo.reports import write_demo_reports

    paths += write_demo_reports(state, as_of=day, out_dir=out_dir)
    lines.append("Wrote:")
    lines += [f"  {p}" for p in paths]
    return lines
