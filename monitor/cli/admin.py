"""`bonemon init` and `bonemon replan`."""

from __future__ import annotations

import click

from monitor.cli.options import as_date


@click.command()
@click.pass_obj
def init(state) -> None:
    """Create the database, or upgrade it to this version's schema."""
    from db.migrate import upgrade

    before, after = upgrade(state.engine)
    if before is None:
        click.echo(f"Created database {state.safe_url} (schema {after}).")
    elif before == after:
        click.echo(f"Database {state.safe_url} is up to date (schema {after}).")
    else:
        click.echo(f"Upgraded database {state.safe_url} from schema {before} to {after}.")


@click.command()
@click.option("--all", "all_", is_flag=True, help="Every patient (after a config change), not only expired plans.")
@click.option("--clinic", metavar="TEXT")
@click.option("--as-of", metavar="D")
@click.pass_obj
def replan(state, all_, clinic, as_of) -> None:
    """Recompute stored plans in batches: expired ones, or all with --all."""
    from monitor.app.replan import replan_cohort

    ctx = state.context()
    day = as_date(as_of, "as-of") or ctx.today
    with state.write() as session:
        summary = replan_cohort(session, ctx, as_of=day, clinic=clinic, only_expired=not all_)
    click.echo(f"Replanned {summary['patients']} patient(s) as of {day}: {summary['tasks_new']} new task(s), "
               f"{summary['tasks_changed']} changed, {summary['tasks_closed']} closed.")
