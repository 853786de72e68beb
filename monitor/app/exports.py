"""The export edge: which patients, read in batches, planned as of a date, written as FHIR or iCalendar.

Reads only (one read transaction); the pure builders are monitor.export.fhir (a package) and monitor.export.ics.
Where the output goes is checked before the database is read, and every file is written to a
temporary name in its folder and renamed, so a failed export leaves no half-written file.

FHIR destinations (`--out`):
- none: standard output; one pretty-printed Bundle when one MRN was asked for, else NDJSON (one
  Bundle per line);
- `FILE.json`: one Bundle (exactly one patient);
- `FILE.ndjson` / `FILE.jsonl`: one Bundle per line, any number of patients;
- an existing folder: one `MRN.json` per patient (characters other than letters, digits, `.`, `-`
  and `_` become `_`; a clash of names gets the clinic in front).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from monitor.core.errors import DataError, MonitorError

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class FhirTarget:
    kind: str  # "stdout", "json", "ndjson", "folder"
    path: Path | None = None


def fhir_target(out: str | None) -> FhirTarget:
    """Where `export fhir --out` writes; a missing folder is an error before anything is read."""
    if out is None or out == "-":
        return FhirTarget("stdout")
    path = Path(out)
    if path.is_dir():
        return FhirTarget("folder", path)
    suffix = path.suffix.lower()
    if suffix in (".json", *NDJSON_SUFFIXES):
        if not path.parent.is_dir():
            raise DataError("out", out, f"a file in an existing folder (there is no folder {path.parent})")
        return FhirTarget("json" if suffix == ".json" else "ndjson", path)
    if out.endswith(("/", os.sep)) or not suffix:
        raise DataError("out", out, "an existing folder (create it first), a .json file or a .ndjson file")
    raise DataError("out", out,
                    "a .json file (one patient), a .ndjson file (one Bundle per line) or an existing folder")


def file_target(out: str | None, suffixes: tuple[str, ...]) -> Path | None:
    """A single output file (or None for standard output); its folder must exist."""
    if out is None or out == "-":
        return None
    path = Path(out)
    if path.is_dir():
        raise DataError("out", out, f"a file name, not a folder (e.g. {path / ('tasks' + suffixes[0])})")
    if not path.parent.is_dir():
        raise DataError("out", out, f"a file in an existing folder (there is no folder {path.parent})")
    return path


@contextmanager
def atomic_file(path: Path, mode: str = "w") -> Iterator[Any]:
    """A temporary file beside `path`, renamed over it when the block ends without an error."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        fh = os.fdopen(fd, mode) if "b" in mode else os.fdopen(fd, mode, encoding="utf-8", newline="\n")
        with fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------- selecting and planning patients


def _patient_ids(session, mrns: Sequence[str], clinic: str | None) -> list[int]:
    """Ids of the asked-for MRNs (each must exist; all are checked first), or of every patient."""
    import sqlalchemy as sa

    from db.models import PatientRow
    from db.queries import find_patient

    patient = PatientRow.__table__
    if mrns:
        ids = [find_patient(session, mrn.strip(), clinic).id for mrn in dict.fromkeys(mrns)]
        return list(dict.fromkeys(ids))
    query = sa.select(patient.c.id).order_by(patient.c.clinic, patient.c.mrn)
    if clinic:
        known = sorted(session.execute(sa.select(patient.c.clinic).distinct()).scalars())
        if clinic not in known:
            raise DataError("clinic", clinic, "one of: " + (", ".join(known) or "(no patients yet)"))
        query = query.where(patient.c.clinic == clinic)
    return list(session.execute(query).scalars())


def _planned(session, ctx, ids: Sequence[int], as_of: date) -> Iterator[tuple[Any, Any, Any, dict]]:
    """(facts, assessment, plan, stored tasks) per patient, loaded one batch at a time."""
    from db.plans import stored_tasks
    from db.queries import batched, load_facts
    from monitor.app.context import evaluate

    for chunk in batched(list(ids), ctx.settings.scheduler.batch_size):
        facts = load_facts(session, chunk)
        stored = stored_tasks(session, chunk)
        for pid in chunk:
            assessment, plan = evaluate(facts[pid], as_of, ctx.settings)
            yield facts[pid], assessment, plan, stored.get(pid, {})


# --------------------------------------------------------------------------- FHIR


@dataclass
class FhirExport:
    patients: int
    target: FhirTarget
    files: list[str]


