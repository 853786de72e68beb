"""`bonemon task ack|snooze|done TASK_ID`: staff actions on a stored task, each audited."""

from __future__ import annotations

import click

from monitor.cli.options import as_date, as_int


@click.group()
def task() -> None:
    """Acknowledge, snooze (with a reason) or mark done a task from the worklist."""


def _act(state, task_id: str, action: str, **kwargs) -> str:
    from monitor.app.tasks import act

    with state.write() as session:
        return act(session, state.context(), as_int(task_id, "task-id"), action, **kwargs)


@task.command("ack")
@click.argument("task_id")
@click.option("--reason", metavar="TEXT")
@click.pass_obj
def ack(state, task_id, reason) -> None:
    """Acknowledge: seen and being handled (it stays open until done)."""
    click.echo(_act(state, task_id, "ack", reason=reason))


@task.command("snooze")
@click.argument("task_id")
@click.option("--until", "until", required=True, metavar="D", help="Last day of the snooze.")
@click.option("--reason", required=True, metavar="TEXT", help="Why (required, audited).")
@click.pass_obj
def snooze(state, task_id, until, reason) -> None:
    """Hide a task from the worklist until a date, with a reason."""
    click.echo(_act(state, task_id, "snooze", until=as_date(until, "until"), reason=reason))


@task.command("done")
@click.argument("task_id")
@click.option("--date", "day", metavar="D", help="When it was done (default: today).")
@click.option("--reason", metavar="TEXT")
@click.pass_obj
def done(state, task_id, day, reason) -> None:
    """Mark done by hand (e.g. the DXA is done but the result is not in yet)."""
    click.echo(_act(state, task_id, "done", day=as_date(day), reason=reason))
