"""monitor.demo.reports.write_demo_reports: what `bonemon demo` writes, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas  # noqa: F401 - imported before any freezegun freeze: a first import under it crashes
import pytest

import reports.figures  # noqa: F401 - matplotlib's date converters registered for the real date class

pytest.register_assert_rewrite("tests.dbfixtures")
from tests.dbfixtures import Cli  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]

AS_OF = date(2025, 6, 1)
N = 12
FILE = re.compile(r"^((patient|trend)-DEMO-\d{6}-2025-06-01\.(html|png)|adherence-2024-06-02-2025-06-01\.(html|csv))$")


@pytest.fixture
def written(cli: Cli, today, tmp_path: Path) -> list[Path]:
    from monitor.cli.state import CliState
    from monitor.demo.reports import write_demo_reports
    from monitor.demo.run import load_cohort

    state = CliState(db_url=cli.url, user="demo")
    try:
        load_cohort(state, n=N, seed=42, as_of=AS_OF)
        return write_demo_reports(state, as_of=AS_OF, out_dir=tmp_path / "out")
    finally:
        state.engine.dispose()


def test_the_demo_writes_three_patient_reports_their_trend_plots_and_the_adherence_audit(written):
    names = sorted(p.name for p in written)

    assert len(written) == 8 and all(p.is_file() and p.stat().st_size > 0 for p in written)
    assert sum(n.startswith("patient-") for n in names) == 3 and sum(n.startswith("trend-") for n in names) == 3
    assert {n for n in names if n.startswith("adherence-")} == {"adherence-2024-06-02-2025-06-01.html",
                                                                 "adherence-2024-06-02-2025-06-01.csv"}


def test_the_script_patient_is_one_of_them_and_shows_as_text(written):
    [page] = [p for p in written if p.name == "patient-DEMO-000008-2025-06-01.html"]
    html = page.read_text(encoding="utf-8")

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)</script>" not in html


def test_demo_file_names_carry_mrns_never_names(written):
    from monitor.demo.cohort import generate_cohort

    names = {f.patient.name for f in generate_cohort(N, seed=42, as_of=AS_OF)} - {None}
    for path in written:
        assert FILE.match(path.name), path.name
        assert not any(part in path.name for name in names for part in name.split() if len(part) > 2), path.name
