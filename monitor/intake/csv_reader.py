"""The documented CSV format (docs/formats.md "CSV import"): one record per row, validated row by row.

Columns: `mrn`, `record` (patient, therapy_start, therapy_stop, dose, dxa, marker, lab, fracture,
frax, vitals, note), optional `clinic`, and the value columns of monitor.intake.factbuild.COLUMNS. Every
problem names file, line, column and value. Reading never writes; monitor.app.bulk_write writes.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from monitor.core.domain import FACT_GROUP, Menopause, Patient, PatientFacts, Sex, TherapyCourse
from monitor.core.errors import DataError, MonitorError, NotFound
from monitor.core.vocab import choose, parse_drug
from monitor.intake.factbuild import BUILDERS, COLUMNS
from monitor.intake.parsing import as_bool, as_date, as_float, as_int
from monitor.intake.report import FileReport, Problem
from monitor.intake.validate import check_fact, check_mrn, check_patient
from monitor.settings import Settings

KEY_COLUMNS = ("mrn", "record", "clinic")
ALL_COLUMNS = tuple(dict.fromkeys((*KEY_COLUMNS, *(c for cols in COLUMNS.values() for c in cols))))
MAX_FIELD = 10_000

PatientLookup = Callable[[str, str], Patient | None]


@dataclass
class CsvRow:
    line: int
    cells: dict[str, str]


@dataclass
class CsvRead:
    report: FileReport
    patients: list[PatientFacts] = field(default_factory=list)
    fact_lines: dict[int, int] = field(default_factory=dict)  # id(fact) → line
    extras: dict[int, dict] = field(default_factory=dict)  # id(fact) → value and unit as reported
    patient_lines: dict[tuple[str, str], int] = field(default_factory=dict)  # (clinic, mrn) → line
    row_keys: list[tuple[int, tuple]] = field(default_factory=list)  # (line, ("fact", id) | ("patient", key))
    rejected_rows: list[tuple[CsvRow, str]] = field(default_factory=list)
    header: list[str] = field(default_factory=list)

    def column(self, field_name: str | None) -> str | None:
        """A problem's field as the header spells it (t-score → t_score)."""
        if not field_name:
            return None
        spelled = field_name.replace("-", "_")
        return spelled if spelled in self.header or spelled in ALL_COLUMNS else field_name


