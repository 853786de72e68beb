"""All tables in one module (no circular imports). Enumerations are stored as their text values.

Facts are rows per patient; the stored plan is `task`, `alert` and `plan_state`; `audit` is the
append-only, hash-chained trail of every change.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from db.types import DecimalText, UTCDateTime


def _fk() -> int:
    return Field(foreign_key="patient.id", index=True, ondelete="CASCADE")


def _utc(nullable: bool = False, index: bool = False) -> dt.datetime:
    return Field(sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


class PatientRow(SQLModel, table=True):
    __tablename__ = "patient"
    __table_args__ = (sa.UniqueConstraint("clinic", "mrn", name="uq_patient_clinic_mrn"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic: str = Field(max_length=64, index=True)
    mrn: str = Field(max_length=64, index=True)
    name: str | None = Field(default=None, max_length=200)
    birth_date: dt.date
    sex: str = Field(max_length=16)
    menopause: str = Field(max_length=16)
    deceased_date: dt.date | None = None
    country: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=255)
    created_at: dt.datetime = _utc()
    updated_at: dt.datetime = _utc()


class CourseRow(SQLModel, table=True):
    __tablename__ = "course"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = _fk()
    drug: str = Field(max_length=32)
    start: dt.date | None = None
    planned_start: dt.date | None = None
    stop: dt.date | None = None
    stop_reason: str | None = Field(default=None, max_length=500)
    dose_mg: float | None = None
    interval_months: int | None = None
    source: str | None = Field(default=None, max_length=255)


class DoseRow(SQLModel, table=True):
    __tablename__ = "dose"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = _fk()
    drug: str = Field(max_length=32)
    date: dt.date
    dose_mg: float | None = None
    days_supply: int | None = None
    route: str | None = Field(default=None, max_length=8)
    source: str | None = Field(default=None, max_length=255)


class DxaRow(SQLModel, table=True):
    __tablename__ = "dxa"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = _fk()
    date: dt.date
    site: str = Field(max_length=32)
    side: str = Field(default="none", max_length=8)
    t_score: Decimal | None = Field(default=None, sa_column=sa.Column(DecimalText()))
    z_score: Decimal | None = Field(default=None, sa_column=sa.Column(DecimalText()))
    bmd: float | None = None
    scanner: str | None = Field(default=None, max_length=64)
    vertebrae: int | None = None
    valid: bool = True
    source: str | None = Field(default=None, max_length=255)


class MarkerRow(SQLModel, table=True):
    __tablename__ = "marker"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = _fk()
    date: dt.date
    analyte: str = Field(max_length=16)
    value: float
    unit: str = Field(max_length=32)
    value_reported: float | None = None
    unit_reported: str | None = Field(default=None, max_length=32)
    source: str | None = Field(default=None, max_length=255)


class FractureRow(SQLModel, table=True):
    __tablename__ = "fracture"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = _fk()
    date: dt.date
    site: str = Field(max_length=32)
    mechanism: str = Field(max_length=16)
    genant_grade: int | None = None
    source: str | None = Field(default=None, max_length=255)


class FraxRow(SQLModel, table=True):
    __tablename__ = "frax"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = _fk()
    date: dt.date
    hip: float | None = None
    mof: float | None = None
    with_bmd: bool | None = None
    model: str | None = Field(default=None, max_length=64)
    source: str | None = Field(default=None, max_length=255)


class LabRow(SQLModel, table=True):
    __tablename__ = "lab"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = _fk()
    date: dt.date
    analyte: str = Field(max_length=24)
    value: float
    unit: str = Field(max_length=32)
    value_reported: float | None = None
    unit_reported: str | None = Field(default=None, max_length=32)
    source: str | None = Field(default=None, max_length=255)


class VitalsRow(SQLModel, table=True):
    __tablename__ = "vitals"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = _fk()
    date: dt.date
    weight_kg: float | None = None
    height_cm: float | None = None
    bmi: float | None = None
    waist_cm: float | None = None
    source: str | None = Field(default=None, max_length=255)


class NoteRow(SQLModel, table=True):
    __tablename__ = "note"

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = _fk()
    date: dt.date | None = None
    kind: str = Field(max_length=32)
    text: str | None = Field(default=None, max_length=2000)
    source: str | None = Field(default=None, max_length=255)


class TaskRow(SQLModel, table=True):
    """One due window of the stored plan. Identity across replans: (patient, rule, anchor)."""

    __tablename__ = "task"
    __table_args__ = (
        sa.UniqueConstraint("patient_id", "rule", "anchor", name="uq_task_identity"),
        sa.Index("ix_task_active_latest", "active", "latest"),
        sa.Index("ix_task_active_earliest", "active", "earliest"),
    )

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = _fk()
    kind: str = Field(max_length=32)
    rule: str = Field(max_length=16)
    anchor: dt.date
    earliest: dt.date
    target: dt.date
    latest: dt.date
    grace_days: int = 0
    reason: str = Field(default="", max_length=500)
    done_on: dt.date | None = None
    # Staff actions (the rows of task_action are the history; these are the current values).
    manual_done_on: dt.date | None = None
    snoozed_until: dt.date | None = None
    acked_at: dt.datetime | None = _utc(nullable=True)
    active: bool = True
    created_at: dt.datetime = _utc()
    updated_at: dt.datetime = _utc()


class TaskActionRow(SQLModel, table=True):
    __tablename__ = "task_action"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True, ondelete="CASCADE")
    action: str = Field(max_length=16)
    at: dt.datetime = _utc()
    user: str = Field(max_length=64)
    until: dt.date | None = None
    reason: str | None = Field(default=None, max_length=500)


class AlertRow(SQLModel, table=True):
    __tablename__ = "alert"
    __table_args__ = (sa.UniqueConstraint("patient_id", "code", "since", name="uq_alert_identity"),)

    id: int | None = Field(default=None, primary_key=True)
    patient_id: int = _fk()
    code: str = Field(max_length=48)
    severity: str = Field(max_length=16)
    since: dt.date
    message: str = Field(default="", max_length=1000)
    active: bool = Field(default=True, index=True)
    created_at: dt.datetime = _utc()
    updated_at: dt.datetime = _utc()


class PlanStateRow(SQLModel, table=True):
    """The assessment and validity of each patient's stored plan."""

    __tablename__ = "plan_state"

    patient_id: int = Field(primary_key=True, foreign_key="patient.id", ondelete="CASCADE")
    as_of: dt.date
    valid_until: dt.date = Field(index=True)
    tier: str = Field(max_length=16, index=True)
    provisional: bool = False
    reasons: str = Field(default="", max_length=200)
    flags: str = Field(default="", max_length=1000)
    ai_status: str = Field(max_length=16)
    bma_indicated: bool = False
    in_pathway: bool = True
    planned_at: dt.datetime = _utc()


