"""Shared option decorators and output helpers of the commands."""

from __future__ import annotations

import click

from monitor.intake.parsing import as_bool, as_date, as_decimal, as_float, as_int

__all__ = ["as_bool", "as_date", "as_decimal", "as_float", "as_int", "clinic_option", "emit_json", "json_option"]

clinic_option = click.option("--clinic", metavar="TEXT", help="Clinic, when the MRN exists in several clinics.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (its shape is in docs/cli.md).")


def emit_json(data: object) -> None:
    import json

    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
