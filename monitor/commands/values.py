"""Parsing of option values. A bad value is a domain error (exit 1) naming the option, never a traceback."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal, InvalidOperation

import click

from monitor.errors import DataError

clinic_option = click.option("--clinic", metavar="TEXT", help="Clinic, when the MRN exists in several clinics.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON (DESIGN §6 shape).")


def as_date(text: str | None, field: str = "date") -> date | None:
    if text is None:
        return None
    from monitor.dates import parse_date

    return parse_date(text, field)


def as_decimal(text: str | None, field: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.strip().replace("−", "-"))
    except InvalidOperation:
        raise DataError(field, repr(text), "a number such as -1.5") from None
    if not value.is_finite():
        raise DataError(field, text, "a finite number")
    return value


def as_float(text: str | None, field: str) -> float | None:
    value = as_decimal(text, field)
    if value is None:
        return None
    result = float(value)
    if not math.isfinite(result):
        raise DataError(field, text, "a finite number")
    return result


def as_int(text: str | None, field: str) -> int | None:
    value = as_decimal(text, field)
    if value is None:
        return None
    if value != value.to_integral_value():
        raise DataError(field, text, "a whole number")
    return int(value)


def emit_json(data: object) -> None:
    import json

    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
