"""The audit trail: append-only rows, each hashed with the one before it (docs/architecture.md).

Every writing transaction appends through `AuditTrail`, which takes the single `audit_head` row
first (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), assigns ids
in order and chains the hashes. `verify` recomputes the chain and names the first row that breaks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import AuditHeadRow, AuditRow

GENESIS = "0" * 64
AUDIT = AuditRow.__table__
HEAD = AuditHeadRow.__table__


def canonical(row: dict[str, Any]) -> str:
    content = {k: row.get(k) for k in ("id", "user", "action", "entity", "entity_id", "patient_id", "mrn",
                                        "before", "after")}
    content["at"] = row["at"].isoformat()
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(row)).encode("utf-8")).hexdigest()


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


class AuditTrail:
    """Collects audit rows of one unit of work and writes them, chained, at `flush()`."""

    def __init__(self, session: Session, *, user: str, now: datetime):
        self.session = session
        self.user = user
        self.now = now
        self.pending: list[dict[str, Any]] = []

    def add(self, action: str, entity: str, *, entity_id: int | None = None, patient_id: int | None = None,
            mrn: str | None = None, before: Any = None, after: Any = None) -> None:
        self.pending.append({
            "at": self.now, "user": self.user, "action": action, "entity": entity, "entity_id": entity_id,
            "patient_id": patient_id, "mrn": mrn, "before": to_json(before), "after": to_json(after),
        })

    def flush(self) -> int:
        if not self.pending:
            return 0
        s = self.session
        dialect = s.get_bind().dialect.name
        # Make sure the head exists without racing a concurrent first writer, then lock it.
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        s.execute(insert(HEAD).values(id=1, last_id=0, last_hash=GENESIS).on_conflict_do_nothing())
        query = sa.select(HEAD.c.last_id, HEAD.c.last_hash).where(HEAD.c.id == 1)
        if dialect == "postgresql":
            query = query.with_for_update()
        last_id, last_hash = s.execute(query).one()
        rows = []
        for row in self.pending:
            last_id += 1
            row = {**row, "id": last_id, "prev_hash": last_hash}
            last_hash = chain_hash(last_hash, row)
            row["hash"] = last_hash
            rows.append(row)
        s.execute(AUDIT.insert(), rows)
        s.execute(HEAD.update().where(HEAD.c.id == 1).values(last_id=last_id, last_hash=last_hash))
        count = len(self.pending)
        self.pending = []
        return count


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    message: str


def verify(session: Session, *, chunk: int = 5000) -> Verification:
    prev = GENESIS
    expected_id = 1
    checked = 0
    last_id = 0
    while True:
        rows = session.execute(
            sa.select(AUDIT).where(AUDIT.c.id > last_id).order_by(AUDIT.c.id).limit(chunk)
        ).mappings().all()
        if not rows:
            break
        for row in rows:
            if row["id"] != expected_id:
                return Verification(False, checked, f"audit row {expected_id} is missing (next is {row['id']})")
            if row["prev_hash"] != prev or chain_hash(prev, dict(row)) != row["hash"]:
                return Verification(False, checked, f"audit row {row['id']} was altered: its hash does not match")
            prev = row["hash"]
            expected_id += 1
            checked += 1
            last_id = row["id"]
    head = session.execute(sa.select(HEAD.c.last_id, HEAD.c.last_hash).where(HEAD.c.id == 1)).first()
    head_id = head.last_id if head is not None else 0
    if head_id > checked:
        missing = f"{checked + 1}" if head_id == checked + 1 else f"{checked + 1}–{head_id}"
        return Verification(False, checked, f"audit row {missing} (the newest) was deleted")
    if head_id < checked:
        return Verification(False, checked, f"audit row {head_id + 1} was added outside bonemon (after the newest "
                                            f"recorded row {head_id})")
    if head is not None and head.last_hash != prev:
        return Verification(False, checked, f"audit row {checked} was altered: it is not the row bonemon wrote last")
    return Verification(True, checked, f"audit trail intact: {checked} rows, newest hash {prev[:12]}…")