def export_fhir(state, mrns: Sequence[str], *, clinic: str | None, out: str | None, as_of: date | None,
                emit: Callable[[str], None]) -> FhirExport:
    """Write one FHIR R4 Bundle per patient; `emit` receives standard-output text."""
    from monitor.export.fhir.bundle import patient_bundle
    from monitor.export.fhir.writer import ExportOptions

    target = fhir_target(out)
    ctx = state.context()
    day = as_of or ctx.today
    options = ExportOptions(mrn_system=ctx.settings.fhir.mrn_system, frax_system=ctx.settings.fhir.frax_system)
    files: list[str] = []
    with state.read() as session:
        ids = _patient_ids(session, mrns, clinic.strip() if clinic else None)
        if target.kind == "json" and len(ids) != 1:
            raise MonitorError(f"out: {out} holds one Bundle but {len(ids)} patients were selected; "
                               "give one MRN, or --out a .ndjson file or an existing folder")
        bundles = ((f.patient, patient_bundle(f, a, p, as_of=day, stored=s, options=options))
                   for f, a, p, s in _planned(session, ctx, ids, day))
        if target.kind == "stdout":
            pretty = len(mrns) == 1
            for _patient, bundle in bundles:
                emit(_dumps(bundle, pretty=pretty))
        elif target.kind == "json":
            assert target.path is not None
            with atomic_file(target.path) as fh:
                for _patient, bundle in bundles:
                    fh.write(_dumps(bundle, pretty=True))
            files.append(str(target.path))
        elif target.kind == "ndjson":
            assert target.path is not None
            with atomic_file(target.path) as fh:
                for _patient, bundle in bundles:
                    fh.write(_dumps(bundle, pretty=False))
            files.append(str(target.path))
        else:
            assert target.path is not None
            used: set[str] = set()
            for patient, bundle in bundles:
                path = target.path / _file_name(patient.clinic, patient.mrn, used)
                with atomic_file(path) as fh:
                    fh.write(_dumps(bundle, pretty=True))
                files.append(str(path))
    return FhirExport(patients=len(ids), target=target, files=files)


def _dumps(bundle: dict[str, Any], *, pretty: bool) -> str:
    if pretty:
        return json.dumps(bundle, ensure_ascii=False, indent=2) + "\n"
    return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")) + "\n"


def _file_name(clinic: str, mrn: str, used: set[str]) -> str:
    safe = _UNSAFE.sub("_", mrn) or "patient"
    name = f"{safe}.json"
    if name.lower() in used or safe.startswith("."):
        name = f"{_UNSAFE.sub('_', clinic)}_{safe}.json"
        n = 2
        while name.lower() in used:
            name = f"{_UNSAFE.sub('_', clinic)}_{safe}_{n}.json"
            n += 1
    used.add(name.lower())
    return name


# --------------------------------------------------------------------------- iCalendar


@dataclass
class IcsExport:
    tasks: int
    patients: int
    path: Path | None
    data: bytes


def export_ics(state, *, clinic: str | None, out: str | None, as_of: date | None, with_names: bool) -> IcsExport:
    """The open tasks of every patient (of one clinic) as an iCalendar file, or its bytes for stdout."""
    from db.queries import batched
    from monitor.export.ics import OPEN_STATUSES, IcsTask, calendar

    path = file_target(out, (".ics",))
    ctx = state.context()
    day = as_of or ctx.today
    clinic = clinic.strip() if clinic and clinic.strip() else None
    tasks: list[IcsTask] = []
    with state.read() as session:
        ids = _patient_ids(session, (), clinic)
        for chunk in batched(ids, ctx.settings.scheduler.batch_size):
            tasks += _open_tasks(session, ctx, chunk, day)
    title = "bonemon tasks" + (f", clinic {clinic}" if clinic else "")
    data = calendar(tasks, now=ctx.now, as_of=day, with_names=with_names, title=title)
    count = sum(1 for t in tasks if t.status in OPEN_STATUSES)
    if path is not None:
        with atomic_file(path, "wb") as fh:
            fh.write(data)
    return IcsExport(tasks=count, patients=len(ids), path=path, data=data)


def _open_tasks(session, ctx, ids: Sequence[int], day: date) -> list[Any]:
    """The tasks of one batch of patients as IcsTask values (status as of `day`, staff actions applied)."""
    from monitor.app.documents import task_document
    from monitor.export.ics import OPEN_STATUSES, IcsTask

    revised = _task_revisions(session, ids)
    out = []
    for facts, _assessment, plan, stored in _planned(session, ctx, ids, day):
        p = facts.patient
        for task in plan.tasks:
            st = stored.get((task.rule, task.anchor))
            doc = task_document(task, day, st)
            if doc["status"] not in OPEN_STATUSES:
                continue
            out.append(IcsTask(
                clinic=p.clinic, mrn=p.mrn, kind=doc["kind"], rule=task.rule, anchor=task.anchor,
                earliest=task.earliest, target=task.target, latest=task.latest, status=doc["status"],
                task_id=doc["id"], name=p.name, acknowledged=bool(st is not None and st.acked_at),
                snoozed_until=date.fromisoformat(doc["snoozed_until"]) if doc["snoozed_until"] else None,
                revised=revised.get((p.id, task.rule, task.anchor)),
            ))
    return out


def _task_revisions(session, ids: Sequence[int]) -> dict[tuple[int, str, date], Any]:
    """When each stored task of a batch last changed (its iCalendar SEQUENCE): one query."""
    import sqlalchemy as sa

    from db.models import TaskRow

    task = TaskRow.__table__
    query = sa.select(task.c.patient_id, task.c.rule, task.c.anchor, task.c.updated_at).where(
        task.c.patient_id.in_(list(ids)))
    return {(r.patient_id, r.rule, r.anchor): r.updated_at for r in session.execute(query)}
