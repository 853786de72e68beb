"""The worklist of a business date: plain rows in, one pandas frame, then table / JSON / CSV / HTML.

`build_frame` turns the rows of db.reminders.worklist_rows (tuples in WORKLIST_COLUMNS order, or
dicts with those keys; extra keys become extra columns) into the frame every renderer reads, sorted
by severity (block, critical, high, warn), alerts before tasks, then days overdue (most first).
Dates are ISO strings in the frame. Every renderer works column-wise, so a 300,000-item worklist
renders in seconds. Renderers never touch a database. CSV is UTF-8 with a byte-order mark (Excel)
and neutralises cells a spreadsheet would run as a formula; HTML is one self-contained page in
which every value is escaped (jinja2 autoescape; the rows are escaped with the same markupsafe).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from monitor.core.domain import SEVERITY_ORDER

SEVERITIES = tuple(s.value for s in SEVERITY_ORDER)
COLUMNS = ["severity", "action", "mrn", "name", "phone", "clinic", "kind", "rule", "alert_code", "status", "stage",
           "task_id", "earliest", "target", "latest", "days_overdue", "acknowledged", "new", "detail"]
# What staff do about an item: the worklist is grouped by these, in this order.
ACTIONS = ("Safety check", "Give denosumab", "Infusion", "Book DXA", "Draw markers", "Review visit")
ACTION_OF_KIND = {
    "alert": "Safety check",
    "denosumab_dose": "Give denosumab",
    "bp_dose": "Infusion",
    "sequential_bp": "Infusion",
    "dxa": "Book DXA",
    "btm": "Draw markers",
    "risk_review": "Review visit",
    "endocrine_review": "Review visit",
    "bp_holiday_review": "Review visit",
    "transition_plan": "Review visit",
    "adherence_switch": "Review visit",
    "lifestyle": "Review visit",
}
DATE_COLUMNS = ("earliest", "target", "latest")
JSON_KEYS = ["mrn", "task_id", "kind", "rule", "status", "target", "latest", "days_overdue", "alert_code",
             "severity", "stage", "earliest", "acknowledged", "new", "clinic", "name", "detail", "action", "phone"]
CSV_COLUMNS = ["action", "severity", "mrn", "name", "phone", "clinic", "kind", "rule", "alert_code", "status",
               "task_id", "earliest", "target", "latest", "days_overdue", "acknowledged", "new", "detail"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _iso_column(series: pd.Series) -> pd.Series:
    """ISO text; columns that already hold text (as db.reminders returns them) pass through."""
    sample = series.dropna()
    if sample.empty or isinstance(sample.iloc[0], str):
        return series
    return series.map(_iso)


def _text(series: pd.Series) -> pd.Series:
    """Object column of str or None (NA and NaN become None)."""
    out = series.astype(object)
    return out.where(out.notna(), None)


def build_frame(rows: Iterable[Any], *, as_of: date, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per open item, typed and sorted; `days_overdue` is computed here (0 when due, NA for alerts)."""
    rows = list(rows)
    frame = pd.DataFrame.from_records(rows, columns=list(columns) if columns is not None else None)
    if frame.empty and columns is None:
        frame = pd.DataFrame(columns=COLUMNS)
    for column in COLUMNS:
        if column not in frame:
            frame[column] = None
    extra = [c for c in frame.columns if c not in COLUMNS]
    frame = frame[COLUMNS + extra].copy()
    for column in DATE_COLUMNS:
        frame[column] = _text(_iso_column(frame[column]))
    for column in ("severity", "mrn", "name", "phone", "clinic", "kind", "rule", "alert_code", "status", "stage",
                   "detail"):
        frame[column] = _text(frame[column])
    frame["action"] = frame["kind"].map(ACTION_OF_KIND).fillna("Review visit")
    frame["task_id"] = pd.array(pd.to_numeric(frame["task_id"]), dtype="Int64")
    is_task = frame["task_id"].notna()
    latest = pd.to_datetime(frame["latest"].where(is_task), format="%Y-%m-%d")
    overdue = (pd.Timestamp(as_of) - latest).dt.days.clip(lower=0)
    frame["days_overdue"] = pd.array(overdue.where(is_task), dtype="Int64")
    for column in ("acknowledged", "new"):
        frame[column] = frame[column].fillna(False).astype(bool)
    order = pd.DataFrame({
        "rank": frame["severity"].map({s: i for i, s in enumerate(SEVERITIES)}).fillna(len(SEVERITIES)),
        "task": is_task.astype(int),
        "days": -frame["days_overdue"].fillna(0).astype("int64"),
        "target": frame["target"].fillna(""),
        "mrn": frame["mrn"].fillna(""),
        "item": frame["task_id"].fillna(0).astype("int64"),
        "code": frame["alert_code"].fillna(""),
    })
    index = order.sort_values(list(order.columns), kind="stable").index
    return frame.loc[index].reset_index(drop=True)


