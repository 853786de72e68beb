"""`bonemon scheduler status`: the next run, the lease holder and the last runs (its document: docs/cli.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from monitor.scheduler.business_dates import RUN
from monitor.scheduler.lease import lease_state
from monitor.scheduler.process import JOB_ID, JOBS
from monitor.settings import Settings


def next_run(session: Session) -> datetime | None:
    """The stored daily job's next fire time (None before any scheduler registered it)."""
    stamp = session.execute(sa.select(JOBS.c.next_run_time).where(JOBS.c.id == JOB_ID)).scalar()
    return datetime.fromtimestamp(stamp, UTC) if stamp is not None else None


def status_document(session: Session, settings: Settings, *, limit: int = 50) -> dict[str, Any]:
    """The `scheduler status --json` document of docs/cli.md."""
    holder, expires = lease_state(session)
    planned = next_run(session)
    runs = session.execute(
        sa.select(RUN).order_by(RUN.c.business_date.desc(), RUN.c.id.desc()).limit(limit)
    ).all()

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "timezone": settings.clinic.timezone,
        "daily_at": settings.scheduler.daily_at,
        "next_run": iso(planned),
        "lease_holder": holder,
        "lease_expires": iso(expires),
        "runs": [
            {"clinic": r.clinic, "business_date": r.business_date.isoformat(), "started": iso(r.started),
             "finished": iso(r.finished), "outcome": r.outcome, "created": r.created, "id": r.id,
             "trigger": r.trigger, "attempts": r.attempts, "replanned": r.replanned,
             "replan_failed": r.replan_failed, "due": r.due, "overdue": r.overdue, "escalated": r.escalated,
             "alerts": r.alerts, "problems": json.loads(r.problems) if r.problems else []}
            for r in runs
        ],
    }
