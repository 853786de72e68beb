"""The daily run of one clinic scope and business date (docs/architecture.md): the use case behind both
`bonemon remind` and the scheduler.

A run (1) claims its ledger row, committed as `running`; then, in ONE transaction, (2) replans the
patients whose plan expired (valid_until ≤ date), batch by batch, each batch in a savepoint: a
batch that raises is retried patient by patient and a patient that still fails is skipped, her MRN
and the error written to the ledger; (3) derives the status of every open task in one statement
(db.reminders.derive_statuses); (4) records reminders for every due or overdue task and every
active alert (one INSERT … SELECT each, ON CONFLICT DO NOTHING on the natural key); (5) counts the
open items and marks the ledger row `ok` (or `partial`). A process killed during (2)–(5) leaves only
the `running` row; the next run of that date completes it. A date whose row is `ok` or `partial`
never runs again: a second run returns the stored row and creates nothing.

Receives `ctx.now` (and optionally a `clock` for the started/finished timestamps); never reads the
wall clock itself.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from db.engine import write_session
from db.models import DailyRunRow, PatientRow
from db.queries import batched
from db.reminders import ALL_CLINICS, derive_statuses, drop_statuses, insert_reminders, status_counts
from monitor.app.context import Context
from monitor.app.replan import expired_patient_ids, replan
from monitor.core.status import Escalation
from monitor.settings import Settings

RUN = DailyRunRow.__table__
PATIENT = PatientRow.__table__
INCOMPLETE = ("running", "failed")
log = logging.getLogger("bonemon.daily")


@dataclass(frozen=True)
class RunResult:
    run_id: int
    clinic: str
    business_date: date
    outcome: str
    created: int  # reminders created by this call; 0 when the date had already run
    already_done: bool
    replanned: int
    replan_failed: int
    due: int
    overdue: int
    escalated: int
    alerts: int
    attempts: int
    problems: tuple[tuple[str, str], ...] = ()


def escalation(settings: Settings) -> Escalation:
    r = settings.reminders
    return Escalation(r.escalate_high_after_days, r.escalate_critical_after_days)


def scope_of(clinic: str | None) -> str:
    return clinic if clinic else ALL_CLINICS


def _clinic_filter(scope: str) -> str | None:
    return None if scope == ALL_CLINICS else scope


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


# --------------------------------------------------------------------------- step 1: claim


def claim_run(
    session: Session, *, clinic: str, day: date, now: datetime, trigger: str, runner: str = ""
) -> int:
    """The ledger row of (clinic, day) exists after this; an unfinished one is claimed again. Returns its id."""
    inserted = session.execute(
        _insert(session)(RUN).values(
            clinic=clinic, business_date=day, started=now, outcome="running", trigger=trigger, runner=runner,
            attempts=1,
        ).on_conflict_do_nothing().returning(RUN.c.id)
    ).scalar()
    run_id = session.execute(
        sa.select(RUN.c.id).where(RUN.c.clinic == clinic, RUN.c.business_date == day)
    ).scalar_one()
    if inserted is None:  # an earlier attempt did not finish (killed, or failed): this one takes it over
        session.execute(
            RUN.update().where(RUN.c.id == run_id, RUN.c.outcome.in_(INCOMPLETE))
            .values(attempts=RUN.c.attempts + 1, started=now, trigger=trigger, runner=runner)
        )
    return run_id


# --------------------------------------------------------------------------- step 2: the work


def replan_expired(
    session: Session, ctx: Context, *, day: date, clinic: str | None
) -> tuple[int, list[tuple[str, str]]]:
    """Replan every expired plan of the scope; one bad patient is skipped, never the whole run."""
    ids = expired_patient_ids(session, as_of=day, clinic=clinic)
    replanned, failed = 0, []
    for chunk in batched(ids, ctx.settings.scheduler.batch_size):
        try:
            with session.begin_nested():
                replan(session, ctx, chunk, as_of=day)
            replanned += len(chunk)
            continue
        except Exception:  # isolate the bad patient below
            log.warning("daily run %s: a batch of %d patients failed; retrying one by one", day, len(chunk))
        for pid in chunk:
            try:
                with session.begin_nested():
                    replan(session, ctx, [pid], as_of=day)
                replanned += 1
            except Exception as exc:  # one bad record never stops the run
                failed.append((pid, _one_line(exc)))
    problems = []
    if failed:
        mrns = dict(session.execute(
            sa.select(PATIENT.c.id, PATIENT.c.mrn).where(PATIENT.c.id.in_([pid for pid, _ in failed]))
        ).all())
        for pid, error in failed:
            mrn = mrns.get(pid, f"#{pid}")
            log.error("daily run %s: patient %s skipped: %s", day, mrn, error)
            problems.append((mrn, error))
    return replanned, problems


def complete_run(
    session: Session, ctx: Context, *, run_id: int, clock: Callable[[], datetime] | None = None
) -> RunResult:
    """Do the run's work and finish its ledger row, all in the caller's one transaction."""
    clock = clock or (lambda: ctx.now)
    row = session.execute(sa.select(RUN).where(RUN.c.id == run_id).with_for_update()).one()
    if row.outcome not in INCOMPLETE:
        return _result(row, created=0, already_done=True)
    day, clinic = row.business_date, _clinic_filter(row.clinic)
    replanned, problems = replan_expired(session, ctx, day=day, clinic=clinic)
    statuses = derive_statuses(session, day=day, escalation=escalation(ctx.settings), clinic=clinic)
    made_tasks, made_alerts = insert_reminders(session, statuses=statuses, run_id=run_id, day=day, now=clock(),
                                               clinic=clinic)
    counts = status_counts(session, statuses=statuses, day=day, clinic=clinic)
    drop_statuses(session, statuses)
    values = {
        "finished": clock(), "outcome": "partial" if problems else "ok", "replanned": replanned,
        "replan_failed": len(problems), "created": made_tasks + made_alerts, **counts,
        "problems": json.dumps([{"mrn": m, "error": e} for m, e in problems], ensure_ascii=False) if problems else None,
    }
    session.execute(RUN.update().where(RUN.c.id == run_id).values(**values))
    row = session.execute(sa.select(RUN).where(RUN.c.id == run_id)).one()
    return _result(row, created=made_tasks + made_alerts, already_done=False)


def _one_line(exc: BaseException) -> str:
    """The error's first line (SQLAlchemy appends the SQL and its parameters on later lines)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


