"""Rows of a stored plan written with raw SQL: patients, tasks and alerts exactly where a test needs them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

NOW = datetime(2025, 6, 2, 5, 30, tzinfo=UTC)  # 06:30 in London
FAR = date(9999, 12, 31)


def add_patient(engine, mrn: str, clinic: str = "main", valid_until: date = FAR) -> int:
    """A patient whose stored plan never expires: only the tasks a test adds are in it."""
    with engine.begin() as conn:
        pid = conn.execute(sa.text(
            "INSERT INTO patient (clinic, mrn, name, birth_date, sex, menopause, created_at, updated_at) "
            "VALUES (:c, :m, :n, :b, 'female', 'post', :t, :t) RETURNING id"),
            {"c": clinic, "m": mrn, "n": f"Name {mrn}", "b": date(1950, 1, 1), "t": NOW.replace(tzinfo=None)},
        ).scalar_one()
        conn.execute(sa.text(
            "INSERT INTO plan_state (patient_id, as_of, valid_until, tier, provisional, reasons, flags, ai_status, "
            "bma_indicated, in_pathway, planned_at) VALUES (:p, :a, :v, 'moderate', false, '', '', 'current', "
            "false, true, :t)"), {"p": pid, "a": date(2025, 1, 1), "v": valid_until, "t": NOW.replace(tzinfo=None)})
    return pid


def add_task(engine, pid: int, earliest: date, latest: date, *, rule: str = "D3", kind: str = "dxa",
             **columns) -> int:
    values = {"patient_id": pid, "kind": kind, "rule": rule, "anchor": earliest - timedelta(days=365),
              "earliest": earliest, "target": earliest + (latest - earliest) / 2, "latest": latest,
              "grace_days": 30, "reason": f"{rule} reason", "active": True,
              "created_at": NOW.replace(tzinfo=None), "updated_at": NOW.replace(tzinfo=None), **columns}
    names = ", ".join(values)
    marks = ", ".join(f":{k}" for k in values)
    with engine.begin() as conn:
        return conn.execute(sa.text(f"INSERT INTO task ({names}) VALUES ({marks}) RETURNING id"), values).scalar_one()


def add_alert(engine, pid: int, code: str = "ALERT-HYPOCA", severity: str = "block",
              since: date = date(2025, 5, 1)) -> int:
    with engine.begin() as conn:
        return conn.execute(sa.text(
            "INSERT INTO alert (patient_id, code, severity, since, message, active, created_at, updated_at) "
            "VALUES (:p, :c, :s, :d, 'check calcium', true, :t, :t) RETURNING id"),
            {"p": pid, "c": code, "s": severity, "d": since, "t": NOW.replace(tzinfo=None)}).scalar_one()


def as_day(value) -> date:
    """A date column read back with raw SQL (SQLite returns text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)
