"""`bonemon remind`: the daily run of a business date (the same ledger as the scheduler), then its worklist."""

from __future__ import annotations

import click

from monitor.cli.options import as_date

FORMATS = ("table", "csv", "json", "html")
TERMINAL_ROWS = 500


@click.command()
@click.option("--as-of", metavar="D", help="Business date (default: today in the clinic's zone).")
@click.option("--clinic", metavar="TEXT", help="Only this clinic (default: every clinic).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table: the terminal; csv: Excel (UTF-8 with BOM); json: the shape in docs/cli.md; html: one page.")
@click.option("--out", metavar="PATH", help="Write the worklist to this file instead of the terminal.")
@click.pass_obj
def remind(state, as_of, clinic, fmt, out) -> None:
    """Run the daily job for a date (once per date: a second run creates nothing) and show its worklist."""
    from pathlib import Path

    import sqlalchemy as sa

    from db.models import PatientRow
    from db.reminders import ALL_CLINICS, WORKLIST_COLUMNS, worklist_rows
    from monitor.app.daily import escalation, run_daily
    from monitor.core.errors import DataError
    from reports import worklist

    ctx = state.context()
    day = as_date(as_of, "as-of") or ctx.today
    if day > ctx.today:
        raise DataError("as-of", day, f"a date on or before today ({ctx.today}); a future date cannot run yet")
    scope = clinic.strip() if clinic and clinic.strip() else ALL_CLINICS
    target = Path(out) if out else None
    if target is not None and not target.parent.is_dir():
        raise DataError("out", out, "a file in an existing folder")
    state.require_schema()
    if scope != ALL_CLINICS:
        with state.read() as session:
            clinics = sorted(session.execute(sa.select(PatientRow.__table__.c.clinic).distinct()).scalars())
        if scope not in clinics:
            raise DataError("clinic", scope, "one of: " + (", ".join(clinics) or "(no patients yet)"))

    result = run_daily(state.engine, ctx, clinic=scope, day=day, trigger="remind", runner=_runner())
    with state.read() as session:
        rows = worklist_rows(session, day=day, escalation=escalation(ctx.settings), clinic=scope,
                             run_id=result.run_id)
    frame = worklist.build_frame(rows, as_of=day, columns=WORKLIST_COLUMNS)
    del rows  # the frame holds the worklist now
    where = "all clinics" if scope == ALL_CLINICS else f"clinic {scope}"
    title = (f"Worklist {where}, {day}: {len(frame)} open item(s); run #{result.run_id} "
             + (f"created {result.created} new reminder(s)" if not result.already_done
                else f"already done ({result.outcome}), nothing new"))
    for mrn, error in result.problems:
        click.echo(f"Warning: patient {mrn} could not be replanned on {day}: {error}", err=True)

    meta = {"as_of": day, "run_id": result.run_id, "created": result.created}
    if fmt == "json":
        text = worklist.render_json(frame, **meta, clinic=None if scope == ALL_CLINICS else scope)
    elif fmt == "csv":
        text = worklist.render_csv(frame)
    elif fmt == "html":
        text = worklist.render_html(frame, **meta, clinic=where, generated=f"{ctx.now:%Y-%m-%d %H:%M} UTC")
    elif target is not None:
        text = worklist.render_text(frame, title=title)
    else:
        _print_table(frame, title)
        return
    if target is None:
        click.echo(text, nl=False)
        return
    with target.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    click.echo(f"{title}. Wrote {target}.")


def _print_table(frame, title: str) -> None:
    import sys

    from rich.console import Console

    from reports.worklist import render_text, rich_table

    if not sys.stdout.isatty():
        click.echo(render_text(frame, title=title), nl=False)
        return
    console = Console()
    console.print(rich_table(frame, title=title, limit=TERMINAL_ROWS))
    if len(frame) > TERMINAL_ROWS:
        console.print(f"… and {len(frame) - TERMINAL_ROWS} more: use --format csv|html|json or --out PATH for all")


def _runner() -> str:
    import getpass
    import os
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"remind {user}@{socket.gethostname()}:{os.getpid()}"[:128]