# --------------------------------------------------------------------------- JSON (docs/cli.md)


def _records_json(frame: pd.DataFrame, keys: list[str]) -> str:
    text = frame[keys].to_json(orient="records", force_ascii=False)
    return text.replace("\\/", "/")  # pandas escapes every "/"; an escaped backslash is never followed by a bare "/"


def json_document(frame: pd.DataFrame, *, as_of: date, run_id: int | None, created: int,
                  clinic: str | None = None) -> dict[str, Any]:
    return json.loads(render_json(frame, as_of=as_of, run_id=run_id, created=created, clinic=clinic))


def render_json(frame: pd.DataFrame, *, as_of: date, run_id: int | None, created: int,
                clinic: str | None = None) -> str:
    """`{"as_of", "run_id", "created", "clinic", "reminders": [...]}`, the reminders in the frame's order."""
    keys = JSON_KEYS + [c for c in frame.columns if c not in COLUMNS]
    head = json.dumps({"as_of": as_of.isoformat(), "run_id": run_id, "created": created, "clinic": clinic or "*"},
                      ensure_ascii=False)
    return head[:-1] + ', "reminders": ' + (_records_json(frame, keys) if len(frame) else "[]") + "}\n"


# --------------------------------------------------------------------------- CSV


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would read as a formula gets a leading apostrophe (OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _neutralise_column(series: pd.Series) -> pd.Series:
    text = series.astype(object)
    risky = text.str.startswith(FORMULA_STARTS, na=False).astype(bool)
    if not risky.any():
        return text
    return text.where(~risky, "'" + text.where(risky, ""))


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    columns = CSV_COLUMNS + [c for c in frame.columns if c not in COLUMNS]
    out = by_action(frame)[columns].copy()
    for column in ("acknowledged", "new"):
        out[column] = np.where(out[column], "yes", "no")
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = _neutralise_column(out[column])
    return out


def render_csv(frame: pd.DataFrame) -> str:
    """UTF-8 text starting with a byte-order mark, CRLF line ends (RFC 4180), formula cells neutralised."""
    buffer = io.StringIO()
    csv_frame(frame).to_csv(buffer, index=False, lineterminator="\r\n")
    return "\ufeff" + buffer.getvalue()


# --------------------------------------------------------------------------- grouping by action


def grouped(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(action, its items) in ACTIONS order; within an action the frame's order (severity, days overdue)."""
    out = []
    for action in ACTIONS:
        part = frame[frame["action"] == action]
        if len(part):
            out.append((action, part))
    rest = frame[~frame["action"].isin(ACTIONS)]
    if len(rest):
        out.append(("Other", rest))
    return out


def by_action(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame reordered by action group (CSV and print order); severity order kept inside a group."""
    parts = [part for _, part in grouped(frame)]
    return pd.concat(parts) if parts else frame


# --------------------------------------------------------------------------- terminal table


TABLE_COLUMNS = [("severity", "Severity"), ("mrn", "MRN"), ("name", "Name"), ("phone", "Contact"), ("item", "Item"),
                 ("rule", "Rule"), ("status", "Status"), ("target", "Target"), ("latest", "Latest"),
                 ("days_overdue", "Overdue"), ("task_id", "Task"), ("flags", "Notes")]
RIGHT = ("days_overdue", "task_id")
STYLE = {"block": "bold white on red", "critical": "bold red", "high": "yellow", "warn": ""}


def table_frame(frame: pd.DataFrame, *, name_width: int = 28) -> pd.DataFrame:
    """The table's cells as strings (column-wise)."""
    flags = np.where(frame["acknowledged"], "ack", "")
    flags = pd.Series(flags, index=frame.index).str.cat(np.where(frame["new"], "new", ""), sep=" ").str.strip()
    name = frame["name"].fillna("").astype(str)
    long = name.str.len() > name_width
    name = name.where(~long, name.str.slice(0, name_width - 1) + "…")
    cells = {
        "severity": frame["severity"], "mrn": frame["mrn"], "name": name, "phone": frame["phone"],
        "item": frame["alert_code"].where(frame["kind"] == "alert", frame["kind"]), "rule": frame["rule"],
        "status": frame["status"], "target": frame["target"], "latest": frame["latest"],
        "days_overdue": frame["days_overdue"], "task_id": frame["task_id"], "flags": flags,
    }
    return pd.DataFrame({k: pd.Series(v, index=frame.index).astype(object).where(pd.notna(v), "").astype(str)
                         for k, v in cells.items()})


def render_text(frame: pd.DataFrame, *, title: str, limit: int | None = None) -> str:
    """The table as plain text (no colour, fixed columns): for pipes, --out and golden tests."""
    shown = frame if limit is None else frame.head(limit)
    cells = table_frame(shown)
    headers = [h for _, h in TABLE_COLUMNS]
    keys = [k for k, _ in TABLE_COLUMNS]
    widths = [max([len(h), *([cells[k].str.len().max()] if len(cells) else [])]) for k, h in TABLE_COLUMNS]
    padded = [cells[k].str.rjust(w) if k in RIGHT else cells[k].str.ljust(w) for k, w in zip(keys, widths, strict=True)]

    def line(parts: list[str]) -> str:
        return "  ".join(parts).rstrip()

    body = padded[0].str.cat(padded[1:], sep="  ").str.rstrip() if len(cells) else pd.Series([], dtype=object)
    head = [line([h.rjust(w) if k in RIGHT else h.ljust(w) for k, h, w in zip(keys, headers, widths, strict=True)]),
            line(["-" * w for w in widths])]
    out = [title, ""]
    for action, part in grouped(shown):
        out += ["", f"{action} ({len(part)})", *head, *body.loc[part.index].tolist()]
    if len(shown) < len(frame):
        out.append(f"… and {len(frame) - len(shown)} more")
    return "\n".join(out) + "\n"


def rich_table(frame: pd.DataFrame, *, title: str | None = None, limit: int | None = None) -> Any:
    """A rich Table for an interactive terminal (colour by severity); keep `limit` small."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title) if title else None, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    table.add_column("Action", no_wrap=True)
    for key, header in TABLE_COLUMNS:
        table.add_column(header, justify="right" if key in RIGHT else "left", no_wrap=True)
    shown = frame if limit is None else frame.head(limit)
    for action, part in grouped(shown):
        rows = list(zip(part["severity"], table_frame(part).itertuples(index=False), strict=True))
        for i, (severity, row) in enumerate(rows):
            label = Text(action if i == 0 else "", style="bold")
            table.add_row(label, *(Text(cell) for cell in row), style=STYLE.get(severity, ""),  # never markup
                          end_section=i == len(rows) - 1)
    return table


# --------------------------------------------------------------------------- HTML


HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Worklist {{ clinic }} {{ as_of }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem; color: #1a1a1a; }
h1 { font-size: 1.3rem; margin-bottom: .2rem; }
p.meta { color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.block td { background: #fde2e1; } tr.block td.sev { color: #fff; background: #b3261e; font-weight: bold; }
tr.critical td.sev { color: #b3261e; font-weight: bold; }
tr.high td.sev { color: #8a5a00; font-weight: bold; }
span.tag { font-size: .75rem; border: 1px solid #999; border-radius: .6rem; padding: 0 .35rem; margin-right: .2rem; }
h2 { font-size: 1.1rem; margin: 1.4rem 0 .4rem; }
th.sortable { cursor: pointer; } th.sortable::after { content: " ↕"; color: #999; font-size: .75rem; }
nav a { margin-right: .8rem; }
@media print { th { position: static; } nav { display: none; } h2 { break-before: auto; } tr { break-inside: avoid; } }
</style>
</head>
<body>
<h1>Worklist: {{ clinic }}, {{ as_of }}</h1>
<p class="meta">{{ count }} open item(s){% if run_id is not none %}; run #{{ run_id }} created {{ created }}
new reminder(s){% endif %}. Grouped by action; within each, sorted by severity, then days overdue (click a column
heading to sort). Generated {{ generated }}.</p>
{% if not groups %}<p>Nothing is due or overdue and no alert is open.</p>{% endif %}
<nav>{% for g in groups %}<a href="#{{ g.anchor }}">{{ g.action }} ({{ g.count }})</a>{% endfor %}</nav>
{% for g in groups %}
<h2 id="{{ g.anchor }}">{{ g.action }} ({{ g.count }})</h2>
<table class="sortable">
<thead><tr><th>Severity</th><th>MRN</th><th>Name</th><th>Contact</th><th>Item</th><th>Rule</th><th>Status</th>
<th>Target</th><th>Latest</th><th>Days overdue</th><th>Task</th><th>Notes</th><th>Details</th></tr></thead>
<tbody>
{{ g.rows }}
</tbody>
</table>
{% endfor %}
<script>
// Sort a table by the clicked column (numbers numerically, everything else as text); no external code.
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.classList.add("sortable");
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var asc = th.dataset.dir !== "asc"; th.dataset.dir = asc ? "asc" : "desc";
      rows.sort(function (a, b) {
        var x = a.cells[col].textContent.trim(), y = b.cells[col].textContent.trim();
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
</script>
</body>
</html>
"""


def _escaped(series: pd.Series) -> pd.Series:
    from markupsafe import escape

    return series.map(lambda v: str(escape(v)))


def html_rows(frame: pd.DataFrame) -> str:
    """The table rows, every cell escaped by markupsafe (what jinja2's autoescape uses)."""
    if frame.empty:
        return ""
    cells = table_frame(frame, name_width=10_000)
    tags = (pd.Series(np.where(frame["acknowledged"], '<span class="tag">acknowledged</span>', ""), index=frame.index)
            + np.where(frame["new"], '<span class="tag">new</span>', ""))
    detail = frame["detail"].fillna("").astype(str)
    severity = _escaped(cells["severity"])
    parts = ['<tr class="', severity, '"><td class="sev">', severity, "</td><td>", _escaped(cells["mrn"]),
             "</td><td>", _escaped(cells["name"]), "</td><td>", _escaped(cells["phone"]), "</td><td>",
             _escaped(cells["item"]), "</td><td>",
             _escaped(cells["rule"]), "</td><td>", _escaped(cells["status"]), "</td><td>", _escaped(cells["target"]),
             "</td><td>", _escaped(cells["latest"]), '</td><td class="num">', _escaped(cells["days_overdue"]),
             '</td><td class="num">', _escaped(cells["task_id"]), "</td><td>", tags, "</td><td>",
             _escaped(detail), "</td></tr>"]
    rows = pd.Series("", index=frame.index)
    for part in parts:
        rows = rows + part
    return "\n".join(rows.tolist())


def render_html(frame: pd.DataFrame, *, as_of: date, run_id: int | None = None, created: int = 0,
                clinic: str | None = None, generated: str = "") -> str:
    from jinja2 import Environment
    from markupsafe import Markup

    groups = [{"action": action, "anchor": action.lower().replace(" ", "-"), "count": len(part),
               "rows": Markup(html_rows(part))} for action, part in grouped(frame)]
    env = Environment(autoescape=True, keep_trailing_newline=True)
    return env.from_string(HTML_TEMPLATE).render(groups=groups, count=len(frame), as_of=as_of.isoformat(),
                                                 run_id=run_id, created=created, clinic=clinic or "all clinics",
                                                 generated=generated or "with bonemon")
