"""Text → value for every entry path (CLI options, CSV cells). A bad value is a DataError naming the field."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal, InvalidOperation

from monitor.core.dates import parse_date
from monitor.core.errors import DataError

TRUE = {"1", "true", "yes", "y", "t"}
FALSE = {"0", "false", "no", "n", "f", ""}


def as_date(text: str | None, field: str = "date") -> date | None:
    if text is None:
        return None
    return parse_date(text, field)


MAX_NUMBER_TEXT = 40
MAX_EXPONENT = 12  # no clinical value needs more than 10^12; larger ones are typos (and slow to convert)


# What is allowed, for the whole-number options: said when a value is absurdly large before any range check.
WHOLE_NUMBER_RANGES = {
    "days-supply": "a whole number of days from 1 to 366",
    "vertebrae": "a count from 1 to 4 (L1–L4)",
    "interval-months": "a whole number of months from 1 to 24",
    "genant-grade": "1, 2 or 3",
}


def as_decimal(text: str | None, field: str) -> Decimal | None:
    if text is None:
        return None
    raw = str(text).strip().replace("−", "-")
    if len(raw) > MAX_NUMBER_TEXT:
        allowed = WHOLE_NUMBER_RANGES.get(field, f"a number of at most {MAX_NUMBER_TEXT} characters")
        raise DataError(field, repr(raw), allowed)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise DataError(field, repr(text), "a number such as -1.5") from None
    if not value.is_finite() or (value != 0 and abs(value.adjusted()) > MAX_EXPONENT):
        raise DataError(field, text, WHOLE_NUMBER_RANGES.get(field, "a finite number of a plausible size"))
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


def as_bool(text: str | None, field: str) -> bool:
    word = (text or "").strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise DataError(field, repr(text), "true or false")
