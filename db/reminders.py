"""The set-based SQL of the daily run: task status as of a date, reminders, counts and the worklist.

Status is never stored: these are the rules of monitor/core/status.py (`task_status`,
`reminder_stage`, `STAGE_SEVERITY`) as SQL expressions that run unchanged on SQLite and PostgreSQL,
checked against those functions on every boundary (tests/db/test_status_sql.py). For a business
date D a task is open when it is active, `earliest ≤ D`, not done by D (`done_on`,
`manual_done_on`) and not snoozed on D (`snoozed_until ≥ D`). Every step is one statement over the
whole scope: never a loop over patients.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import AlertRow, DailyRunRow, PatientRow, ReminderRow, TaskRow
from db.types import UTCDateTime
from monitor.core.status import ESCALATED, STAGE_SEVERITY, Escalation, Stage

TASK = TaskRow.__table__
ALERT = AlertRow.__table__
PATIENT = PatientRow.__table__
REMINDER = ReminderRow.__table__
RUN = DailyRunRow.__table__

ALL_CLINICS = "*"
ALERT_STAGE = "alert"


def _day(value: date) -> sa.BindParameter:
    return sa.literal(value, sa.Date())


def open_task_condition(day: date) -> sa.ColumnElement[bool]:
    """Open on `day`: active, window opened, not done by then, not snoozed that day."""
    d = _day(day)
    return sa.and_(
        TASK.c.active == sa.true(),
        TASK.c.earliest <= d,
        sa.or_(TASK.c.done_on.is_(None), TASK.c.done_on > d),
        sa.or_(TASK.c.manual_done_on.is_(None), TASK.c.manual_done_on > d),
        sa.or_(TASK.c.snoozed_until.is_(None), TASK.c.snoozed_until < d),
    )


def stage_expression(day: date, escalation: Escalation) -> sa.ColumnElement[str]:
    """status.reminder_stage of an open task on `day`."""
    high_cut, critical_cut = escalation.cuts(day)
    return sa.case(
        (TASK.c.latest >= _day(day), Stage.DUE.value),
        (TASK.c.latest < _day(critical_cut), Stage.OVERDUE_CRITICAL.value),
        (TASK.c.latest < _day(high_cut), Stage.OVERDUE_HIGH.value),
        else_=Stage.OVERDUE.value,
    )


def severity_of_stage(stage: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """status.STAGE_SEVERITY of a stage column."""
    return sa.case({s.value: v.value for s, v in STAGE_SEVERITY.items()}, value=stage)


def _scoped(query: sa.Select, patient_col: sa.ColumnElement, clinic: str | None) -> sa.Select:
    if clinic in (None, ALL_CLINICS):
        return query
    return query.where(patient_col.in_(sa.select(PATIENT.c.id).where(PATIENT.c.clinic == clinic)))


def _insert_ignoring_duplicates(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


# The statuses of one run: a temporary table, filled by one statement, read by the next steps.
DAY_STATUS = sa.Table(
    "bonemon_day_status", sa.MetaData(),
    sa.Column("patient_id", sa.Integer), sa.Column("task_id", sa.Integer), sa.Column("stage", sa.String(24)),
    sa.Column("severity", sa.String(16)),
    prefixes=["TEMPORARY"],
)


def derive_statuses(session: Session, *, day: date, escalation: Escalation, clinic: str | None) -> sa.Table:
    """The status step: every open task of the scope with its stage and severity on `day`, in one
    INSERT … SELECT into a temporary table of this transaction (dropped by `drop_statuses`)."""
    connection = session.connection()
    DAY_STATUS.drop(connection, checkfirst=True)
    DAY_STATUS.create(connection)
    query = _scoped(
        sa.select(TASK.c.patient_id, TASK.c.id, stage := stage_expression(day, escalation), severity_of_stage(stage))
        .where(open_task_condition(day)),
        TASK.c.patient_id, clinic,
    )
    session.execute(DAY_STATUS.insert().from_select(["patient_id", "task_id", "stage", "severity"], query))
    return DAY_STATUS


def drop_statuses(session: Session, statuses: sa.Table) -> None:
    statuses.drop(session.connection())


def insert_reminders(
    session: Session, *, statuses: sa.Table, run_id: int, day: date, now: datetime, clinic: str | None
) -> tuple[int, int]:
    """The reminder step: a reminder for every open task at its stage and every active alert at its
    severity; two INSERT … SELECT … ON CONFLICT DO NOTHING statements. Returns (task reminders, alert
    reminders) actually created: running it again for the same date creates nothing."""
    insert = _insert_ignoring_duplicates(session)
    columns = ["run_id", "business_date", "patient_id", "task_id", "alert_id", "stage", "severity", "created_at"]
    run = sa.literal(run_id, sa.Integer())
    created_at = sa.literal(now, UTCDateTime())
    s = statuses.c
    tasks = sa.select(run, _day(day), s.patient_id, s.task_id, sa.null(), s.stage, s.severity, created_at).where(
        sa.true())  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
    alerts = _scoped(
        sa.select(run, _day(day), ALERT.c.patient_id, sa.null(), ALERT.c.id, sa.literal(ALERT_STAGE),
                  ALERT.c.severity, created_at)
        .where(ALERT.c.active == sa.true(), ALERT.c.since <= _day(day)),
        ALERT.c.patient_id, clinic,
    )
    made = [_execute_counting(session, insert(REMINDER).from_select(columns, q).on_conflict_do_nothing())
            for q in (tasks, alerts)]
    return made[0], made[1]


def _execute_counting(session: Session, statement: Any) -> int:
    """Execute an INSERT; return how many rows it inserted (psycopg reports no rowcount for INSERT)."""
    if session.get_bind().dialect.name == "postgresql":
        inserted = statement.returning(REMINDER.c.id).cte("inserted")
        return int(session.execute(sa.select(sa.func.count()).select_from(inserted)).scalar_one())
    return max(session.execute(statement).rowcount, 0)


def status_counts(session: Session, *, statuses: sa.Table, day: date, clinic: str | None) -> dict[str, int]:
    """Open tasks by status and escalation (from the status step), and active alerts."""
    s = statuses.c
    row = session.execute(sa.select(
        sa.func.count().label("open"),
        sa.func.coalesce(sa.func.sum(sa.case((s.stage != Stage.DUE.value, 1), else_=0)), 0).label("overdue"),
        sa.func.coalesce(sa.func.sum(sa.case((s.stage.in_([x.value for x in ESCALATED]), 1), else_=0)), 0)
        .label("escalated"),
    )).one()
    alerts = session.execute(_scoped(
        sa.select(sa.func.count()).where(ALERT.c.active == sa.true(), ALERT.c.since <= _day(day)),
        ALERT.c.patient_id, clinic,
    )).scalar_one()
    return {"due": int(row.open) - int(row.overdue), "overdue": int(row.overdue), "escalated": int(row.escalated),
            "alerts": int(alerts)}


WORKLIST_COLUMNS = ("mrn", "name", "clinic", "task_id", "kind", "rule", "status", "stage", "severity", "alert_code",
                    "earliest", "target", "latest", "acknowledged", "new", "detail", "phone")


def worklist_rows(
    session: Session, *, day: date, escalation: Escalation, clinic: str | None, run_id: int | None = None,
) -> list[tuple]:
    """Every open item of the date, one tuple per item in WORKLIST_COLUMNS order (one UNION ALL statement).

    Open tasks (acknowledged ones too) and active alerts; dates as ISO text. `new` says whether run
    `run_id` created the item's reminder. Alerts have kind "alert", status "active" and
    earliest = target = since.
    """
    made = REMINDER.c.run_id == sa.literal(run_id if run_id is not None else -1, sa.Integer())

    def flag(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.case((condition, 1), else_=0)

    def iso(column: sa.ColumnElement) -> sa.ColumnElement[str]:  # 'YYYY-MM-DD' on both backends
        return sa.cast(column, sa.String())

    tasks = (
        sa.select(
            PATIENT.c.mrn, PATIENT.c.name, PATIENT.c.clinic, TASK.c.id, TASK.c.kind, TASK.c.rule,
            sa.case((TASK.c.latest >= _day(day), "due"), else_="overdue"), stage := stage_expression(day, escalation),
            severity_of_stage(stage), sa.cast(sa.null(), sa.String()), iso(TASK.c.earliest),
            iso(TASK.c.target), iso(TASK.c.latest), flag(TASK.c.acked_at.is_not(None)),
            flag(TASK.c.id.in_(sa.select(REMINDER.c.task_id).where(made, REMINDER.c.task_id.is_not(None)))),
            TASK.c.reason, PATIENT.c.phone,
        )
        .select_from(TASK.join(PATIENT, PATIENT.c.id == TASK.c.patient_id))
        .where(open_task_condition(day))
    )
    alerts = (
        sa.select(
            PATIENT.c.mrn, PATIENT.c.name, PATIENT.c.clinic, sa.cast(sa.null(), sa.Integer()), sa.literal("alert"),
            sa.cast(sa.null(), sa.String()), sa.literal("active"), sa.literal(ALERT_STAGE), ALERT.c.severity,
            ALERT.c.code, iso(ALERT.c.since), iso(ALERT.c.since), sa.cast(sa.null(), sa.String()), sa.literal(0),
            flag(ALERT.c.id.in_(sa.select(REMINDER.c.alert_id).where(made, REMINDER.c.alert_id.is_not(None)))),
            ALERT.c.message, PATIENT.c.phone,
        )
        .select_from(ALERT.join(PATIENT, PATIENT.c.id == ALERT.c.patient_id))
        .where(ALERT.c.active == sa.true(), ALERT.c.since <= _day(day))
    )
    if clinic not in (None, ALL_CLINICS):
        tasks = tasks.where(PATIENT.c.clinic == clinic)
        alerts = alerts.where(PATIENT.c.clinic == clinic)
    return [tuple(row) for row in session.execute(sa.union_all(tasks, alerts))]
