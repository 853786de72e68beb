"""Filtered reads of the audit trail."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import AuditRow

AUDIT = AuditRow.__table__


def audit_entries(session: Session, *, mrn: str | None = None, user: str | None = None, start: date | None = None,
                  end: date | None = None, limit: int = 200) -> list[dict[str, Any]]:
    query = sa.select(AUDIT).order_by(AUDIT.c.id.desc()).limit(limit)
    if mrn:
        query = query.where(AUDIT.c.mrn == mrn)
    if user:
        query = query.where(AUDIT.c.user == user)
    if start:
        query = query.where(AUDIT.c.at >= datetime.combine(start, time(), UTC))
    if end:
        query = query.where(AUDIT.c.at < datetime.combine(end + timedelta(days=1), time(), UTC))
    out = []
    for r in session.execute(query).mappings():
        out.append({
            "id": r["id"], "at": r["at"].isoformat(), "user": r["user"], "action": r["action"],
            "entity": r["entity"], "entity_id": r["entity_id"], "mrn": r["mrn"],
            "before": json.loads(r["before"]) if r["before"] else None,
            "after": json.loads(r["after"]) if r["after"] else None,
        })
    return out
