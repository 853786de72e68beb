"""`bonemon scheduler start|status`: the persistent daily scheduler (docs/cli.md)."""

from __future__ import annotations

import click

from monitor.cli.options import emit_json, json_option


@click.group()
def scheduler() -> None:
    """Run the daily job every morning (APScheduler), or show what it did."""


@scheduler.command("start")
@click.pass_obj
def start(state) -> None:
    """Run in the foreground: catch up missed dates, then the daily run at [scheduler] daily_at.

    One scheduler drives a database: a second one waits as a standby and takes over when the first
    stops renewing its lease. SIGTERM or Ctrl-C stop it between runs.
    """
    import logging

    from monitor.scheduler.process import SchedulerProcess

    state.require_schema()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    SchedulerProcess(state.url, state.settings).serve()


@scheduler.command("status")
@json_option
@click.pass_obj
def status(state, as_json) -> None:
    """Next run, the lease holder and the last runs (newest first, at most 50)."""
    from monitor.scheduler.status import status_document

    state.require_schema()
    with state.read() as session:
        doc = status_document(session, state.settings)
    if as_json:
        emit_json(doc)
        return
    click.echo(render_status(doc, now=state.now()))


def render_status(doc: dict, *, now) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(doc["timezone"])

    def local(stamp: str | None) -> str:
        if stamp is None:
            return "-"
        return datetime.fromisoformat(stamp).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")

    lines = [f"Daily run at {doc['daily_at']} {doc['timezone']}."]
    if doc["next_run"] is None:
        lines.append("Next run: not scheduled (no scheduler has started on this database).")
    else:
        late = " (overdue: is the scheduler running?)" if datetime.fromisoformat(doc["next_run"]) < now else ""
        lines.append(f"Next run: {local(doc['next_run'])}{late}")
    if doc["lease_holder"] is None:
        lines.append("Lease: free (no scheduler running).")
    else:
        expired = datetime.fromisoformat(doc["lease_expires"]) <= now if doc["lease_expires"] else True
        lines.append(f"Lease: {doc['lease_holder']} until {local(doc['lease_expires'])}"
                     + (" (expired)" if expired else ""))
    if not doc["runs"]:
        lines.append("Runs: none yet.")
        return "\n".join(lines)
    lines.append("Runs (newest first):")
    lines.append(f"  {'date':<10}  {'clinic':<10}  {'outcome':<8}  {'created':>7}  {'due':>6}  {'overdue':>7}  "
                 f"{'alerts':>6}  {'trigger':<9}  finished")
    for r in doc["runs"]:
        lines.append(f"  {r['business_date']:<10}  {r['clinic']:<10}  {r['outcome']:<8}  {r['created']:>7}  "
                     f"{r['due']:>6}  {r['overdue']:>7}  {r['alerts']:>6}  {r['trigger']:<9}  {local(r['finished'])}")
        for p in r["problems"]:
            lines.append(f"      {p['mrn'] or '(run)'}: {p['error']}")
    return "\n".join(lines)