class AuditRow(SQLModel, table=True):
    """Append-only. `hash` = sha256(prev_hash + canonical content); `bonemon audit verify` recomputes it."""

    __tablename__ = "audit"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = _utc(index=True)
    user: str = Field(max_length=64, index=True)
    action: str = Field(max_length=48)
    entity: str = Field(max_length=32)
    entity_id: int | None = None
    patient_id: int | None = Field(default=None, index=True)
    mrn: str | None = Field(default=None, max_length=64)
    before: str | None = None
    after: str | None = None
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHeadRow(SQLModel, table=True):
    """One row: the newest audit hash. Updating it in every writing transaction serialises the chain."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    last_id: int = 0
    last_hash: str = Field(max_length=64)


# --------------------------------------------------------------------------- the daily run (docs/architecture.md)


class DailyRunRow(SQLModel, table=True):
    """The run ledger: one row per clinic scope and business date. `clinic` "*" means every clinic.

    A run first commits its row as `running`, then does all its writes and sets `ok` (or `partial`
    when some patients could not be replanned: `problems`) in one transaction. A row still `running`
    (or `failed`) is a run that did not finish; the next run of that date completes it.
    """

    __tablename__ = "daily_run"
    __table_args__ = (sa.UniqueConstraint("clinic", "business_date", name="uq_daily_run_clinic_date"),)

    id: int | None = Field(default=None, primary_key=True)
    clinic: str = Field(max_length=64)
    business_date: dt.date = Field(index=True)
    started: dt.datetime = _utc()
    finished: dt.datetime | None = _utc(nullable=True)
    outcome: str = Field(max_length=16)
    trigger: str = Field(max_length=16)
    runner: str = Field(default="", max_length=128)
    attempts: int = 1
    replanned: int = 0
    replan_failed: int = 0
    due: int = 0
    overdue: int = 0
    escalated: int = 0
    alerts: int = 0
    created: int = 0
    problems: str | None = None


class ReminderRow(SQLModel, table=True):
    """A reminder: the first time a task reached a stage, or an alert a severity (recorded, not sent).

    Natural keys: (task_id, stage) with stage due | overdue | overdue-high | overdue-critical, and
    (alert_id, severity); inserting one twice is a no-op, so a second run of a date creates nothing.
    """

    __tablename__ = "reminder"
    __table_args__ = (
        sa.UniqueConstraint("task_id", "stage", name="uq_reminder_task_stage"),
        sa.UniqueConstraint("alert_id", "severity", name="uq_reminder_alert_severity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="daily_run.id", index=True)
    business_date: dt.date = Field(index=True)
    patient_id: int = _fk()
    task_id: int | None = Field(default=None, foreign_key="task.id", ondelete="CASCADE")
    alert_id: int | None = Field(default=None, foreign_key="alert.id", ondelete="CASCADE")
    stage: str = Field(max_length=24)
    severity: str = Field(max_length=16)
    created_at: dt.datetime = _utc()


class SchedulerLeaseRow(SQLModel, table=True):
    """Who drives the scheduler of this database; a holder renews it, a standby takes it once expired."""

    __tablename__ = "scheduler_lease"

    name: str = Field(primary_key=True, max_length=32)
    holder: str | None = Field(default=None, max_length=128)
    acquired_at: dt.datetime | None = _utc(nullable=True)
    expires_at: dt.datetime | None = _utc(nullable=True)


class SchedulerJobRow(SQLModel, table=True):
    """APScheduler 3's SQLAlchemyJobStore table (its exact columns), created by our migrations."""

    __tablename__ = "apscheduler_jobs"

    id: str = Field(sa_column=sa.Column(sa.Unicode(191), primary_key=True))
    next_run_time: float | None = Field(default=None, sa_column=sa.Column(sa.Float(25), index=True))
    job_state: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
