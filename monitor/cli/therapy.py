"""`bonemon therapy start|stop`: courses of an AI, tamoxifen, a BMA or raloxifene (not doses)."""

from __future__ import annotations

import click

from monitor.cli.options import as_date, as_float, as_int, clinic_option


@click.group()
def therapy() -> None:
    """Start, plan or stop a course. Doses and dispenses are `record dose`."""


@therapy.command("start")
@click.argument("mrn")
@click.option("--drug", required=True, metavar="DRUG")
@click.option("--date", "day", required=True, metavar="D", help="First dose; with --planned, the planned start.")
@click.option("--planned", is_flag=True, help="Record a plan; a later start without --planned begins the course.")
@click.option("--dose-mg", metavar="X", help="Strength: tells ZOL 5 mg yearly from 4 mg 6-monthly, Prolia from Xgeva.")
@click.option("--interval-months", metavar="N", help="Dosing interval in months, for IV and SC agents.")
@clinic_option
@click.pass_obj
def start(state, mrn, drug, day, planned, dose_mg, interval_months, clinic) -> None:
    """Start (or plan) a course."""
    from monitor.app import facts
    from monitor.core.vocab import parse_drug

    d = parse_drug(drug)
    with state.write() as session:
        message = facts.start_therapy(
            session, state.context(), mrn, d, as_date(day), planned=planned,
            dose_mg=as_float(dose_mg, "dose-mg"), interval_months=as_int(interval_months, "interval-months"),
            clinic=clinic,
        )
    click.echo(f"{mrn}: {message}.")


@therapy.command("stop")
@click.argument("mrn")
@click.option("--drug", required=True, metavar="DRUG")
@click.option("--date", "day", required=True, metavar="D", help="Date of the documented stop.")
@click.option("--reason", metavar="TEXT", help="e.g. 'completed 5 years', 'switch', 'holiday' (starts a BP holiday).")
@clinic_option
@click.pass_obj
def stop(state, mrn, drug, day, reason, clinic) -> None:
    """Document the stop of a course (or cancel a plan)."""
    from monitor.app import facts
    from monitor.core.vocab import parse_drug

    with state.write() as session:
        message = facts.stop_therapy(session, state.context(), mrn, parse_drug(drug), as_date(day),
                                       reason=reason, clinic=clinic)
    click.echo(f"{mrn}: {message}.")
