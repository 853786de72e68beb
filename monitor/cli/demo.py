"""`bonemon demo`: a deterministic synthetic cohort in the configured database, then the daily job."""

from __future__ import annotations

import click

from monitor.cli.options import as_date, as_int


@click.command()
@click.option("--patients", "n", default="200", show_default=True, metavar="N", help="Cohort size.")
@click.option("--seed", default="42", show_default=True, metavar="S", help="Same seed and date, same cohort.")
@click.option("--as-of", metavar="D", help="The cohort's 'today' (default: today in the clinic's zone).")
@click.option("--out", "out_dir", default="bonemon-out", show_default=True, metavar="DIR",
              help="Folder for the worklist and reports.")
@click.pass_obj
def demo(state, n, seed, as_of, out_dir) -> None:
    """Build a synthetic cohort, run the daily job and write the reports."""
    from pathlib import Path

    from monitor.core.errors import DataError
    from monitor.demo.run import run_demo

    size = as_int(n, "patients")
    if size is None or not 1 <= size <= 1_000_000:
        raise DataError("patients", n, "a whole number from 1 to 1,000,000")
    lines = run_demo(state, n=size, seed=as_int(seed, "seed") or 0, as_of=as_date(as_of, "as-of"),
                     out_dir=Path(out_dir))
    for line in lines:
        click.echo(line)
