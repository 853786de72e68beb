"""The physician's report of one patient: one self-contained HTML page (`bonemon report patient`).

Plain data in: the patient document of monitor.app.documents (tier, reasons, flags, tasks, alerts as of a
date), her facts, the policy and the generation time; an HTML string out. Never a database session.

The page shows the tier and its reasons in plain words (monitor.core.explain), alerts and open tasks, the
AI and BMA timeline, the BMD trend (reports.trend_plot) with the table of BMD changes against the least
significant change (docs/rules.md LSC, CHANGE), DXA results, bone turnover markers and fractures. Tables come from
small frames (`courses_frame`, `dxa_frame`, `changes_frame`, `markers_frame`). Plots are embedded as
base64 PNG; tables sort with a few lines of inline JavaScript allowed by a Content-Security-Policy
hash (nothing else may run, nothing is fetched); the CSS prints. jinja2 autoescape escapes every value.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from datetime import date, datetime
from typing import Any

import pandas as pd

from monitor.core.dates import age_on
from monitor.core.domain import SEVERITY_ORDER, PatientFacts
from monitor.core.explain import flag_text, reason_text
from monitor.core.lsc import bmd_changes
from monitor.core.policy import Policy

OPEN_STATUSES = ("overdue", "due", "snoozed", "upcoming")
SEVERITY_RANK = {s.value: s.rank for s in SEVERITY_ORDER}

# Sorts a table by the clicked column (numbers as numbers, everything else as text), then marks the page
# ready (data-sortable); the only script.
SORT_JS = """document.querySelectorAll("table.sortable th").forEach(function (th, i) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], up = th.dataset.dir !== "asc";
    th.dataset.dir = up ? "asc" : "desc";
    var key = function (row) {
      var t = row.cells[i].textContent.trim().replace("\\u2212", "-").replace(" %", "");
      return /^[-+]?\\d+(\\.\\d+)?$/.test(t) ? parseFloat(t) : t.toLowerCase();
    };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x > y ? 1 : x < y ? -1 : 0) * (up ? 1 : -1);
    }).forEach(function (row) { body.appendChild(row); });
  });
});
document.documentElement.dataset.sortable = "ready";"""


def render_page(template: str, **context: Any) -> str:
    """Render one of reports/templates with autoescape on, the sort script and its CSP hash."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=True, undefined=StrictUndefined,
                      keep_trailing_newline=True)
    digest = base64.b64encode(hashlib.sha256(SORT_JS.encode("utf-8")).digest()).decode("ascii")
    return env.get_template(template).render(script=SORT_JS, script_hash=f"sha256-{digest}", **context)


