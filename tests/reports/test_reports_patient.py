"""reports.patient: the physician's page from plain values: its tables (frames), its words, its safety."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from monitor.app.documents import patient_document
from monitor.core.domain import Menopause, Patient, PatientFacts
from monitor.core.plan import plan
from monitor.core.risk import assess
from reports.patient import (
    SORT_JS,
    changes_frame,
    courses_frame,
    dxa_frame,
    markers_frame,
    render_patient_html,
    safe_file_part,
)
from tests.trend_facts import AS_OF, FACTS

SCRIPT = "<script>alert(1)</script>"
GENERATED = datetime(2025, 6, 1, 11, 0, tzinfo=UTC)


def page(facts: PatientFacts, policy, *, as_of: date = AS_OF, clinic: str | None = None) -> str:
    a = assess(facts, as_of=as_of, policy=policy)
    doc = patient_document(facts, a, plan(facts, a, as_of=as_of, policy=policy), as_of)
    return render_patient_html(doc, facts, as_of=as_of, policy=policy, generated_at=GENERATED, clinic_filter=clinic)


@pytest.fixture(scope="module")
def html() -> str:
    from monitor.settings import default_policy

    named = PatientFacts(Patient("P1", date(1955, 3, 1), menopause=Menopause.POST, name=SCRIPT),
                         FACTS.courses, FACTS.doses, FACTS.dxa, FACTS.markers, FACTS.fractures)
    return page(named, default_policy(), clinic="main")


def test_the_courses_table_lists_ai_and_bma_courses_with_their_doses():
    expected = pd.DataFrame({
        "drug": ["letrozole", "denosumab", "zoledronic acid"], "group": ["AI", "BMA", "BMA"],
        "status": ["stopped", "stopped", "running"], "start": ["2020-01-15", "2021-03-01", "2024-03-01"],
        "planned_start": [None, None, None], "stop": ["2025-01-15", "2023-09-01", None],
        "stop_reason": [None, None, None], "doses": [0, 2, 1], "last_dose": [None, "2021-09-01", "2024-03-01"],
    })

    assert_frame_equal(courses_frame(FACTS, as_of=AS_OF), expected, check_dtype=False)


def test_the_dxa_table_is_newest_first_and_stops_at_the_as_of_date():
    frame = dxa_frame(FACTS, as_of=AS_OF)

    assert frame["date"].iloc[0] == "2023-01-10" and "2026-01-01" not in set(frame["date"])
    assert len(frame) == 8


def test_the_changes_table_compares_exams_on_one_scanner_against_the_lsc(policy):
    frame = changes_frame(FACTS, as_of=AS_OF, policy=policy)
    expected = pd.DataFrame({
        "site": ["lumbar spine", "total hip", "lumbar spine", "total hip"],
        "from": ["2021-01-10", "2021-01-10", "2020-01-10", "2020-01-10"],
        "to": ["2023-01-10", "2023-01-10", "2021-01-10", "2021-01-10"],
        "delta": [0.01, 0.055, -0.06, -0.01], "lsc": [0.04982, 0.0395, 0.053, 0.04],
        "result": ["stable", "gain", "loss", "stable"],
    })

    assert_frame_equal(frame[list(expected.columns)], expected, check_dtype=False, atol=1e-9)


def test_the_markers_table_is_newest_first():
    assert markers_frame(FACTS, as_of=AS_OF)["date"].tolist() == ["2021-06-01", "2021-02-01", "2021-02-01"]


def test_the_page_shows_a_name_with_markup_as_text(html):
    assert SCRIPT not in html
    assert "Bone health report: &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert len(re.findall(r"<script\b", html)) == 1


def test_the_only_script_is_allowed_by_its_hash_and_nothing_is_fetched(html):
    digest = base64.b64encode(hashlib.sha256(SORT_JS.encode()).digest()).decode()

    assert f"script-src 'sha256-{digest}'" in html and f"<script>{SORT_JS}</script>" in html
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert html.count('src="data:image/png;base64,') == 3  # timeline, trend, markers


def test_the_page_states_as_of_filters_and_generation_time(html):
    assert "As of <strong>2025-06-01</strong>" in html
    assert "filters: patient P1 in clinic main; facts dated on or before 2025-06-01" in html
    assert "generated 2025-06-01 11:00:00 UTC" in html


def test_the_tier_and_reasons_are_in_plain_words(html):
    assert '<span class="tier high">HIGH' in html
    assert "hip or vertebral fragility fracture on record" in html  # H1, from monitor.core.explain


def test_a_patient_with_no_history_still_gets_a_valid_page(policy):
    text = page(PatientFacts(Patient("P9", date(1960, 1, 1))), policy)

    assert "No DXA on record up to 2025-06-01" in text and "No alerts" in text
    assert "No bone turnover markers on record" in text and "No fractures on record" in text
    assert text.rstrip().endswith("</html>")


@pytest.mark.parametrize(("mrn", "part"), [("DEMO-000008", "DEMO-000008"), ("../../etc/passwd", "etc_passwd"),
                                           ("A B/C", "A_B_C"), ("..", "patient")])
def test_file_names_are_made_from_the_mrn_only(mrn, part):
    assert safe_file_part(mrn) == part


def test_missing_values_show_as_dashes_not_nan(html):
    assert ">nan<" not in html.lower() and ">none<" not in html.lower()  # side "none" shows as blank
    assert '<td class="num">–</td>' in html  # the Z-scores nobody recorded
