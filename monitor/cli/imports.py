"""`bonemon import PATH...`: the documented CSV or FHIR R4 JSON (Bundle, resource, array, NDJSON).

All or nothing by default: every file is read and checked first; any problem → exit 1, nothing
written. `--skip-invalid` writes the valid records and a rejects file; `--dry-run` only reports.
"""

from __future__ import annotations

from pathlib import Path

import click

from monitor.cli.options import emit_json


@click.command("import")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option("--json", "as_json", is_flag=True, help="Print the import report as JSON.")
@click.option("--dry-run", is_flag=True, help="Read and check only; write nothing.")
@click.option("--skip-invalid", is_flag=True, help="Write the valid records; list the rest (CSV: a .rejects.csv).")
@click.option("--clinic", metavar="TEXT", help="Clinic for imported patients without one (default from config).")
@click.pass_obj
def import_(state, paths, as_json, dry_run, skip_invalid, clinic) -> None:
    """Import patients and facts from CSV or FHIR R4 files."""
    from monitor.core.errors import MonitorError
    from monitor.intake.pipeline import run_import

    result = run_import(state, [Path(p) for p in paths], dry_run=dry_run, skip_invalid=skip_invalid, clinic=clinic)
    if as_json:
        emit_json(result.as_json())
    else:
        click.echo(result.as_text())
    if result.failed:
        if as_json:
            raise SystemExit(1)
        raise MonitorError(result.failure_line())
