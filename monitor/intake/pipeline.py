"""Import orchestration: read every file (CSV or FHIR), then write all or nothing in one transaction.

The write always runs inside one transaction, so `--dry-run` finds exactly what a real import
would refuse (a stop before a stored start, a patient stored with another birth date) and then
rolls back. Problems found while writing are named by file, line and column like reading problems.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.core.domain import PatientFacts
from monitor.core.errors import NotFound
from monitor.intake.csv_reader import CsvRead, looks_like_csv, read_csv, write_rejects
from monitor.intake.report import ERROR, FileReport, Problem

MAX_PROBLEMS_SHOWN = 20


@dataclass
class ImportResult:
    files: list[FileReport]
    patients: list[str] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)
    rejects_files: list[str] = field(default_factory=list)
    dry_run: bool = False
    failed: bool = False

    @property
    def problems(self) -> list[Problem]:
        """Errors only: warnings (patients merged or kept apart, partial dates) never block an import."""
        return [p for f in self.files for p in f.problems if getattr(p, "severity", ERROR) == ERROR]

    def as_json(self) -> dict[str, Any]:
        return {"files": [f.as_json() for f in self.files], "patients": self.patients, "written": self.written,
                "dry_run": self.dry_run, "rejects_files": self.rejects_files}

    def failure_line(self) -> str:
        n = len(self.problems)
        first = self.problems[0] if self.problems else None
        head = f"{first.where}: {first.message}" if first else "import failed"
        more = f" (and {n - 1} more problem(s) listed above)" if n > 1 else ""
        return f"{head}{more}; nothing was written (use --skip-invalid to import the valid records)"

    def as_text(self) -> str:
        lines = []
        for f in self.files:
            lines.append(f"{f.path}: read {f.read}, imported {f.imported}, ignored {f.ignored}, "
                         f"rejected {f.rejected}" + (" (file refused)" if f.fatal else ""))
            for p in f.problems[:MAX_PROBLEMS_SHOWN]:
                lines.append(f"  {p.where}: {p.message}")
            if len(f.problems) > MAX_PROBLEMS_SHOWN:
                lines.append(f"  … {len(f.problems) - MAX_PROBLEMS_SHOWN} more problem(s); use --json for all")
            if f.ignored_by:
                shown = ", ".join(f"{k} {v}" for k, v in sorted(f.ignored_by.items())[:10])
                lines.append(f"  ignored: {shown}")
            if f.unknown_codes:
                lines.append(f"  unknown codes (not guessed): {', '.join(sorted(set(f.unknown_codes))[:20])}")
        w = self.written
        if self.failed:
            return "\n".join(lines)
        if self.dry_run:
            lines.append(f"Dry run, nothing written: {w.get('added', 0)} new fact(s), {w.get('updated', 0)} "
                         f"changed, {w.get('skipped', 0)} already stored, {w.get('patients_created', 0)} new "
                         f"patient(s) would be imported.")
        elif w:
            lines.append(f"Wrote {w.get('added', 0)} new fact(s), updated {w.get('updated', 0)}, "
                         f"{w.get('skipped', 0)} already stored; {w.get('patients_created', 0)} new patient(s).")
        for r in self.rejects_files:
            lines.append(f"Rejected rows written to {r}")
        return "\n".join(lines)


class _RollBack(Exception):
    """Raised inside the write transaction to undo it (dry run, or problems without --skip-invalid)."""


def _refuse(path: Path, message: str) -> FileReport:
    rep = FileReport(path=str(path), fatal=True)
    rep.problems.append(Problem(str(path), message))
    return rep


def _classify(path: Path, reader: Any) -> str | FileReport:
    if not path.exists():
        return _refuse(path, "no such file")
    if path.is_file() and path.stat().st_size == 0:
        return _refuse(path, "empty file")
    if path.is_file() and looks_like_csv(path):
        return "csv"
    if reader.looks_like_fhir(path):
        return "fhir"
    if path.is_dir():
        return _refuse(path, "a folder with no FHIR files; give the files")
    return _refuse(path, "neither a bonemon CSV (header with mrn,record,…) nor FHIR R4 JSON/NDJSON "
                         "(resources with a resourceType)")


def run_import(state, paths: list[Path], *, dry_run: bool, skip_invalid: bool, clinic: str | None) -> ImportResult:
    from db.queries import find_patient, patient_from_row
    from monitor.app.bulk_write import write_patients
    from monitor.intake.fhir import reader

    settings = state.settings
    ctx = state.context()
    files: list[FileReport] = []
    csv_reads: list[tuple[Path, CsvRead]] = []
    fhir_paths: list[Path] = []
    for path in paths:
        kind = _classify(path, reader)
        if isinstance(kind, FileReport):
            files.append(kind)
        elif kind == "csv":
            csv_reads.append((path, CsvRead(FileReport(str(path)))))
        else:
            fhir_paths.append(path)

    batch: list[PatientFacts] = []
    extras: dict[int, dict] = {}
    with state.read() as session:
        def lookup(mrn: str, clinic_name: str):
            try:
                return patient_from_row(find_patient(session, mrn, clinic_name))
            except NotFound:
                return None

        for i, (path, _) in enumerate(csv_reads):
            read = read_csv(path, settings=settings, today=ctx.today, lookup=lookup, default_clinic=clinic)
            csv_reads[i] = (path, read)
            files.append(read.report)
            batch += read.patients
            extras.update(read.extras)
    if fhir_paths:
        fhir = reader.read_fhir(fhir_paths, fhir=settings.fhir, policy=settings.policy, today=ctx.today,
                                default_clinic=clinic or settings.clinic.default_clinic)
        files.extend(fhir.files)
        batch += fhir.patients
    result = ImportResult(files=files, dry_run=dry_run)
    result.patients = sorted({pf.patient.mrn for pf in batch})
    if result.problems and not skip_invalid:
        result.failed = True
        return result

    written = None
    try:
        with state.write() as session:
            written = write_patients(session, ctx, batch, extras=extras)
            _report_write_problems(written, csv_reads, files)
            if dry_run or (written.problems and not skip_invalid):
                raise _RollBack
    except _RollBack:
        pass
    _count_rows(written, csv_reads)
    counts = {"added": 0, "updated": 0, "skipped": 0, "rejected": 0}
    for outcome in written.outcome.values():
        counts[outcome] += 1
    result.written = {**counts, "patients_created": len(written.patients_created)}
    if written.problems and not skip_invalid:
        result.failed = True
        return result
    if skip_invalid and not dry_run:
        for path, read in csv_reads:
            rejects = write_rejects(path, read)
            if rejects is not None:
                result.rejects_files.append(str(rejects))
    return result


def _report_write_problems(written: Any, csv_reads: list[tuple[Path, CsvRead]], files: list[FileReport]) -> None:
    """Name each problem found while writing by file, line and column, like a reading problem."""
    for problem in written.problems:
        for _, read in csv_reads:
            line = (read.fact_lines.get(problem.fact_id) if problem.fact_id is not None
                    else read.patient_lines.get((problem.clinic, problem.mrn)))
            if line is None:
                continue
            column = read.column(problem.field)
            where = f"{read.report.path}:{line}" + (f" column {column}" if column else "")
            read.report.problems.append(Problem(where, problem.message))
            break
        else:
            target = files[-1] if files else None
            if target is not None:
                target.problems.append(Problem(f"patient {problem.mrn}", problem.message))


def _count_rows(written: Any, csv_reads: list[tuple[Path, CsvRead]]) -> None:
    """Every CSV row read is imported, ignored (already stored) or rejected."""
    for _, read in csv_reads:
        rep = read.report
        rep.imported = rep.ignored = 0
        rep.rejected = len(read.rejected_rows)
        for _line, (kind, key) in read.row_keys:
            outcome = written.outcome.get(key) if kind == "fact" else written.patient_outcome.get(key)
            if outcome in ("added", "updated", "created"):
                rep.imported += 1
            elif outcome in ("skipped", "unchanged"):
                rep.ignored += 1
            else:
                rep.rejected += 1

