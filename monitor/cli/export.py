"""`bonemon export fhir|ics`: the record and plan as FHIR R4 Bundles; open tasks as an iCalendar file."""

from __future__ import annotations

import click

from monitor.cli.options import as_date

AS_OF_HELP = "Plan as of this date (default: today in the clinic's zone)."


@click.group()
def export() -> None:
    """Export patients as FHIR R4 Bundles, or open tasks as iCalendar to-dos."""


@export.command("fhir")
@click.argument("mrns", nargs=-1, metavar="[MRN...]")
@click.option("--out", metavar="PATH",
              help="FILE.json (one patient), FILE.ndjson (one Bundle per line) or an existing folder "
                   "(one MRN.json each). Default: standard output.")
@click.option("--clinic", metavar="TEXT", help="Only this clinic; with MRNs, the clinic they are in.")
@click.option("--as-of", metavar="D", help=AS_OF_HELP)
@click.pass_obj
def fhir(state, mrns, out, clinic, as_of) -> None:
    """One FHIR R4 transaction Bundle per patient (every patient without MRNs): Patient, Observations,
    Conditions, medications, CarePlan, ServiceRequests, Tasks and Flags."""
    from monitor.app.exports import export_fhir

    result = export_fhir(state, list(mrns), clinic=clinic, out=out, as_of=as_date(as_of, "as-of"),
                         emit=lambda text: click.echo(text, nl=False))
    if result.target.kind == "folder":
        click.echo(f"Exported {result.patients} patient(s) to {len(result.files)} file(s) in {result.target.path}.")
    elif result.target.kind != "stdout":
        click.echo(f"Exported {result.patients} patient(s) to {result.target.path}.")


@export.command("ics")
@click.option("--clinic", metavar="TEXT", help="Only this clinic (default: every clinic).")
@click.option("--out", metavar="FILE.ics", help="Write the calendar to this file (default: standard output).")
@click.option("--with-names", is_flag=True, help="Put the patient's name in each to-do (default: MRN only).")
@click.option("--as-of", metavar="D", help=AS_OF_HELP)
@click.pass_obj
def ics(state, clinic, out, with_names, as_of) -> None:
    """Open tasks (upcoming, due, overdue, snoozed) as iCalendar VTODOs with an alarm on the earliest day."""
    from monitor.app.exports import export_ics

    result = export_ics(state, clinic=clinic, out=out, as_of=as_date(as_of, "as-of"), with_names=with_names)
    if result.path is None:
        click.echo(result.data.decode("utf-8"), nl=False)
    else:
        click.echo(f"Exported {result.tasks} open task(s) of {result.patients} patient(s) to {result.path}.")
