"""The `bonemon` command: global options, lazy subcommands and the one error boundary.

Subcommand modules are imported only when used, and import SQLAlchemy, pandas, matplotlib,
fhir.resources or APScheduler inside their functions, so `bonemon --help` starts fast. Every
MonitorError becomes one line `Error: ...` on stderr and exit 1; click's usage errors exit 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

import click

from monitor.core.errors import MonitorError

SUBCOMMANDS = {
    "init": ("monitor.cli.admin", "init"),
    "demo": ("monitor.cli.demo", "demo"),
    "patient": ("monitor.cli.patient", "patient"),
    "therapy": ("monitor.cli.therapy", "therapy"),
    "record": ("monitor.cli.record", "record"),
    "import": ("monitor.cli.imports", "import_"),
    "replan": ("monitor.cli.admin", "replan"),
    "task": ("monitor.cli.task", "task"),
    "remind": ("monitor.cli.remind", "remind"),
    "scheduler": ("monitor.cli.scheduler", "scheduler"),
    "report": ("monitor.cli.report", "report"),
    "export": ("monitor.cli.export", "export"),
    "audit": ("monitor.cli.audit", "audit"),
}


def translate(exc: BaseException) -> str | None:
    """A one-line message for failures the user can act on; None for programming errors."""
    if isinstance(exc, MonitorError):
        return str(exc)
    module = type(exc).__module__
    text = str(exc).lower()
    if module.startswith(("sqlalchemy", "sqlite3", "psycopg")):
        if "uq_patient_clinic_mrn" in text or ("unique" in text and "patient" in text and "mrn" in text):
            return "mrn: this MRN was just added in this clinic by another user; nothing was written"
        if "unique" in text or "duplicate key" in text:
            return "a concurrent change touched the same record; nothing was written, try again"
        if "database is locked" in text or "database table is locked" in text:
            return "the database is locked by another bonemon process; nothing was written, try again"
        if "no such table" in text or ("relation" in text and "does not exist" in text):
            return "the database is not initialised; run `bonemon init` first"
        if "unable to open database" in text:
            return "cannot open the database file; check the path in --db / BONEMON_DB / config.toml"
        if "connection" in text and ("refused" in text or "failed" in text):
            return "cannot connect to the database server; is PostgreSQL running?"
        if "readonly" in text or "read-only" in text:
            return "the database is read-only; nothing was written"
        if "disk" in text and ("full" in text or "i/o" in text):
            return "the disk is full or failing; nothing was written"
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"database error: {first[:300]}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}: {exc.filename}" if getattr(exc, "filename", None) else str(exc)
    return None


class LazyGroup(click.Group):
    """Root group: loads subcommand modules on demand and maps domain errors to exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in SUBCOMMANDS.items() if importlib.util.find_spec(module) is not None]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in SUBCOMMANDS or importlib.util.find_spec(SUBCOMMANDS[name][0]) is None:
            return None
        module, attr = SUBCOMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:  # the one boundary: domain and storage errors become one line
            message = translate(exc)
            if message is None or os.environ.get("BONEMON_DEBUG"):
                if message is None:
                    message = f"unexpected {type(exc).__name__}: {exc} (run with BONEMON_DEBUG=1 for details)"
                if os.environ.get("BONEMON_DEBUG"):
                    raise
            raise click.ClickException(message.replace("\n", " ")) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--db", "db_url", envvar="BONEMON_DB", metavar="URL",
              help="Database URL (default from config.toml: sqlite:///bonemon.db). Env: BONEMON_DB.")
@click.option("--config", "config_path", metavar="PATH", help="Site config.toml (env: BONEMON_CONFIG).")
@click.option("--user", metavar="NAME", help="Who is acting, for the audit trail (default: the OS user).")
@click.version_option(package_name="bonemon", message="bonemon %(version)s")
@click.pass_context
def main(ctx: click.Context, db_url: str | None, config_path: str | None, user: str | None) -> None:
    """bonemon: bone-health monitoring for women with breast cancer on aromatase inhibitors.

    Tiers and due dates follow docs/rules.md; every change is audited. Dates are YYYY-MM-DD.
    """
    from monitor.cli.state import CliState

    ctx.obj = CliState(db_url=db_url, config_path=config_path, user=user)


def run() -> None:  # pragma: no cover - console entry point
    main(prog_name="bonemon")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
