"""`read_fhir`: FHIR R4 JSON files → PatientFacts and a per-file import report (the public entry).

Pure except for reading the given files: no database, no clock (`today` is passed in). Two passes:

1. Each file is streamed (monitor.intake.fhir.containers) and every resource mapped on its own
   (monitor.intake.fhir.mapping) into a patient record, draft facts awaiting their patient, or an
   ignored/rejected line. A file that is not FHIR JSON is refused whole (`fatal`), and nothing of
   it is kept.
2. Once every file is read: patients are grouped by identifier (the same identifier with another
   birth date or sex stays apart, under a suffixed MRN), references are resolved (`urn:uuid:`,
   relative, absolute, conditional `Patient?identifier=`, logical identifier, across files),
   `medicationReference` is resolved, every fact is validated (monitor.intake.validate), parts of one
   measurement are merged (T, Z and BMD of one ROI; weight, height and BMI of one day; FRAX hip and
   MOF of one day; a site-less osteoporotic fracture code with a fracture coded by site on the
   same day; renewals of one drug), and each resource gets one outcome: imported, ignored or
   rejected.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from monitor.core.domain import (
    DxaRoi,
    Menopause,
    Patient,
    PatientFacts,
)
from monitor.core.errors import DataError
from monitor.core.policy import Policy
from monitor.intake import report as import_report
from monitor.intake.fhir.conditions import FractureDraft, MenopauseEvidence
from monitor.intake.fhir.containers import FatalFileError, iter_items, looks_like_json_resource, sniff
from monitor.intake.fhir.fields import MapConfig, Mapped, Reject
from monitor.intake.fhir.identity import PatientGroup, PatientIndex, PatientRec, group_patients, type_id
from monitor.intake.fhir.mapping import map_resource
from monitor.intake.fhir.medications import CourseDraft, build_medication
from monitor.intake.fhir.merge import (
    Pending,
    kind_of,
    merge_courses,
    merge_dxa,
    merge_fill,
    merge_fractures,
    sorted_facts,
)
from monitor.intake.validate import check_event_date, check_fact, check_patient
from monitor.settings import FhirSettings

JSON_SUFFIXES = (".json", ".ndjson", ".jsonl", ".json.gz", ".ndjson.gz", ".jsonl.gz")
MAX_UNKNOWN_LISTED = 500
ERROR, WARNING = import_report.ERROR, import_report.WARNING

# The shared report shapes (read, imported, ignored, rejected, problems with severity, ignored_by,
# unknown_codes, fatal): a problem's `where` is "file:line" (NDJSON) or "file#ResourceType/id".
Problem = import_report.Problem
FileReport = import_report.FileReport


@dataclass
class FhirImport:
    files: list[FileReport]
    patients: list[PatientFacts]


def looks_like_fhir(path: Path) -> bool:
    """Cheap sniff for the CLI: JSON or NDJSON naming a resourceType in its first 64 KiB.

    A `.json`/`.ndjson` file, or any file starting with '{' or '[', also counts, so that the FHIR
    reader (not the CSV reader) explains why a JSON file that is not FHIR is refused.
    """
    path = Path(path)
    if path.is_dir():
        return any(f.is_file() and f.name.lower().endswith(JSON_SUFFIXES) for f in path.rglob("*"))
    try:
        head = sniff(path)
    except (OSError, EOFError):
        return path.name.lower().endswith(JSON_SUFFIXES)
    return looks_like_json_resource(head) or head[:1] in (b"{", b"[") or path.name.lower().endswith(JSON_SUFFIXES)


def read_fhir(paths: Sequence[Path], *, fhir: FhirSettings, policy: Policy, today: date,
              default_clinic: str = "main") -> FhirImport:
    """Read FHIR R4 JSON files (directories: their .json/.ndjson files) into facts and reports.

    A patient whose data names no clinic (bonemon's own extension) goes to `default_clinic`."""
    importer = _Importer(fhir, policy, today, default_clinic)
    for path in _expand(paths):
        importer.read_file(path)
    return importer.finish()


def _expand(paths: Sequence[Path]) -> Iterator[Path]:
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.name.lower().endswith(JSON_SUFFIXES))
            yield from found or [p]  # an empty directory is reported, not skipped in silence
        else:
            yield p


# --------------------------------------------------------------------------- internal state


