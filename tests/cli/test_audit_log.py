"""`bonemon audit log` for auditors: the trail filtered by patient, user and date range (UTC days)."""

from __future__ import annotations

import pandas  # noqa: F401 - imported before any freezegun freeze: a first import under it crashes
import pytest

pytest.register_assert_rewrite("tests.dbfixtures")
from tests.dbfixtures import Cli  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]


@pytest.fixture
def trail(cli: Cli) -> Cli:
    """alice adds P1 on 1 May, bob adds P2 on 2 May and records P1's vitals on 3 May (23:30 UTC)."""
    from freezegun import freeze_time

    with freeze_time("2025-05-01 10:00:00"):
        cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01", user="alice")
    with freeze_time("2025-05-02 10:00:00"):
        cli.ok("patient", "add", "P2", "--birth-date", "1951-01-01", user="bob")
    with freeze_time("2025-05-03 23:30:00"):
        cli.ok("record", "vitals", "P1", "--date", "2025-05-03", "--bmi", "22", user="bob")
    return cli


def entries(cli: Cli, *argv: str) -> list[tuple[str, str, str, str]]:
    rows = cli.json("audit", "log", "--json", *argv)["entries"]
    return [(e["mrn"], e["user"], e["action"], e["at"][:10]) for e in rows]


def test_audit_log_lists_the_newest_change_first(trail: Cli):
    assert entries(trail) == [("P1", "bob", "record vitals", "2025-05-03"), ("P2", "bob", "patient add", "2025-05-02"),
                              ("P1", "alice", "patient add", "2025-05-01")]


def test_audit_log_filters_by_patient(trail: Cli):
    assert [e[2] for e in entries(trail, "--mrn", "P1")] == ["record vitals", "patient add"]


def test_audit_log_filters_by_user(trail: Cli):
    assert [(e[0], e[2]) for e in entries(trail, "--user", "bob")] == [("P1", "record vitals"), ("P2", "patient add")]


@pytest.mark.parametrize(("argv", "days"), [
    (["--from", "2025-05-02"], ["2025-05-03", "2025-05-02"]),
    (["--to", "2025-05-02"], ["2025-05-02", "2025-05-01"]),
    (["--from", "2025-05-02", "--to", "2025-05-02"], ["2025-05-02"]),
    (["--from", "2025-05-03", "--to", "2025-05-03"], ["2025-05-03"]),  # 23:30 UTC is still the 3rd
    (["--from", "2025-05-04"], []),
], ids=["from", "to", "one-day", "late-evening-counts-on-its-day", "after-everything"])
def test_audit_log_filters_by_an_inclusive_date_range(trail: Cli, argv, days):
    assert [e[3] for e in entries(trail, *argv)] == days


def test_audit_log_combines_the_filters(trail: Cli):
    assert entries(trail, "--mrn", "P1", "--user", "bob", "--from", "2025-05-03") == [
        ("P1", "bob", "record vitals", "2025-05-03")]


def test_audit_log_says_so_when_nothing_matches(trail: Cli):
    assert trail.ok("audit", "log", "--user", "carol").stdout == "No audit entries match.\n"


def test_audit_log_refuses_a_bad_date(trail: Cli):
    assert trail.error("audit", "log", "--from", "2025-02-30").startswith("Error: from: '2025-02-30' is not allowed")
