"""What a CLI invocation knows: its settings, its database and who is acting. Built lazily."""

from __future__ import annotations

import getpass
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING

from monitor.core.errors import MonitorError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from monitor.app.context import Context
    from monitor.settings import Settings


@dataclass
class CliState:
    db_url: str | None = None
    config_path: str | None = None
    user: str | None = None
    _now: datetime | None = field(default=None, repr=False)

    @cached_property
    def settings(self) -> Settings:
        from monitor.settings import load_settings, resolve_config_path

        return load_settings(resolve_config_path(self.config_path))

    @property
    def url(self) -> str:
        return self.db_url or self.settings.database.url

    @cached_property
    def engine(self) -> Engine:
        from db.engine import make_engine

        return make_engine(self.url, busy_timeout_ms=self.settings.database.busy_timeout_ms)

    @property
    def acting_user(self) -> str:
        name = self.user or os.environ.get("BONEMON_USER")
        if not name:
            try:
                name = getpass.getuser()
            except (KeyError, OSError):
                name = "unknown"
        return name[:64]

    def now(self) -> datetime:
        """Read the clock once per command."""
        if self._now is None:
            from monitor.clock import utc_now

            self._now = utc_now()
        return self._now

    def context(self) -> Context:
        from monitor.app.context import Context

        return Context(settings=self.settings, user=self.acting_user, now=self.now())

    def require_schema(self) -> None:
        from pathlib import Path

        from db.migrate import HEAD_REVISION, current_revision

        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
                and not url.database.startswith("file:") and not Path(url.database).exists():
            raise MonitorError(f"there is no database at {url.database}; run `bonemon init` to create it")
        current = current_revision(self.engine)
        if current is None:
            raise MonitorError(f"the database {self.safe_url} is not initialised; run `bonemon init` first")
        head = HEAD_REVISION
        if current != head:
            raise MonitorError(f"the database is at schema {current}, this bonemon needs {head}; run `bonemon init`")

    @property
    def safe_url(self) -> str:
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.url).render_as_string(hide_password=True)
        except Exception:  # only for display
            return "(unreadable URL)"

    @contextmanager
    def write(self) -> Session:
        from db.engine import write_session

        self.require_schema()
        with write_session(self.engine) as session:
            yield session

    @contextmanager
    def read(self) -> Session:
        from db.engine import read_session

        self.require_schema()
        with read_session(self.engine) as session:
            yield session