def safe_file_part(mrn: str) -> str:
    """An MRN as a file-name part (letters, digits, dot, dash, underscore); never a patient's name."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", mrn).strip("._") or "patient"
    return cleaned[:80]


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


# --------------------------------------------------------------------------- frames


def courses_frame(facts: PatientFacts, *, as_of: date) -> pd.DataFrame:
    """AI, tamoxifen, BMA and raloxifene courses known on `as_of`, with their doses up to it."""
    rows = []
    for c in facts.courses:
        first = c.start or c.planned_start
        if first is None or (c.start is not None and c.start > as_of):
            continue
        if not (c.drug.is_ai or c.drug.is_bma or c.drug.value in ("tamoxifen", "raloxifene")):
            continue
        end = c.stop if c.stop is not None and c.stop <= as_of else None
        doses = [d.date for d in facts.doses if d.drug is c.drug and d.date <= as_of
                 and (c.start is None or d.date >= c.start) and (end is None or d.date <= end)]
        group = "AI" if c.drug.is_ai else "BMA" if c.drug.is_bma else "other"
        status = "planned" if c.start is None else "stopped" if end is not None else "running"
        rows.append({"drug": c.drug.value.replace("_", " "), "group": group, "status": status,
                     "start": _iso(c.start), "planned_start": _iso(c.planned_start), "stop": _iso(end),
                     "stop_reason": c.stop_reason if end is not None else None, "doses": len(doses),
                     "last_dose": _iso(max(doses)) if doses else None})
    frame = pd.DataFrame.from_records(rows, columns=["drug", "group", "status", "start", "planned_start", "stop",
                                                     "stop_reason", "doses", "last_dose"])
    frame["doses"] = frame["doses"].astype("int64")
    frame = frame.sort_values(["start", "planned_start", "drug"], kind="stable", na_position="last")
    return frame.reset_index(drop=True)


def dxa_frame(facts: PatientFacts, *, as_of: date) -> pd.DataFrame:
    rows = [{"date": r.date.isoformat(), "site": r.site.value.replace("_", " "), "side": r.side.value,
             "t_score": float(r.t_score) if r.t_score is not None else math.nan,
             "z_score": float(r.z_score) if r.z_score is not None else math.nan,
             "bmd": float(r.bmd) if r.bmd is not None else math.nan, "scanner": r.scanner,
             "valid": r.valid} for r in facts.dxa if r.date <= as_of]
    frame = pd.DataFrame.from_records(rows, columns=["date", "site", "side", "t_score", "z_score", "bmd", "scanner",
                                                     "valid"])
    return frame.sort_values(["date", "site", "side"], ascending=[False, True, True], kind="stable") \
        .reset_index(drop=True)


def changes_frame(facts: PatientFacts, *, as_of: date, policy: Policy) -> pd.DataFrame:
    """Every BMD change between consecutive exams of one ROI on one scanner (CHANGE), newest first."""
    rows = [{"site": c.site.value.replace("_", " "), "side": c.side.value, "scanner": c.scanner,
             "from": c.previous_date.isoformat(), "to": c.date.isoformat(), "delta": c.delta, "lsc": c.lsc,
             "lsc_source": "facility" if c.lsc_from_facility else "ISCD fallback", "percent": c.percent,
             "annual_percent": c.annual_percent, "result": c.direction.value}
            for c in bmd_changes([r for r in facts.dxa if r.date <= as_of], policy)]
    frame = pd.DataFrame.from_records(rows, columns=["site", "side", "scanner", "from", "to", "delta", "lsc",
                                                     "lsc_source", "percent", "annual_percent", "result"])
    return frame.sort_values(["to", "site"], ascending=[False, True], kind="stable").reset_index(drop=True)


def markers_frame(facts: PatientFacts, *, as_of: date) -> pd.DataFrame:
    rows = [{"date": m.date.isoformat(), "analyte": m.analyte.value, "value": float(m.value), "unit": m.unit}
            for m in facts.markers if m.date <= as_of]
    frame = pd.DataFrame.from_records(rows, columns=["date", "analyte", "value", "unit"])
    return frame.sort_values(["date", "analyte"], ascending=[False, True], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------- the page


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in frame.astype(object).where(frame.notna(), None).to_dict(orient="records")]


def _fmt(value: Any, pattern: str = "{:.3f}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return pattern.format(value).replace("-", "\u2212")


def render_patient_html(doc: dict[str, Any], facts: PatientFacts, *, as_of: date, policy: Policy,
                        generated_at: datetime, clinic_filter: str | None = None) -> str:
    """The report page. `doc` is monitor.app.documents.patient_document for `as_of`; `generated_at` is aware."""
    from reports.figures import data_uri
    from reports.marker_plot import marker_figure
    from reports.timeline_plot import timeline_figure
    from reports.trend_plot import trend_data, trend_figure

    trend = trend_data(facts, as_of=as_of, policy=policy)
    tasks = sorted(doc["tasks"], key=lambda t: (OPEN_STATUSES.index(t["status"]) if t["status"] in OPEN_STATUSES
                                                else len(OPEN_STATUSES), t["target"], t["kind"]))
    alerts = sorted(doc["alerts"], key=lambda a: (SEVERITY_RANK.get(a["severity"], 9), a["code"]))
    birth = date.fromisoformat(doc["birth_date"])
    return render_page(
        "patient.html.j2",
        title=f"Bone health report {doc['mrn']} as of {as_of.isoformat()}",
        doc=doc, as_of=as_of.isoformat(), age=age_on(birth, as_of),
        generated=generated_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip(),
        filters=f"patient {doc['mrn']}" + (f" in clinic {clinic_filter}" if clinic_filter else "")
        + f"; facts dated on or before {as_of.isoformat()}",
        reasons=[(r, reason_text(r)) for r in doc["reasons"]],
        flags=[(f, flag_text(f)) for f in doc["flags"]],
        alerts=alerts,
        open_tasks=[t for t in tasks if t["status"] in OPEN_STATUSES],
        done_tasks=[t for t in tasks if t["status"] not in OPEN_STATUSES],
        courses=_rows(courses_frame(facts, as_of=as_of)),
        dxa=_rows(dxa_frame(facts, as_of=as_of)),
        changes=_rows(changes_frame(facts, as_of=as_of, policy=policy)),
        markers=_rows(markers_frame(facts, as_of=as_of)),
        fractures=[{"date": f.date.isoformat(), "site": f.site.value.replace("_", " "), "mechanism": f.mechanism.value}
                   for f in sorted(facts.fractures, key=lambda f: f.date, reverse=True) if f.date <= as_of],
        trend_png=data_uri(trend_figure(trend)),
        timeline_png=data_uri(timeline_figure(trend)),
        markers_png=data_uri(marker_figure(facts, as_of=as_of)),
        has_dxa=not trend.empty,
        fmt=_fmt,
    )
