"""`bonemon report patient|trend|adherence`: the physician's page, the BMD plot and the adherence audit.

Read-only. pandas, matplotlib and jinja2 are imported inside the commands (monitor.app.report_files).
"""

from __future__ import annotations

import click

from monitor.cli.options import as_date, clinic_option

FORMATS = ("csv", "html", "json")


@click.group()
def report() -> None:
    """Reports for physicians (one patient) and auditors (adherence); files that leave the system."""


@report.command("patient")
@click.argument("mrn")
@click.option("--as-of", metavar="D", help="Report as of this date (default: today in the clinic's zone).")
@clinic_option
@click.option("--out", metavar="FILE.html", help="Where to write (default: patient-<MRN>-<as-of>.html here).")
@click.pass_obj
def patient(state, mrn, as_of, clinic, out) -> None:
    """One self-contained HTML page: tier and why, alerts, open tasks, treatment timeline, BMD trend, markers."""
    from monitor.app.report_files import patient_report

    written = patient_report(state, mrn, clinic=clinic, as_of=as_date(as_of, "as-of"), out=out)
    click.echo(f"Wrote {written.what}")


@report.command("trend")
@click.argument("mrn")
@click.option("--as-of", metavar="D", help="Plot the facts up to this date (default: today).")
@clinic_option
@click.option("--out", metavar="FILE.png|.svg", help="Where to write (default: trend-<MRN>-<as-of>.png here).")
@click.pass_obj
def trend(state, mrn, as_of, clinic, out) -> None:
    """BMD (g/cm²) and T-score per site over time, −1.0/−2.5 lines, AI and BMA courses, fractures, LSC changes."""
    from monitor.app.report_files import trend_report

    written = trend_report(state, mrn, clinic=clinic, as_of=as_date(as_of, "as-of"), out=out)
    click.echo(f"Wrote {written.what}")


@report.command("adherence")
@click.option("--from", "start", metavar="D", help="First day of the period (default: 12 months before --to).")
@click.option("--to", "end", metavar="D", help="Last day of the period, the as-of date (default: today).")
@click.option("--clinic", metavar="TEXT", help="Only this clinic (default: every clinic).")
@click.option("--format", "fmt", type=click.Choice(FORMATS),
              help="csv: tidy rows for Excel (UTF-8 with BOM); json; html: one page with the monthly chart. "
                   "Default: the --out file's suffix, else csv.")
@click.option("--out", metavar="PATH", help="Write to this file instead of the terminal.")
@click.pass_obj
def adherence(state, start, end, clinic, fmt, out) -> None:
    """On-time rates per task kind, denosumab timing and stops, oral-BP PDC, D1/B1 baselines, data completeness."""
    from monitor.app.report_files import adherence_report

    text, written = adherence_report(state, start=as_date(start, "from"), end=as_date(end, "to"), clinic=clinic,
                                     fmt=fmt, out=out)
    if written is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"Wrote {written.what}")
