"""Open tasks → an iCalendar file of VTODOs (`bonemon export ics`).

Pure: plain task values in, the bytes of a calendar out; `now` is passed in (DTSTAMP).

One VTODO per open task (upcoming, due, overdue or snoozed; done tasks are left out):

- UID: a UUIDv5 of (clinic, MRN, rule, anchor) + "@bonemon": the task's identity across replans,
  never a database id alone. Re-importing a newer file updates the to-do instead of adding one:
  same UID, later DTSTAMP, and SEQUENCE = the minutes from 2020-01-01 to the stored task's last
  change, which only grows.
- DTSTART = earliest (the window opens), DUE = target (the date the plan aims at); the window's
  end (latest, after which bonemon calls the task overdue) is in the description. A window that
  opens on its target day has no DTSTART (RFC 5545: DUE must be later than DTSTART).
- VALARM: a display alarm at 09:00 (floating) on the earliest day.
- SUMMARY "DXA due — MRN P001"; the patient's name only when asked (`--with-names`). No other
  personal or clinical detail: no reason text, no birth date, no values.
- STATUS: NEEDS-ACTION, or IN-PROCESS once staff acknowledged the task.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from monitor.core.domain import TaskKind

OPEN_STATUSES = ("upcoming", "due", "overdue", "snoozed")
ALARM_AT = timedelta(hours=9)  # after midnight of the earliest day: 09:00 local (floating) time
SEQUENCE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
PRODID = "-//bonemon//bone-health monitoring tasks//EN"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:bonemon:task")

KIND_LABELS: dict[str, str] = {
    TaskKind.DXA.value: "DXA",
    TaskKind.BTM.value: "Bone turnover markers",
    TaskKind.RISK_REVIEW.value: "Risk review",
    TaskKind.DENOSUMAB_DOSE.value: "Denosumab dose",
    TaskKind.BP_DOSE.value: "Bisphosphonate dose",
    TaskKind.SEQUENTIAL_BP.value: "Sequential bisphosphonate",
    TaskKind.BP_HOLIDAY_REVIEW.value: "Bisphosphonate holiday review",
    TaskKind.ENDOCRINE_REVIEW.value: "Endocrine therapy review",
    TaskKind.ADHERENCE_SWITCH.value: "Adherence review",
    TaskKind.LIFESTYLE.value: "Lifestyle counselling",
    TaskKind.TRANSITION_PLAN.value: "Transition plan",
}
_PRIORITY = {"overdue": 1, "due": 5, "upcoming": 9, "snoozed": 9}


@dataclass(frozen=True, slots=True)
class IcsTask:
    """One task of one patient as of the export date (status derived, staff actions applied)."""

    clinic: str
    mrn: str
    kind: str
    rule: str
    anchor: date
    earliest: date
    target: date
    latest: date
    status: str
    task_id: int | None = None
    name: str | None = None
    acknowledged: bool = False
    snoozed_until: date | None = None
    revised: datetime | None = None  # when the stored task last changed (SEQUENCE, LAST-MODIFIED)


def task_uid(clinic: str, mrn: str, rule: str, anchor: date) -> str:
    key = "\x1f".join((clinic, mrn, rule, anchor.isoformat()))
    return f"{uuid.uuid5(_NAMESPACE, key)}@bonemon"


def summary(task: IcsTask, *, with_names: bool) -> str:
    label = KIND_LABELS.get(task.kind, task.kind.replace("_", " ").capitalize())
    word = "overdue" if task.status == "overdue" else "snoozed" if task.status == "snoozed" else "due"
    text = f"{label} {word} — MRN {task.mrn}"
    if with_names and task.name:
        text += f" ({task.name})"
    return text


def sequence(revised: datetime | None) -> int:
    if revised is None:
        return 0
    if revised.tzinfo is None:
        revised = revised.replace(tzinfo=UTC)
    return max(0, int((revised - SEQUENCE_EPOCH).total_seconds() // 60))


def calendar(tasks: Iterable[IcsTask], *, now: datetime, as_of: date, with_names: bool = False,
             title: str = "bonemon tasks") -> bytes:
    """The calendar (bytes, CRLF lines) of the open tasks, sorted by due date, MRN and rule."""
    from icalendar import Alarm, Calendar, Todo  # heavy: only when a calendar is written

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", title)
    stamp = now.astimezone(UTC)
    chosen = [t for t in tasks if t.status in OPEN_STATUSES]
    for t in sorted(chosen, key=lambda t: (t.target, t.clinic, t.mrn, t.rule, t.anchor)):
        todo = Todo()
        todo.add("uid", task_uid(t.clinic, t.mrn, t.rule, t.anchor))
        todo.add("dtstamp", stamp)
        todo.add("sequence", sequence(t.revised))
        if t.revised is not None:
            todo.add("last-modified", t.revised.astimezone(UTC) if t.revised.tzinfo else t.revised.replace(tzinfo=UTC))
        text = summary(t, with_names=with_names)
        todo.add("summary", text)
        todo.add("description", _description(t, as_of))
        todo.add("categories", ["bonemon", t.kind])
        has_start = t.earliest < t.target
        if has_start:
            todo.add("dtstart", t.earliest)
        todo.add("due", t.target)
        todo.add("status", "IN-PROCESS" if t.acknowledged else "NEEDS-ACTION")
        todo.add("priority", _PRIORITY[t.status])
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", text)
        alarm.add("trigger", ALARM_AT, parameters={"RELATED": "START" if has_start else "END"})
        todo.add_component(alarm)
        cal.add_component(todo)
    return cal.to_ical()


def _description(t: IcsTask, as_of: date) -> str:
    label = KIND_LABELS.get(t.kind, t.kind)
    lines = [
        f"{label} (rule {t.rule}): window {t.earliest} to {t.latest}, target {t.target}.",
        f"Status {t.status} as of {as_of}" + (f", snoozed until {t.snoozed_until}" if t.snoozed_until else "") + ".",
        f"Overdue after {t.latest}.",
    ]
    if t.task_id is not None:
        lines.append(f"bonemon task {t.task_id}: bonemon patient show {t.mrn}")
    else:
        lines.append(f"bonemon patient show {t.mrn}")
    return "\n".join(lines)
