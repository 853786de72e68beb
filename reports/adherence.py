"""The adherence report (`bonemon report adherence`, docs/rules.md AUDIT): per-patient records in, frames,
then CSV / JSON / HTML out. Not the audit trail of changes (db.audit, `bonemon audit`).

Plain data in (monitor.core.history.PatientAdherence, one per patient; never a database session), files out.

Frames (dates are ISO strings, rates are floats with NaN when nothing was judged):

- `task_frame`: one row per task judged in the period (resolved in it; monitor.core.history's method).
- `patient_frame`: one row per patient with her numbers.
- `summary_frame`: one row per clinic and one for all clinics: ratios of sums, never means of rates;
  the median of days late over the late tasks themselves; the mean PDC over the patients who have one.
- `kind_frame`: on-time rate and median days late per task kind, per clinic and for all clinics.
- `monthly_frame`: the on-time rate of the tasks resolved in each month of the period.
- `long_frame`: all of the above as tidy rows (scope, clinic, mrn, name, month, measure, kind,
  numerator, denominator, value): the CSV, one table an auditor can pivot.

CSV is UTF-8 with a byte-order mark, CRLF line ends, and text cells a spreadsheet would run as a
formula neutralised (reports.worklist.neutralise). HTML is one self-contained page (jinja2 autoescape).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from monitor.core.domain import TaskKind
from monitor.core.history import Met, Outcome, PatientAdherence
from reports.worklist import FORMULA_STARTS, neutralise

ALL = "all clinics"
KINDS = [k.value for k in TaskKind]
TASK_COLUMNS = ["clinic", "mrn", "name", "kind", "rule", "earliest", "target", "latest", "done_on", "outcome",
                "resolved_on", "month", "days_late", "manual"]
COUNTS = ["tasks", "on_time", "early", "late", "overdue", "dmab_doses", "dmab_on_time", "dmab_stops",
          "dmab_sequenced", "dmab_pending", "oral_bp", "pdc_adherent", "d1_events", "d1_met", "b1_events", "b1_met",
          "data_items", "data_present", "data_complete"]
PATIENT_COLUMNS = ["clinic", "mrn", "name", "tasks", "on_time", "early", "late", "overdue", "on_time_rate",
                   "median_days_late", "dmab_doses", "dmab_on_time", "dmab_on_time_rate", "dmab_stops",
                   "dmab_sequenced", "dmab_sequenced_rate", "dmab_pending", "oral_bp", "pdc", "pdc_adherent",
                   "d1_events", "d1_met", "d1_rate", "b1_events", "b1_met", "b1_rate", "data_items", "data_present",
                   "data_complete", "data_completeness", "missing_data"]
SUMMARY_COLUMNS = ["clinic", "patients", "tasks", "on_time", "early", "late", "overdue", "on_time_rate",
                   "median_days_late", "dmab_doses", "dmab_on_time", "dmab_on_time_rate", "dmab_stops",
                   "dmab_sequenced", "dmab_sequenced_rate", "dmab_pending", "oral_bp", "mean_pdc", "pdc_adherent",
                   "pdc_adherent_share", "d1_events", "d1_met", "d1_rate", "b1_events", "b1_met", "b1_rate",
                   "data_items", "data_present", "data_completeness", "data_complete", "data_complete_share"]
KIND_COLUMNS = ["clinic", "kind", "tasks", "on_time", "early", "late", "overdue", "on_time_rate", "median_days_late"]
MONTH_COLUMNS = ["clinic", "month", "tasks", "on_time", "on_time_rate"]
LONG_COLUMNS = ["scope", "clinic", "mrn", "name", "month", "measure", "kind", "numerator", "denominator", "value",
                "period_from", "period_to", "clinic_filter", "generated_at"]


@dataclass(frozen=True)
class AdherenceMeta:
    """What every rendering states: the period, the filter and when it was made."""

    start: date
    end: date
    clinic: str | None
    generated_at: datetime

    @property
    def where(self) -> str:
        return f"clinic {self.clinic}" if self.clinic else ALL

    @property
    def generated(self) -> str:
        return self.generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _rate(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    return (numerator / denominator.where(denominator > 0)).astype(float)


# --------------------------------------------------------------------------- frames


def task_frame(records: Sequence[PatientAdherence]) -> pd.DataFrame:
    rows = []
    for a in records:
        p = a.patient
        for r in a.tasks:
            if r.counted(a.start, a.end):
                resolved = _iso(r.resolved_on)
                rows.append((p.clinic, p.mrn, p.name, r.kind.value, r.rule, _iso(r.earliest), _iso(r.target),
                             _iso(r.latest), _iso(r.done_on), r.outcome.value, resolved, resolved[:7],  # type: ignore[index]
                             r.days_late if r.outcome is Outcome.LATE else None, r.manual))
    frame = pd.DataFrame.from_records(rows, columns=TASK_COLUMNS)
    frame["days_late"] = pd.array(frame["days_late"], dtype="Int64")
    frame["manual"] = frame["manual"].astype(bool)
    for column in ("clinic", "mrn", "name", "kind", "rule", "earliest", "target", "latest", "done_on", "outcome",
                   "resolved_on", "month"):
        frame[column] = frame[column].astype(object)
    frame = frame.sort_values(["clinic", "mrn", "resolved_on", "kind", "rule"], kind="stable")
    return frame.reset_index(drop=True)


def _patient_counts(a: PatientAdherence) -> dict[str, Any]:
    judged = [r for r in a.tasks if r.counted(a.start, a.end)]
    out = {o.value: sum(1 for r in judged if r.outcome is o) for o in
           (Outcome.ON_TIME, Outcome.EARLY, Outcome.LATE, Outcome.OVERDUE)}
    late = [r.days_late for r in judged if r.outcome is Outcome.LATE]
    stops = a.denosumab_stops
    d1 = [b for b in a.baselines if b.rule == "D1" and b.outcome is not Met.PENDING]
    b1 = [b for b in a.baselines if b.rule == "B1" and b.outcome is not Met.PENDING]
    c = a.completeness
    return {
        "clinic": a.patient.clinic, "mrn": a.patient.mrn, "name": a.patient.name, "tasks": len(judged), **out,
        "median_days_late": float(np.median(late)) if late else math.nan,
        "dmab_doses": len(a.denosumab_doses), "dmab_on_time": sum(1 for d in a.denosumab_doses if d.on_time),
        "dmab_stops": sum(1 for s in stops if s.outcome is not Met.PENDING),
        "dmab_sequenced": sum(1 for s in stops if s.outcome is Met.MET),
        "dmab_pending": sum(1 for s in stops if s.outcome is Met.PENDING),
        "oral_bp": int(a.oral_bp is not None),
        "pdc": a.oral_bp.pdc if a.oral_bp is not None else math.nan,
        "pdc_adherent": a.oral_bp.adherent if a.oral_bp is not None else None,
        "d1_events": len(d1), "d1_met": sum(1 for b in d1 if b.outcome is Met.MET),
        "b1_events": len(b1), "b1_met": sum(1 for b in b1 if b.outcome is Met.MET),
        "data_items": c.applicable, "data_present": c.present, "data_complete": int(c.present == c.applicable),
        "missing_data": "; ".join(c.missing),
    }


def patient_frame(records: Sequence[PatientAdherence]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records([_patient_counts(a) for a in records],
                                      columns=[c for c in PATIENT_COLUMNS if not c.endswith(("_rate", "completeness"))])
    for column in COUNTS:
        if column != "pdc_adherent":
            frame[column] = frame[column].astype("int64")
    frame["pdc_adherent"] = pd.array(frame["pdc_adherent"], dtype="boolean")
    frame["median_days_late"] = frame["median_days_late"].astype(float)
    frame["pdc"] = frame["pdc"].astype(float)
    frame["on_time_rate"] = _rate(frame["on_time"], frame["tasks"])
    frame["dmab_on_time_rate"] = _rate(frame["dmab_on_time"], frame["dmab_doses"])
    frame["dmab_sequenced_rate"] = _rate(frame["dmab_sequenced"], frame["dmab_stops"])
    frame["d1_rate"] = _rate(frame["d1_met"], frame["d1_events"])
    frame["b1_rate"] = _rate(frame["b1_met"], frame["b1_events"])
    frame["data_completeness"] = _rate(frame["data_present"], frame["data_items"])
    for column in ("clinic", "mrn", "name", "missing_data"):
        frame[column] = frame[column].astype(object)
    return frame[PATIENT_COLUMNS].sort_values(["clinic", "mrn"], kind="stable").reset_index(drop=True)


def _median_late(tasks: pd.DataFrame) -> float:
    late = tasks.loc[tasks["outcome"] == Outcome.LATE.value, "days_late"]
    return float(late.astype(float).median()) if len(late) else math.nan


def summary_frame(patients: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    groups = [(ALL, patients, tasks)]
    for clinic in sorted(patients["clinic"].unique()):
        groups.append((clinic, patients[patients["clinic"] == clinic], tasks[tasks["clinic"] == clinic]))
    rows = []
    for clinic, p, t in groups:
        sums = {c: int(p[c].sum()) for c in COUNTS if c != "pdc_adherent"}
        rows.append({"clinic": clinic, "patients": len(p), **sums, "median_days_late": _median_late(t),
                     "mean_pdc": float(p["pdc"].mean()) if p["pdc"].notna().any() else math.nan,
                     "pdc_adherent": int(p["pdc_adherent"].fillna(False).sum())})
    frame = pd.DataFrame.from_records(rows)
    frame["on_time_rate"] = _rate(frame["on_time"], frame["tasks"])
    frame["dmab_on_time_rate"] = _rate(frame["dmab_on_time"], frame["dmab_doses"])
    frame["dmab_sequenced_rate"] = _rate(frame["dmab_sequenced"], frame["dmab_stops"])
    frame["pdc_adherent_share"] = _rate(frame["pdc_adherent"], frame["oral_bp"])
    frame["d1_rate"] = _rate(frame["d1_met"], frame["d1_events"])
    frame["b1_rate"] = _rate(frame["b1_met"], frame["b1_events"])
    frame["data_completeness"] = _rate(frame["data_present"], frame["data_items"])
    frame["data_complete_share"] = _rate(frame["data_complete"], frame["patients"])
    frame["clinic"] = frame["clinic"].astype(object)
    return frame[SUMMARY_COLUMNS]


def _kind_rows(clinic: str, tasks: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for kind in KINDS:
        t = tasks[tasks["kind"] == kind]
        if len(t):
            counts = {o: int((t["outcome"] == o).sum()) for o in ("on_time", "early", "late", "overdue")}
            rows.append({"clinic": clinic, "kind": kind, "tasks": len(t), **counts,
                         "median_days_late": _median_late(t)})
    return rows


def kind_frame(tasks: pd.DataFrame) -> pd.DataFrame:
    rows = _kind_rows(ALL, tasks)
    for clinic in sorted(tasks["clinic"].unique()):
        rows += _kind_rows(clinic, tasks[tasks["clinic"] == clinic])
    frame = pd.DataFrame.from_records(rows, columns=[c for c in KIND_COLUMNS if c != "on_time_rate"])
    for column in ("tasks", "on_time", "early", "late", "overdue"):
        frame[column] = frame[column].astype("int64")
    frame["median_days_late"] = frame["median_days_late"].astype(float)
    frame["on_time_rate"] = _rate(frame["on_time"], frame["tasks"])
    for column in ("clinic", "kind"):
        frame[column] = frame[column].astype(object)
    return frame[KIND_COLUMNS]


def months(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def monthly_frame(tasks: pd.DataFrame, *, start: date, end: date, clinics: Sequence[str] = ()) -> pd.DataFrame:
    """Every month of the period (a month with no resolved task has rate NaN), for all clinics and each of
    `clinics` (default: the clinics of the tasks)."""
    index = months(start, end)
    parts = []
    for clinic in [ALL, *sorted(set(clinics) | set(tasks["clinic"].unique()))]:
        t = tasks if clinic == ALL else tasks[tasks["clinic"] == clinic]
        n = t.groupby("month").size().reindex(index, fill_value=0)
        ok = t[t["outcome"] == "on_time"].groupby("month").size().reindex(index, fill_value=0)
        parts.append(pd.DataFrame({"clinic": clinic, "month": index, "tasks": n.to_numpy(dtype="int64"),
                                   "on_time": ok.to_numpy(dtype="int64")}))
    frame = pd.concat(parts, ignore_index=True)
    frame["on_time_rate"] = _rate(frame["on_time"], frame["tasks"])
    for column in ("clinic", "month"):
        frame[column] = frame[column].astype(object)
    return frame[MONTH_COLUMNS]


@dataclass(frozen=True)
class AdherenceFrames:
    meta: AdherenceMeta
    tasks: pd.DataFrame
    patients: pd.DataFrame
    summary: pd.DataFrame
    kinds: pd.DataFrame
    monthly: pd.DataFrame

    @property
    def empty(self) -> bool:
        return len(self.patients) == 0


def build(records: Sequence[PatientAdherence], meta: AdherenceMeta) -> AdherenceFrames:
    tasks = task_frame(records)
    patients = patient_frame(records)
    return AdherenceFrames(meta, tasks, patients, summary_frame(patients, tasks), kind_frame(tasks),
                       monthly_frame(tasks, start=meta.start, end=meta.end, clinics=list(patients["clinic"])))


# --------------------------------------------------------------------------- the long frame (CSV)

# measure → (numerator column, denominator column, value column) of the summary / patient frames
MEASURES = [
    ("on_time", "on_time", "tasks", "on_time_rate"),
    ("median_days_late", None, "late", "median_days_late"),
    ("denosumab_dose_on_time", "dmab_on_time", "dmab_doses", "dmab_on_time_rate"),
    ("denosumab_stop_sequenced", "dmab_sequenced", "dmab_stops", "dmab_sequenced_rate"),
    ("denosumab_stop_pending", "dmab_pending", None, None),
    ("oral_bp_pdc", None, "oral_bp", "pdc"),
    ("oral_bp_adherent", "pdc_adherent", "oral_bp", "pdc_adherent_share"),
    ("baseline_dxa_d1", "d1_met", "d1_events", "d1_rate"),
    ("baseline_btm_b1", "b1_met", "b1_events", "b1_rate"),
    ("data_completeness", "data_present", "data_items", "data_completeness"),
    ("data_complete", "data_complete", "patients", "data_complete_share"),
]


def _measure_rows(frame: pd.DataFrame, scope: str) -> list[pd.DataFrame]:
    parts = []
    for measure, num, den, value in MEASURES:
        if scope == "patient" and measure == "data_complete":
            continue
        value = "mean_pdc" if value == "pdc" and scope != "patient" else value
        if value == "pdc_adherent_share" and scope == "patient":
            value = "adherent_value"
            frame = frame.assign(adherent_value=frame["pdc_adherent"].to_numpy(dtype=float, na_value=math.nan))
        part = pd.DataFrame({
            "scope": scope, "clinic": frame["clinic"],
            "mrn": frame["mrn"] if scope == "patient" else None, "name": frame["name"] if scope == "patient" else None,
            "month": None, "measure": measure, "kind": "all",
            "numerator": frame[num].astype("Int64") if num else pd.NA,
            "denominator": frame[den].astype("Int64") if den else pd.NA,
            "value": frame[value].astype(float) if value else math.nan,
        })
        parts.append(part)
    return parts


def long_frame(frames: AdherenceFrames) -> pd.DataFrame:
    s = frames.summary.assign(scope=np.where(frames.summary["clinic"] == ALL, "all", "clinic"))
    parts = [pd.DataFrame({"scope": s["scope"], "clinic": s["clinic"], "mrn": None, "name": None, "month": None,
                           "measure": "patients", "kind": "all", "numerator": s["patients"].astype("Int64"),
                           "denominator": pd.NA, "value": math.nan})]
    for scope in ("all", "clinic"):
        part = s[s["scope"] == scope]
        if len(part):
            parts += _measure_rows(part.assign(late=frames.summary["late"]), scope)
    k = frames.kinds
    if len(k):
        kscope = np.where(k["clinic"] == ALL, "all", "clinic")
        parts.append(pd.DataFrame({"scope": kscope, "clinic": k["clinic"], "mrn": None, "name": None, "month": None,
                                   "measure": "on_time", "kind": k["kind"], "numerator": k["on_time"].astype("Int64"),
                                   "denominator": k["tasks"].astype("Int64"), "value": k["on_time_rate"]}))
        parts.append(pd.DataFrame({"scope": kscope, "clinic": k["clinic"], "mrn": None, "name": None, "month": None,
                                   "measure": "median_days_late", "kind": k["kind"], "numerator": pd.NA,
                                   "denominator": k["late"].astype("Int64"), "value": k["median_days_late"]}))
    m = frames.monthly
    parts.append(pd.DataFrame({"scope": np.where(m["clinic"] == ALL, "all", "clinic"), "clinic": m["clinic"],
                               "mrn": None, "name": None, "month": m["month"], "measure": "on_time", "kind": "all",
                               "numerator": m["on_time"].astype("Int64"), "denominator": m["tasks"].astype("Int64"),
                               "value": m["on_time_rate"]}))
    if len(frames.patients):
        parts += _measure_rows(frames.patients.assign(late=frames.patients["late"]), "patient")
    parts = [p for p in parts if len(p)]
    for block, part in enumerate(parts):
        part["block"] = block if part["measure"].iloc[0] != "on_time" or part["month"].isna().all() else 999
        part["seq"] = range(len(part))
    frame = pd.concat([p.astype({"numerator": "Int64", "denominator": "Int64", "value": float}) for p in parts],
                      ignore_index=True)
    frame["rank"] = frame["scope"].map({"all": 0, "clinic": 1, "patient": 2})
    frame = frame.sort_values(["rank", "clinic", "mrn", "block", "seq"], kind="stable", na_position="first")
    frame = frame.reset_index(drop=True)
    meta = frames.meta
    frame["period_from"] = meta.start.isoformat()
    frame["period_to"] = meta.end.isoformat()
    frame["clinic_filter"] = meta.clinic or ALL
    frame["generated_at"] = meta.generated_at.isoformat()
    for column in ("scope", "clinic", "mrn", "name", "month", "measure", "kind"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame[LONG_COLUMNS]


def render_csv(frames: AdherenceFrames) -> str:
    """The long frame as CSV: UTF-8 with BOM, CRLF, rates to 4 decimals, formula-like text neutralised."""
    frame = long_frame(frames)
    for column in ("clinic", "mrn", "name", "clinic_filter"):
        frame[column] = frame[column].map(neutralise)
    assert not any(isinstance(v, str) and v.startswith(FORMULA_STARTS)
                   for c in ("clinic", "mrn", "name") for v in frame[c])
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\r\n", float_format="%.4f")
    return "\ufeff" + buffer.getvalue()


# --------------------------------------------------------------------------- JSON


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out = []
    for row in frame.astype(object).to_dict(orient="records"):
        out.append({k: (None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
                        else bool(v) if isinstance(v, np.bool_) else v.item() if isinstance(v, np.generic) else v)
                    for k, v in row.items()})
    return out


def json_document(frames: AdherenceFrames) -> dict[str, Any]:
    meta = frames.meta
    return {
        "report": "adherence", "from": meta.start.isoformat(), "to": meta.end.isoformat(),
        "clinic": meta.clinic, "generated_at": meta.generated_at.isoformat(),
        "patients": len(frames.patients), "empty": frames.empty,
        "summary": _records(frames.summary), "by_kind": _records(frames.kinds),
        "monthly": _records(frames.monthly), "patient_rows": _records(frames.patients),
    }


def render_json(frames: AdherenceFrames) -> str:
    return json.dumps(json_document(frames), ensure_ascii=False, indent=2) + "\n"


# --------------------------------------------------------------------------- HTML


def _pct(value: Any) -> str:
    return "–" if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)) \
        else f"{100 * value:.0f} %"


def _num(value: Any, digits: int = 0) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def monthly_chart(frames: AdherenceFrames) -> Any:
    from reports.monthly_plot import monthly_figure

    m = frames.monthly[frames.monthly["clinic"] == ALL]
    if int(m["tasks"].sum()) == 0:
        return monthly_figure([], [], [])
    rates = [None if math.isnan(r) else float(r) for r in m["on_time_rate"]]
    return monthly_figure(list(m["month"]), rates, [int(n) for n in m["tasks"]])


def render_html(frames: AdherenceFrames) -> str:
    from reports.figures import data_uri
    from reports.patient import render_page

    meta = frames.meta
    return render_page(
        "adherence.html.j2", meta=meta, generated=meta.generated, frames=frames,
        all_row=_records(frames.summary.iloc[:1])[0], clinics=_records(frames.summary.iloc[1:]),
        kinds=_records(frames.kinds), monthly=_records(frames.monthly[frames.monthly["clinic"] == ALL]),
        patients=_records(frames.patients), chart=data_uri(monthly_chart(frames)), pct=_pct, num=_num,
        title=f"Adherence audit {meta.start} to {meta.end}")
