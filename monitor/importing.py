"""Import orchestration: read every file (CSV or FHIR), then write all or nothing in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from monitor.csv_import import CsvRead, looks_like_csv, read_csv, write_rejects
from monitor.domain import PatientFacts, iter_facts
from monitor.errors import MonitorError
from monitor.import_report import ERROR, FileReport, Problem

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
        if self.dry_run:
            lines.append(f"Dry run: nothing written ({len(self.patients)} patient(s) would be imported).")
        elif self.written:
            w = self.written
            lines.append(f"Wrote {w.get('added', 0)} new fact(s), updated {w.get('updated', 0)}, "
                         f"{w.get('skipped', 0)} already stored; {w.get('patients_created', 0)} new patient(s).")
        for r in self.rejects_files:
            lines.append(f"Rejected rows written to {r}")
        return "\n".join(lines)


def _fhir_reader():
    try:
        from monitor.fhir import reader
    except ImportError:  # pragma: no cover - the FHIR package ships with bonemon
        return None
    return reader


def run_import(state, paths: list[Path], *, dry_run: bool, skip_invalid: bool, clinic: str | None) -> ImportResult:
    from db.queries import find_patient, patient_from_row
    from monitor.errors import NotFound

    settings = state.settings
    ctx = state.context()
    reader = _fhir_reader()
    files: list[FileReport] = []
    batch: list[PatientFacts] = []
    fact_file: dict[int, FileReport] = {}
    csv_reads: list[tuple[Path, CsvRead]] = []
    fhir_paths: list[Path] = []

    for path in paths:
        if not path.exists() or not path.is_file():
            rep = FileReport(path=str(path), fatal=True)
            rep.problems.append(Problem(str(path), "no such file"))
            files.append(rep)
        elif looks_like_csv(path):
            csv_reads.append((path, None))  # read below, inside a session
        elif reader is not None and reader.looks_like_fhir(path):
            fhir_paths.append(path)
        else:
            rep = FileReport(path=str(path), fatal=True)
            rep.problems.append(Problem(str(path), "neither a bonemon CSV (header with mrn,record,…) nor FHIR R4 "
                                                   "JSON/NDJSON (resources with a resourceType)"))
            files.append(rep)

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
            for pf in read.patients:
                batch.append(pf)
                for f in iter_facts(pf):
                    fact_file[id(f)] = read.report
    if fhir_paths:
        fhir = reader.read_fhir(fhir_paths, fhir=settings.fhir, policy=settings.policy, today=ctx.today)
        files.extend(fhir.files)
        for pf in fhir.patients:
            wanted = clinic or pf.patient.clinic or settings.clinic.default_clinic
            if pf.patient.clinic != wanted:
                pf = replace(pf, patient=replace(pf.patient, clinic=wanted))
            batch.append(pf)
    result = ImportResult(files=files, dry_run=dry_run)
    result.patients = sorted({pf.patient.mrn for pf in batch})
    problems = result.problems
    if problems and not skip_invalid:
        result.failed = True
        return result
    if dry_run:
        return result
    from monitor.importer import write_patients

    with state.write() as session:
        written = write_patients(session, ctx, batch)
        if written.problems and not skip_invalid:  # raising rolls the whole import back
            raise MonitorError(f"patient {written.problems[0][0]}: {written.problems[0][1]}; nothing was written")
    counts = {"added": 0, "updated": 0, "skipped": 0, "rejected": 0}
    for fid, outcome in written.outcome.items():
        counts[outcome] += 1
        rep = fact_file.get(fid)
        if rep is not None:
            if outcome in ("added", "updated"):
                rep.imported += 1
            elif outcome == "skipped":
                rep.ignored += 1
            else:
                rep.rejected += 1
    for mrn, message in written.problems:
        target = files[0] if files else None
        if target is not None:
            target.problems.append(Problem(f"patient {mrn}", message))
    result.written = {**counts, "patients_created": len(written.patients_created)}
    if skip_invalid:
        for path, read in csv_reads:
            rejects = write_rejects(path, read)
            if rejects is not None:
                result.rejects_files.append(str(rejects))
    return result