def _result(row: Any, *, created: int, already_done: bool) -> RunResult:
    problems = tuple((p["mrn"], p["error"]) for p in json.loads(row.problems)) if row.problems else ()
    return RunResult(
        run_id=row.id, clinic=row.clinic, business_date=row.business_date, outcome=row.outcome, created=created,
        already_done=already_done, replanned=row.replanned, replan_failed=row.replan_failed, due=row.due,
        overdue=row.overdue, escalated=row.escalated, alerts=row.alerts, attempts=row.attempts, problems=problems,
    )


def _mark_failed(engine: Engine, run_id: int, now: datetime, exc: BaseException) -> None:
    """Best effort: an unfinished run says why (it stays incomplete, so the next run retries it)."""
    error = json.dumps([{"mrn": None, "error": _one_line(exc)}])
    try:
        with write_session(engine) as session:
            session.execute(RUN.update().where(RUN.c.id == run_id, RUN.c.outcome.in_(INCOMPLETE))
                            .values(outcome="failed", finished=now, problems=error))
    except Exception:  # the original error is what matters
        log.exception("daily run %s: could not record the failure", run_id)


# --------------------------------------------------------------------------- the use case


def run_daily(
    engine: Engine, ctx: Context, *, clinic: str | None, day: date, trigger: str, runner: str = "",
    clock: Callable[[], datetime] | None = None,
) -> RunResult:
    """The daily run of (clinic, day): claim (own transaction), then the work (one transaction)."""
    clock = clock or (lambda: ctx.now)
    scope = scope_of(clinic)
    with write_session(engine) as session:
        run_id = claim_run(session, clinic=scope, day=day, now=clock(), trigger=trigger, runner=runner)
    try:
        with write_session(engine) as session:
            result = complete_run(session, ctx, run_id=run_id, clock=clock)
    except Exception as exc:
        _mark_failed(engine, run_id, clock(), exc)
        raise
    if not result.already_done:
        log.info("daily run %s %s: %s, %d replanned, %d reminders created, %d due, %d overdue, %d alerts",
                 scope, day, result.outcome, result.replanned, result.created, result.due, result.overdue,
                 result.alerts)
    return result