class _FileState:
    """What one file contributes; committed only when the file is read to its end."""

    def __init__(self, index: int, report: FileReport):
        self.index = index
        self.report = report
        self.unknown: dict[str, None] = {}
        self.patients: list[PatientRec] = []
        self.pending: list[Pending] = []
        self.meds: list[tuple[str | None, str | None, list[tuple[str, str, str]]]] = []


class _Importer:
    def __init__(self, fhir: FhirSettings, policy: Policy, today: date, default_clinic: str = "main"):
        self.cfg = MapConfig(mrn_system=fhir.mrn_system, frax_system=fhir.frax_system)
        self.default_clinic = default_clinic
        self.limit = max(1, fhir.max_resource_mb) * 1_000_000
        self.validate_r4b = fhir.validate_r4b
        self.policy = policy
        self.today = today
        self.reports: list[FileReport] = []
        self.unknown: list[dict[str, None]] = []
        self.records: list[PatientRec] = []
        self.pending: list[Pending] = []
        # Medication resources: (file, fullUrl) / (file, "Medication/id") / ("*", "Medication/id") → codings
        self.meds: dict[tuple[Any, str], list[tuple[str, str, str]]] = {}

    # ------------------------------------------------------------------ pass 1: one file

    def read_file(self, path: Path) -> None:
        report = FileReport(path=str(path))
        state = _FileState(len(self.reports), report)
        self.reports.append(report)
        self.unknown.append(state.unknown)
        try:
            for item in iter_items(path, max_resource_chars=self.limit):
                report.read += 1
                where = self._where(path, item)
                if item.error is not None:
                    self._reject(state, where, item.error)
                    continue
                if not isinstance(item.resource, dict):
                    self._reject(state, where, "not a FHIR resource: expected a JSON object")
                    continue
                self._map(state, where, item.resource, item.full_url)
        except FatalFileError as exc:
            self._fatal(report, str(exc))
            return
        if report.read == 0:
            self._fatal(report, "no FHIR resource in the file")
            return
        if report.rejected == report.read and all(p.message.startswith("not a FHIR resource") for p in report.problems):
            hint = " (a Bulk Data export log?)" if path.name.lower().startswith("log.") else ""
            self._fatal(report, f"not FHIR: no item in the file has a resourceType{hint}")
            return
        self.records.extend(state.patients)
        self.pending.extend(state.pending)
        for full_url, rid, cs in state.meds:
            if full_url:
                self.meds[(state.index, full_url)] = cs
            if rid:
                self.meds[(state.index, f"Medication/{rid}")] = cs
                self.meds.setdefault(("*", f"Medication/{rid}"), cs)

    def _fatal(self, report: FileReport, message: str) -> None:
        report.fatal = True
        report.read = report.imported = report.ignored = report.rejected = 0
        report.ignored_by = {}
        self.unknown[-1].clear()
        report.problems = [Problem(report.path, message)]

    @staticmethod
    def _where(path: Path, item) -> str:
        if item.line is not None:
            return f"{path}:{item.line}"
        r = item.resource
        if isinstance(r, dict) and isinstance(r.get("resourceType"), str) and isinstance(r.get("id"), str):
            return f"{path}#{r['resourceType']}/{r['id']}"
        return f"{path}#{item.locator}" if item.locator else str(path)

    def _reject(self, state: _FileState, where: str, message: str) -> None:
        state.report.rejected += 1
        state.report.problems.append(Problem(where, message))

    def _ignore(self, state: _FileState, key: str, unknown: list[str]) -> None:
        state.report.ignored += 1
        state.report.ignored_by[key] = state.report.ignored_by.get(key, 0) + 1
        for u in unknown:
            state.unknown[u] = None

    def _map(self, state: _FileState, where: str, r: dict, full_url: str | None) -> None:
        out: Mapped = map_resource(r, full_url, self.cfg)
        if out.status in ("patient", "facts", "medref") and self.validate_r4b:
            problem = _r4b_problem(r)
            if problem:
                out = Mapped("rejected", reason=problem)
        for w in out.warnings:
            state.report.problems.append(Problem(where, w, WARNING))
        if out.status == "rejected" and out.subject is not None:
            state.pending.append(Pending(state.index, where, out.subject, [], rejections=[out.reason]))
        elif out.status == "rejected":
            self._reject(state, where, out.reason)
        elif out.status == "ignored":
            self._ignore(state, out.key, out.unknown)
        elif out.status == "medication":
            rid = r.get("id") if isinstance(r.get("id"), str) else None
            state.meds.append((full_url, rid, out.med_codings))
            self._ignore(state, "Medication (product definition)", [])
        elif out.status == "patient":
            assert out.patient is not None
            state.patients.append(PatientRec(out.patient, state.index, where))
        else:
            state.pending.append(
                Pending(state.index, where, out.subject, out.pieces, out.key, out.med_spec, out.med_ref)
            )

    # ------------------------------------------------------------------ pass 2: everything read

    def finish(self) -> FhirImport:
        groups = self._group_patients()
        index = PatientIndex(self.records)
        for res in self.pending:
            self._resolve(res, index)
        for g in groups:
            self._build_patient(g)
            if g.patient is None:
                for items in g.facts.values():
                    for _piece, res in items:
                        res.rejections.append(f"its patient ({g.recs[0].where}) was refused: {g.refused}")
        patients = [self._patient_facts(g) for g in groups if g.patient is not None]
        self._count()
        for report, unknown in zip(self.reports, self.unknown, strict=True):
            listed = list(unknown)
            if len(listed) > MAX_UNKNOWN_LISTED:
                listed = [*listed[:MAX_UNKNOWN_LISTED], f"... and {len(listed) - MAX_UNKNOWN_LISTED} more"]
            report.unknown_codes = listed
        return FhirImport(files=self.reports, patients=patients)

    def _problem(self, file: int, where: str, message: str, severity: str = ERROR) -> None:
        self.reports[file].problems.append(Problem(where, message, severity))

    # patients -----------------------------------------------------------

    def _group_patients(self) -> list[PatientGroup]:
        groups, notes = group_patients(self.records)
        for rec, message in notes:
            self._problem(rec.file, rec.where, message, WARNING)
        return groups

    def _build_patient(self, g: PatientGroup) -> None:
        records = [rec.record for rec in g.recs]
        deaths = sorted({r.deceased_date for r in records if r.deceased_date is not None})
        if len(deaths) > 1:
            self._problem(
                g.recs[0].file,
                g.recs[0].where,
                f"dates of death differ across files ({', '.join(map(str, deaths))}): the earliest is kept",
                WARNING,
            )
        name = next((r.name for r in records if r.name), None)
        menopause = next((r.menopause for r in records if r.menopause is not Menopause.UNKNOWN), Menopause.UNKNOWN)
        details = {k: v for k in ("clinic", "phone", "country")
                   if (v := next((getattr(r, k) for r in records if getattr(r, k)), None)) is not None}
        details.setdefault("clinic", self.default_clinic)
        patient = Patient(
            mrn=g.mrn,
            birth_date=g.birth_date,
            sex=g.sex,
            menopause=menopause,
            name=name,
            deceased_date=deaths[0] if deaths else None,
            source=records[0].source,
            **details,
        )
        try:
            check_patient(patient, self.today)
        except DataError as exc:
            g.refused = str(exc)
            for rec in g.recs:
                self._problem(rec.file, rec.where, str(exc))
            return
        g.patient = patient

    def _resolve(self, res: Pending, index: PatientIndex) -> None:
        found, why = index.find(res.subject, res.file)
        if found is None:
            res.rejections.insert(0, why)
            return
        if res.rejections:  # refused when mapped; its patient is known
            return
        group = found.group
        assert group is not None
        if res.med_spec is not None:
            self._resolve_medication(res)
            if res.ignored_key is not None or res.rejections:
                return
        for piece in res.pieces:
            kind = kind_of(piece)
            group.facts.setdefault(kind, []).append((piece, res))

    def _resolve_medication(self, res: Pending) -> None:
        assert res.med_spec is not None and res.med_ref is not None
        ref = res.med_ref
        key = type_id(ref)
        cs = self.meds.get((res.file, ref)) or (key and (self.meds.get((res.file, key)) or self.meds.get(("*", key))))
        if cs is None:
            res.rejections.append(f"medicationReference {ref!r}: no such Medication resource in this import")
            return
        try:
            out = build_medication(res.med_spec, cs)
        except (Reject, DataError) as exc:
            res.rejections.append(str(exc))
            return
        if out.status == "ignored":
            res.ignored_key = out.key
            for u in out.unknown:
                self.unknown[res.file][u] = None
        elif out.status == "rejected":
            res.rejections.append(out.reason)
        else:
            res.pieces = out.pieces

    # facts --------------------------------------------------------------

    def _patient_facts(self, g: PatientGroup) -> PatientFacts:
        assert g.patient is not None
        p = g.patient
        accepted: dict[str, list[tuple[Any, Pending]]] = {}
        for kind, pieces in g.facts.items():
            for piece, res in pieces:
                message = self._check(piece, p)
                if message is None:
                    accepted.setdefault(kind, []).append((piece, res))
                else:
                    res.rejections.append(message)
        for res_list in accepted.values():
            for _piece, res in res_list:
                res.accepted += 1
        if accepted.get("menopause"):  # premature menopause or bilateral oophorectomy on record
            p = replace(p, menopause=Menopause.POST)
        dxa = merge_dxa(accepted.get("dxa", []))
        courses, open_ends = merge_courses(accepted.get("course", []))
        for res, message in open_ends:
            self._problem(res.file, res.where, message, WARNING)
        return PatientFacts(
            patient=p,
            courses=sorted_facts(courses, lambda c: (c.first_day or date.min, c.drug.value)),
            doses=sorted_facts([f for f, _ in accepted.get("dose", [])], lambda d: (d.date, d.drug.value)),
            dxa=sorted_facts(dxa, lambda d: (d.date, d.site.value, d.side.value)),
            markers=sorted_facts([f for f, _ in accepted.get("marker", [])], lambda m: (m.date, m.analyte.value)),
            fractures=sorted_facts(merge_fractures(accepted.get("fracture", [])), lambda f: (f.date, f.site.value)),
            frax=sorted_facts(merge_fill(accepted.get("frax", []), ("hip", "mof")), lambda f: f.date),
            labs=sorted_facts([f for f, _ in accepted.get("lab", [])], lambda x: (x.date, x.analyte.value)),
            vitals=sorted_facts(
                merge_fill(accepted.get("vitals", []), ("weight_kg", "height_cm", "bmi", "waist_cm")), lambda v: v.date
            ),
            notes=sorted_facts([f for f, _ in accepted.get("note", [])], lambda n: (n.date or date.min, n.kind.value)),
        )

    def _check(self, piece: Any, p: Patient) -> str | None:
        try:
            if isinstance(piece, MenopauseEvidence):
                if piece.date is not None:
                    check_event_date("date", piece.date, p, self.today)
            elif isinstance(piece, FractureDraft):
                check_fact(piece.fracture, p, self.today, self.policy)
            elif isinstance(piece, CourseDraft):
                check_fact(piece.course, p, self.today, self.policy)
            elif isinstance(piece, DxaRoi) and piece.t_score is None and piece.bmd is None:
                check_event_date("date", piece.date, p, self.today)
                _check_z(piece.z_score, self.policy)
            else:
                check_fact(piece, p, self.today, self.policy)
        except DataError as exc:
            return str(exc)
        return None

    # report -------------------------------------------------------------

    def _count(self) -> None:
        for res in self.pending:
            report = self.reports[res.file]
            if res.accepted:
                report.imported += 1
                for message in res.rejections:
                    report.problems.append(Problem(res.where, f"part not imported: {message}"))
            elif res.rejections:
                report.rejected += 1
                report.problems.append(Problem(res.where, "; ".join(res.rejections)))
            else:
                key = res.ignored_key or res.key
                report.ignored += 1
                report.ignored_by[key] = report.ignored_by.get(key, 0) + 1
        for rec in self.records:
            report = self.reports[rec.file]
            if rec.group is not None and rec.group.patient is not None:
                report.imported += 1
            else:
                report.rejected += 1


def _check_z(z: Decimal | None, policy: Policy) -> None:
    lo, hi = policy.risk.t_score_lowest, policy.risk.t_score_highest
    if z is not None and (not z.is_finite() or not Decimal(str(lo)) <= z <= Decimal(str(hi))):
        raise DataError("z-score", z, f"a score from {lo:g} to {hi:g}")


def _r4b_problem(r: dict) -> str | None:
    """Strict mode ([fhir] validate_r4b): the first error fhir.resources' R4B model finds, if any."""
    from fhir.resources.R4B import get_fhir_model_class  # heavy: imported only when asked for
    from pydantic import ValidationError

    try:
        get_fhir_model_class(r["resourceType"]).model_validate(r)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err.get("loc", ()))
        return f"not valid FHIR R4B ([fhir] validate_r4b): {loc}: {err.get('msg')}"
    except (ValueError, TypeError, KeyError) as exc:
        return f"not valid FHIR R4B ([fhir] validate_r4b): {exc}"
    return None
