"""Text → value for every entry path (CLI options, CSV cells). A bad value is a DataError naming the field."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal, InvalidOperation

from monitor.dates import parse_date
from monitor.errors import DataError

TRUE = {"1", "true", "yes", "y", "t"}
FALSE = {"0", "false", "no", "n", "f", ""}


def as_date(text: str | None, field: str = "date") -> date | None:
    if text is None:
        return None
    return parse_date(text, field)


def as_decimal(text: str | None, field: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(str(text).strip().replace("−", "-"))
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


def as_bool(text: str | None, field: str) -> bool:
    word = (text or "").strip().lower()
    if word in TRUE:
        return True
    if word in FALSE:
        return False
    raise DataError(field, repr(text), "true or false")
