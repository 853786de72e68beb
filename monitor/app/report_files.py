"""The reports' edge: open a read session (monitor.cli.state.CliState), load facts in batches
(db.queries.load_facts, one query per table per batch), run the pure core (risk, plan, views,
monitor.core.history) and hand plain values to reports/, which writes the files.

Nothing here writes to the database. The clock is read once (`state.now()`); the report's
`generated_at` is that instant and its default as-of is the clinic's today. Output file names carry
the MRN (made safe for a file system) and the as-of date, never a patient's name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from monitor.core.dates import add_days, add_months
from monitor.core.errors import DataError

FORMATS = ("csv", "html", "json")
PLOT_SUFFIXES = (".png", ".svg")


@dataclass(frozen=True)
class Written:
    path: Path
    what: str  # one line for the terminal (no patient name)


def _check_out(out: str | Path | None) -> Path | None:
    if out is None:
        return None
    path = Path(out)
    if not path.parent.is_dir():
        raise DataError("out", out, "a file in an existing folder")
    if path.is_dir():
        raise DataError("out", out, "a file name, not a folder")
    return path


def _load_patient(state: Any, mrn: str, clinic: str | None, as_of: date) -> tuple[Any, dict[str, Any]]:
    """Her facts and her patient document (tasks with staff's snoozes and manual done) as of `as_of`."""
    from db.plans import stored_tasks
    from db.queries import find_patient, load_facts
    from monitor.app.context import evaluate
    from monitor.app.documents import patient_document

    with state.read() as session:
        row = find_patient(session, mrn, clinic)
        facts = load_facts(session, [row.id])[row.id]
        stored = stored_tasks(session, [row.id]).get(row.id, {})
    assessment, plan = evaluate(facts, as_of, state.settings)
    return facts, patient_document(facts, assessment, plan, as_of, stored)


def patient_report(state: Any, mrn: str, *, clinic: str | None = None, as_of: date | None = None,
                   out: str | Path | None = None, directory: Path | None = None) -> Written:
    """`bonemon report patient`: the physician's HTML page. Default file: patient-<MRN>-<as-of>.html."""
    from reports.patient import render_patient_html, safe_file_part

    target = _check_out(out)
    ctx = state.context()
    day = as_of or ctx.today
    facts, doc = _load_patient(state, mrn, clinic, day)
    html = render_patient_html(doc, facts, as_of=day, policy=state.settings.policy, generated_at=ctx.now,
                               clinic_filter=clinic)
    if target is None:
        target = (directory or Path.cwd()) / f"patient-{safe_file_part(doc['mrn'])}-{day.isoformat()}.html"
    target.write_text(html, encoding="utf-8")
    return Written(target, f"Patient report for {doc['mrn']} as of {day}: {target}")


def trend_report(state: Any, mrn: str, *, clinic: str | None = None, as_of: date | None = None,
                 out: str | Path | None = None, directory: Path | None = None) -> Written:
    """`bonemon report trend`: the BMD and T-score plot as PNG or SVG (by the file's suffix)."""
    from reports.figures import save
    from reports.patient import safe_file_part
    from reports.trend_plot import trend_data, trend_figure

    target = _check_out(out)
    if target is not None and target.suffix.lower() not in PLOT_SUFFIXES:
        raise DataError("out", out, "a file name ending in .png or .svg")
    ctx = state.context()
    day = as_of or ctx.today
    facts, doc = _load_patient(state, mrn, clinic, day)
    caption = f"MRN {doc['mrn']} · as of {day} · generated {ctx.now.strftime('%Y-%m-%d %H:%M UTC')} by bonemon"
    data = trend_data(facts, as_of=day, policy=state.settings.policy, caption=caption)
    if target is None:
        target = (directory or Path.cwd()) / f"trend-{safe_file_part(doc['mrn'])}-{day.isoformat()}.png"
    save(trend_figure(data), target)
    return Written(target, f"BMD trend for {doc['mrn']} as of {day}: {target}")


# --------------------------------------------------------------------------- adherence


def period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """Default: the twelve months up to and including `today`; never a period ending after today."""
    last = end or today
    if last > today:
        raise DataError("to", last, f"a date on or before today ({today}); the future has no adherence yet")
    first = start or add_days(add_months(last, -12), 1)
    if first > last:
        raise DataError("from", first, f"a date on or before --to ({last})")
    return first, last


def patient_adherence_records(state: Any, *, start: date, end: date, clinic: str | None) -> Iterator[Any]:
    """monitor.core.history.patient_adherence of every patient (of the clinic), loaded batch by batch."""
    from db.plans import stored_tasks
    from db.queries import batched, load_facts, patient_ids
    from monitor.core.history import patient_adherence

    policy = state.settings.policy
    with state.read() as session:
        ids = patient_ids(session, clinic=clinic)
        for chunk in batched(ids, state.settings.scheduler.batch_size):
            facts = load_facts(session, chunk)
            stored = stored_tasks(session, chunk)
            for pid in chunk:
                manual = {k: t.manual_done_on for k, t in stored.get(pid, {}).items() if t.manual_done_on}
                yield patient_adherence(facts[pid], start=start, end=end, policy=policy, manual_done=manual)


def adherence_frames(state: Any, *, start: date | None = None, end: date | None = None,
                     clinic: str | None = None, now: datetime | None = None) -> Any:
    from reports.adherence import AdherenceMeta, build

    ctx = state.context()
    first, last = period(start, end, ctx.today)
    scope = clinic.strip() if clinic and clinic.strip() else None
    records = list(patient_adherence_records(state, start=first, end=last, clinic=scope))
    return build(records, AdherenceMeta(first, last, scope, now or ctx.now))


def infer_format(fmt: str | None, out: str | Path | None) -> str:
    """--format, else the --out file's suffix, else csv."""
    if fmt:
        return fmt
    suffix = Path(out).suffix.lower().lstrip(".") if out else ""
    return {"htm": "html"}.get(suffix, suffix) if suffix in (*FORMATS, "htm") else "csv"


def render_adherence(frames: Any, fmt: str) -> str:
    from reports import adherence

    if fmt == "csv":
        return adherence.render_csv(frames)
    if fmt == "json":
        return adherence.render_json(frames)
    if fmt == "html":
        return adherence.render_html(frames)
    raise DataError("format", fmt, "one of: " + ", ".join(FORMATS))


def adherence_report(state: Any, *, start: date | None = None, end: date | None = None, clinic: str | None = None,
                     fmt: str | None = None, out: str | Path | None = None) -> tuple[str, Written | None]:
    """`bonemon report adherence`: (the text, or the file written and a line about it)."""
    target = _check_out(out)
    kind = infer_format(fmt, out)
    if kind not in FORMATS:
        raise DataError("format", kind, "one of: " + ", ".join(FORMATS))
    frames = adherence_frames(state, start=start, end=end, clinic=clinic)
    text = render_adherence(frames, kind)
    if target is None:
        return text, None
    with target.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    meta = frames.meta
    line = (f"Adherence audit {meta.start} to {meta.end} ({meta.where}, {len(frames.patients)} patient(s)) "
            f"as {kind}: {target}")
    return text, Written(target, line)
