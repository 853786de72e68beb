"""`bonemon audit log|verify`: the audit trail for auditors."""

from __future__ import annotations

import click

from monitor.cli.options import as_date, emit_json, json_option


@click.group()
def audit() -> None:
    """Read and verify the audit trail."""


@audit.command("log")
@click.option("--mrn", metavar="MRN", help="Only this patient.")
@click.option("--user", "who", metavar="NAME", help="Only changes by this user.")
@click.option("--from", "start", metavar="D", help="From this date (UTC).")
@click.option("--to", "end", metavar="D", help="Up to and including this date (UTC).")
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 1_000_000))
@json_option
@click.pass_obj
def log(state, mrn, who, start, end, limit, as_json) -> None:
    """Who changed what, when, with before and after."""
    import json

    from monitor.app.audit_trail import audit_entries

    with state.read() as session:
        rows = audit_entries(session, mrn=mrn, user=who, start=as_date(start, "from"), end=as_date(end, "to"),
                             limit=limit)
    if as_json:
        emit_json({"entries": rows})
        return
    if not rows:
        click.echo("No audit entries match.")
        return
    for r in rows:
        click.echo(f"#{r['id']} {r['at']} {r['user']} {r['action']} {r['entity']}"
                   f"{'#' + str(r['entity_id']) if r['entity_id'] else ''} {r['mrn'] or ''}".rstrip())
        if r["before"] is not None:
            click.echo(f"    before: {json.dumps(r['before'], ensure_ascii=False)}")
        if r["after"] is not None:
            click.echo(f"    after:  {json.dumps(r['after'], ensure_ascii=False)}")


@audit.command("verify")
@click.pass_obj
def verify(state) -> None:
    """Recompute the hash chain; exit 1 naming the first altered or missing row."""
    from db.audit import verify as verify_chain
    from monitor.core.errors import MonitorError

    with state.read() as session:
        result = verify_chain(session)
    if not result.ok:
        raise MonitorError(result.message)
    click.echo(result.message)
