"""One scheduler per database: a lease row claimed with a conditional UPDATE, renewed while held."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from db.engine import write_session
from db.models import SchedulerLeaseRow
from db.types import UTCDateTime
from monitor.clock import utc_now

LEASE = SchedulerLeaseRow.__table__
LEASE_NAME = "scheduler"
log = logging.getLogger("bonemon.scheduler")


def holder_id() -> str:
    """This process as a lease holder: host, pid and a random part (a restarted pid is another holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:128]


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


@dataclass
class Lease:
    """One scheduler per database: claim with a conditional UPDATE, renew while holding, release on stop."""

    engine: Engine
    holder: str
    seconds: int
    name: str = LEASE_NAME

    def acquire(self, now: datetime) -> bool:
        expires = now + timedelta(seconds=self.seconds)
        with write_session(self.engine) as session:
            session.execute(_insert(session)(LEASE).values(name=self.name).on_conflict_do_nothing())
            claimed = session.execute(
                LEASE.update()
                .where(LEASE.c.name == self.name,
                       sa.or_(LEASE.c.holder.is_(None), LEASE.c.holder == self.holder,
                              LEASE.c.expires_at.is_(None), LEASE.c.expires_at <= sa.literal(now, UTCDateTime())))
                .values(holder=self.holder, expires_at=expires,
                        acquired_at=sa.case((LEASE.c.holder == self.holder, LEASE.c.acquired_at),
                                            else_=sa.literal(now, UTCDateTime())))
            ).rowcount
        return claimed == 1

    def renew(self, now: datetime | Callable[[], datetime]) -> bool:
        """Extend the lease from `now`; given the clock itself, read it once the write lock is held, so a
        renewal that queued behind a long write (SQLite) still extends the lease by its full length."""
        with write_session(self.engine) as session:
            if callable(now):
                session.connection()  # begins the transaction: on SQLite this waits for the write lock
                now = now()
            renewed = session.execute(
                LEASE.update().where(LEASE.c.name == self.name, LEASE.c.holder == self.holder)
                .values(expires_at=now + timedelta(seconds=self.seconds))
            ).rowcount
        return renewed == 1

    def release(self, now: datetime) -> None:
        with write_session(self.engine) as session:
            session.execute(LEASE.update().where(LEASE.c.name == self.name, LEASE.c.holder == self.holder)
                            .values(holder=None, expires_at=now))


def lease_state(session: Session, name: str = LEASE_NAME) -> tuple[str | None, datetime | None]:
    row = session.execute(sa.select(LEASE.c.holder, LEASE.c.expires_at).where(LEASE.c.name == name)).first()
    return (row.holder, row.expires_at) if row is not None else (None, None)


class LeaseKeeper:
    """Renews the lease in a background thread; calls `on_lost` once another instance took it."""

    def __init__(self, lease: Lease, on_lost: Any) -> None:
        self.lease, self.on_lost = lease, on_lost
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bonemon-lease", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        interval = max(0.5, self.lease.seconds / 3)
        while not self._stop.wait(interval):
            try:
                held = self.lease.renew(utc_now)
            except Exception as exc:  # e.g. a long write lock: try again next time
                log.warning("could not renew the lease (%s); retrying", str(exc).splitlines()[0][:200])
                continue
            if not held:
                log.error("lease lost to another scheduler; this one goes back to standby")
                self.lost.set()
                self.on_lost()
                return
