"""docs/rules.md MONTHS, calendar arithmetic: months clamp at month end; dates are strict YYYY-MM-DD."""

from __future__ import annotations

import calendar
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.dates import add_months, age_on, months_between, parse_date
from monitor.core.errors import DataError


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 8, 31), 6, date(2026, 2, 28)),  # the MONTHS example
        (date(2023, 8, 31), 6, date(2024, 2, 29)),  # into a leap February
        (date(2024, 2, 29), 12, date(2025, 2, 28)),  # leap day + 12 m
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 3, 10), 6, date(2025, 9, 10)),  # the D3 example
        (date(2021, 3, 1), 54, date(2025, 9, 1)),  # the E1 example
        (date(2025, 12, 15), 1, date(2026, 1, 15)),  # year boundary
        (date(2100, 1, 29), 1, date(2100, 2, 28)),  # 2100 is not a leap year
        (date(2000, 1, 29), 1, date(2000, 2, 29)),  # 2000 is
    ],
)
def test_adding_months_clamps_at_month_end(start, months, expected):
    assert add_months(start, months) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)), st.integers(-240, 240))
def test_adding_months_matches_the_calendar(start, months):
    index = start.year * 12 + start.month - 1 + months
    year, month0 = divmod(index, 12)
    expected = date(year, month0 + 1, min(start.day, calendar.monthrange(year, month0 + 1)[1]))
    assert add_months(start, months) == expected


@pytest.mark.parametrize(("start", "end", "months"), [
    (date(2025, 1, 31), date(2025, 2, 27), 0), (date(2025, 1, 31), date(2025, 2, 28), 1),
    (date(2024, 2, 29), date(2025, 2, 28), 12), (date(2025, 3, 10), date(2026, 3, 9), 11),
])
def test_whole_months_between_two_dates(start, end, months):
    assert months_between(start, end) == months


@pytest.mark.parametrize(("birth", "on", "age"), [
    (date(1960, 2, 29), date(2021, 2, 28), 60), (date(1960, 2, 29), date(2021, 3, 1), 61),
    (date(1960, 6, 1), date(2025, 5, 31), 64), (date(1960, 6, 1), date(2025, 6, 1), 65),
])
def test_age_changes_on_the_birthday(birth, on, age):
    assert age_on(birth, on) == age


@pytest.mark.parametrize("text", ["2023-02-29", "2024-13-01", "2024-00-10", "2024-1-5", "20240105", "2024-W01-1",
                                  "yesterday", "", "2024-01-05T00:00"])
def test_only_real_dates_written_yyyy_mm_dd_are_accepted(text):
    with pytest.raises(DataError) as err:
        parse_date(text, "date")
    assert str(err.value).startswith("date: ")


def test_a_leap_day_parses():
    assert parse_date("2024-02-29") == date(2024, 2, 29)