def looks_like_csv(path: Path) -> bool:
    """A `.csv` file, or one whose first line is a CSV header with mrn and record."""
    if path.suffix.lower() == ".csv":
        return True
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            first = next(csv.reader([fh.readline()]), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    names = {c.strip().lower() for c in first}
    return "mrn" in names and "record" in names


def _problem(report: FileReport, where: str, message: str) -> None:
    report.problems.append(Problem(where, message))


def read_csv(path: Path, *, settings: Settings, today: date, lookup: PatientLookup,
             default_clinic: str | None = None) -> CsvRead:
    report = FileReport(path=str(path))
    out = CsvRead(report)
    clinic_default = default_clinic or settings.clinic.default_clinic
    rows = _read_rows(path, out)
    if report.fatal:
        return out
    report.read = len(rows)
    patients: dict[tuple[str, str], Patient] = {}
    pending: list[tuple[CsvRow, str, str]] = []
    for row in rows:  # pass 1: patient rows, so facts may come before or after their patient
        mrn, clinic, kind = row.cells.get("mrn", ""), row.cells.get("clinic") or clinic_default, row.cells["record"]
        try:
            check_mrn(mrn)
            _check_columns(row, kind)
            if kind == "patient":
                p = _patient(row.cells, mrn, clinic)
                check_patient(p, today)
                if (clinic, mrn) in patients and patients[(clinic, mrn)] != p:
                    raise DataError("mrn", mrn, "one patient row per MRN and clinic in a file")
                patients[(clinic, mrn)] = p
                out.patient_lines[(clinic, mrn)] = row.line
                out.row_keys.append((row.line, ("patient", (clinic, mrn))))
            else:
                pending.append((row, mrn, clinic))
        except MonitorError as exc:
            _reject(out, row, exc)
    facts: dict[tuple[str, str], dict[str, list]] = {}
    for row, mrn, clinic in pending:  # pass 2: facts, checked against their patient
        try:
            patient = patients.get((clinic, mrn)) or lookup(mrn, clinic)
            if patient is None:
                raise NotFound(f"unknown patient {mrn} in clinic {clinic!r}: add a patient row to the file "
                               "or `bonemon patient add` first")
            patients.setdefault((clinic, mrn), patient)
            fact, extra = _fact(row, settings)
            if isinstance(fact, TherapyCourse) and fact.stop is not None and fact.start is None \
                    and fact.planned_start is None:
                groups = facts.setdefault((clinic, mrn), {})
                earlier = [c for c in groups.get("courses", []) if c.drug is fact.drug and c.stop is None]
                if earlier:  # a stop for a course started earlier in this file: one course, two rows
                    old = earlier[-1]
                    merged = replace(old, stop=fact.stop, stop_reason=fact.stop_reason)
                    check_fact(merged, patient, today, settings.policy)
                    groups["courses"][groups["courses"].index(old)] = merged
                    out.fact_lines[id(merged)] = row.line
                    out.row_keys = [(ln, ("fact", id(merged)) if k == ("fact", id(old)) else k)
                                    for ln, k in out.row_keys]
                    out.row_keys.append((row.line, ("fact", id(merged))))
                    continue
            else:
                check_fact(fact, patient, today, settings.policy)
            facts.setdefault((clinic, mrn), {}).setdefault(_group(fact), []).append(fact)
            out.fact_lines[id(fact)] = row.line
            out.row_keys.append((row.line, ("fact", id(fact))))
            if extra:
                out.extras[id(fact)] = extra
        except MonitorError as exc:
            _reject(out, row, exc)
    for key, p in patients.items():
        groups = facts.get(key, {})
        out.patients.append(PatientFacts(p, **{g: tuple(v) for g, v in groups.items()}))
    return out


def _read_rows(path: Path, out: CsvRead) -> list[CsvRow]:
    report = out.report
    rows: list[CsvRow] = []
    row_start = 1  # the line where the row being read began
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            try:
                header = next(reader)
            except StopIteration:
                report.fatal = True
                _problem(report, f"{path}:1", "empty file; expected a header line with mrn,record,…")
                return rows
            names = [h.strip().lower() for h in header]
            out.header = names
            unknown = [h for h in names if h not in ALL_COLUMNS]
            missing = [h for h in ("mrn", "record") if h not in names]
            if missing or unknown or len(set(names)) != len(names):
                report.fatal = True
                detail = []
                if missing:
                    detail.append(f"missing column(s) {', '.join(missing)}")
                if unknown:
                    detail.append(f"unknown column(s) {', '.join(repr(u) for u in unknown)}")
                if len(set(names)) != len(names):
                    detail.append("a column appears twice")
                _problem(report, f"{path}:1", "not a bonemon CSV header: " + "; ".join(detail)
                         + f". Allowed columns: {', '.join(ALL_COLUMNS)}")
                return rows
            row_start = 2
            for values in reader:
                line, row_start = row_start, reader.line_num + 1
                if not values or all(not v.strip() for v in values):
                    continue
                if len(values) != len(names):
                    report.rejected += 1
                    row = CsvRow(line, dict(zip(names, values, strict=False)))
                    out.rejected_rows.append((row, f"has {len(values)} fields, the header has {len(names)}"))
                    _problem(report, f"{path}:{line}", f"has {len(values)} fields, the header has {len(names)}")
                    continue
                if any(len(v) > MAX_FIELD for v in values):
                    report.rejected += 1
                    out.rejected_rows.append((CsvRow(line, dict(zip(names, values, strict=True))), "field too long"))
                    _problem(report, f"{path}:{line}", f"a field is longer than {MAX_FIELD} characters")
                    continue
                if any("\n" in v or "\r" in v for v in values):
                    report.rejected += 1
                    message = "a quoted cell runs over several lines (an unbalanced quote?)"
                    out.rejected_rows.append((CsvRow(line, dict(zip(names, values, strict=True))), message))
                    _problem(report, f"{path}:{line}", message)
                    continue
                cells = {n: v.strip() for n, v in zip(names, values, strict=True)}
                cells["record"] = cells.get("record", "").lower()
                rows.append(CsvRow(line, cells))
    except UnicodeDecodeError as exc:
        report.fatal = True
        _problem(report, str(path), f"not UTF-8 text (byte {exc.start}); save the CSV as UTF-8")
    except csv.Error as exc:
        report.fatal = True
        where = f"{path}:{row_start}"
        if "end of data" in str(exc) or "EOF" in str(exc):
            _problem(report, where, "a quoted cell is never closed (an unbalanced quote)")
        else:
            _problem(report, where, f"not valid CSV ({exc})")
    except OSError as exc:
        report.fatal = True
        _problem(report, str(path), f"cannot read: {exc.strerror}")
    return rows


def _check_columns(row: CsvRow, kind: str) -> None:
    if kind not in COLUMNS:
        raise DataError("record", repr(kind), f"one of {', '.join(COLUMNS)}")
    allowed = set(COLUMNS[kind]) | set(KEY_COLUMNS)
    extra = [k for k, v in row.cells.items() if v and k not in allowed]
    if extra:
        uses = ", ".join(COLUMNS[kind])
        raise DataError(extra[0], repr(row.cells[extra[0]]), f"empty for a {kind} row (it uses {uses})")


def _patient(cells: dict[str, str], mrn: str, clinic: str) -> Patient:
    birth = cells.get("birth_date")
    if not birth:
        raise DataError("birth_date", "missing", "the date of birth, YYYY-MM-DD")
    return Patient(
        mrn=mrn, clinic=clinic, birth_date=as_date(birth, "birth_date"), name=cells.get("name") or None,
        phone=cells.get("phone") or None,
        sex=choose(Sex, cells.get("sex") or "female", "sex"),
        menopause=choose(Menopause, cells.get("menopause") or "unknown", "menopause"),
        deceased_date=as_date(cells.get("deceased_date") or None, "deceased_date"),
    )


def _fact(row: CsvRow, settings: Settings):
    """(fact, extra column values) of one row."""
    cells = {k: (v or None) for k, v in row.cells.items()}
    kind = row.cells["record"]
    if kind == "therapy_start":
        drug = parse_drug(cells.get("drug") or "")
        day = as_date(cells.get("date") or "", "date")
        planned = as_bool(cells.get("planned"), "planned")
        return TherapyCourse(drug, start=None if planned else day, planned_start=day if planned else None,
                             dose_mg=as_float(cells.get("dose_mg"), "dose_mg"),
                             interval_months=as_int(cells.get("interval_months"), "interval_months")), {}
    if kind == "therapy_stop":
        return TherapyCourse(parse_drug(cells.get("drug") or ""), stop=as_date(cells.get("date") or "", "date"),
                             stop_reason=cells.get("stop_reason")), {}
    return BUILDERS[kind](cells, settings.policy)


def _group(fact) -> str:
    return FACT_GROUP[type(fact)]


def _reject(out: CsvRead, row: CsvRow, exc: MonitorError) -> None:
    out.report.rejected += 1
    column = out.column(getattr(exc, "field", None)) or ("mrn" if isinstance(exc, NotFound) else None)
    where = f"{out.report.path}:{row.line}" + (f" column {column}" if column else "")
    message = str(exc) if not isinstance(exc, DataError) else f"{exc.value!s} is not allowed; {exc.allowed}"
    out.report.problems.append(Problem(where, message))
    out.rejected_rows.append((row, str(exc)))


def write_rejects(path: Path, read: CsvRead) -> Path | None:
    """`--skip-invalid`: the rejected rows, as read, with an `error` column, beside the input."""
    if not read.rejected_rows:
        return None
    target = path.with_name(path.stem + ".rejects.csv")
    header = [*read.header, "error"] if read.header else ["line", "error"]
    with target.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for row, error in sorted(read.rejected_rows, key=lambda r: r[0].line):
            w.writerow([row.cells.get(h, "") for h in read.header] + [f"line {row.line}: {error}"])
    return target
