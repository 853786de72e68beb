"""docs/rules.md V1, V2 visits, the E1, E2 endocrine review and A14 lifestyle counselling."""

from __future__ import annotations

import pytest

from monitor.core.domain import TaskKind, TaskStatus
from tests.plan_builders import (
    D,
    course,
    done_task,
    dose,
    dxa,
    facts,
    frax,
    make_plan,
    note,
    open_task,
    status,
    vitals,
    window,
)

VISIT = TaskKind.RISK_REVIEW
ENDO = TaskKind.ENDOCRINE_REVIEW
LIFE = TaskKind.LIFESTYLE


# --------------------------------------------------------------------------- V1 / V2


@pytest.mark.parametrize(("as_of", "expected"), [
    ("2025-07-09", TaskStatus.UPCOMING),
    ("2025-07-10", TaskStatus.DUE),
    ("2026-02-09", TaskStatus.DUE),  # + 12 m + 30 d
    ("2026-02-10", TaskStatus.OVERDUE),
])
def test_high_tier_gets_a_risk_review_6_to_12_months_after_the_last_frax(policy, as_of, expected):
    p = make_plan(facts(dxa("2025-01-01", "-2.6"), frax("2025-01-10")), as_of, policy)
    assert window(open_task(p, VISIT)) == ("V1", "2025-01-10", "2025-07-10", "2026-01-10", "2026-02-09")
    assert status(p, VISIT) is expected


def test_on_denosumab_the_risk_review_targets_6_months(policy):
    f = facts(dxa("2025-01-01", "-2.6"), frax("2025-01-10"), course("denosumab", "2025-01-15", mg=60),
              dose("denosumab", "2025-01-15", mg=60))
    assert window(open_task(make_plan(f, "2025-02-01", policy), VISIT)) == (
        "V1", "2025-01-10", "2025-07-10", "2025-07-10", "2026-02-09")


def test_on_zoledronic_acid_4_mg_the_risk_review_targets_6_months(policy):
    f = facts(dxa("2025-01-01", "-2.6"), frax("2025-01-10"), dose("zoledronic_acid", "2025-01-15", mg=4))
    assert open_task(make_plan(f, "2025-02-01", policy), VISIT).target == D("2025-07-10")


def test_low_tier_gets_a_yearly_risk_review(policy):
    p = make_plan(facts(dxa("2025-01-01", "-0.5"), frax("2025-01-10")), "2025-02-01", policy)
    assert window(open_task(p, VISIT)) == ("V2", "2025-01-10", "2025-12-10", "2026-01-10", "2026-02-09")


def test_unknown_tier_gets_no_risk_review(policy):
    p = make_plan(facts(frax("2025-01-10")), "2025-02-01", policy)
    assert open_task(p, VISIT) is None


def test_without_frax_the_review_counts_from_the_first_ai_start(policy):
    f = facts(dxa("2024-12-01", "-1.5"), course("anastrozole", "2025-01-20"),
              dose("anastrozole", "2025-01-20", mg=1, supply=90))
    assert open_task(make_plan(f, "2025-02-01", policy), VISIT).anchor == D("2025-01-20")


def test_a_risk_review_note_completes_the_visit_and_re_anchors_the_next(policy):
    f = facts(dxa("2025-01-01", "-2.6"), frax("2025-01-10"), note("risk_review", "2025-12-01"))
    p = make_plan(f, "2025-12-05", policy)
    assert (done_task(p, VISIT).anchor, done_task(p, VISIT).done_on) == (D("2025-01-10"), D("2025-12-01"))
    assert status(p, VISIT, done=True) is TaskStatus.DONE
    assert open_task(p, VISIT).anchor == D("2025-12-01")


# --------------------------------------------------------------------------- E1 / E2


def on_ai(*extra):
    return facts(dxa("2025-02-01", "-1.5"), course("anastrozole", "2021-03-01"),
                 dose("anastrozole", "2021-03-01", mg=1, supply=90), dose("anastrozole", "2025-09-15", mg=1, supply=90),
                 *extra)


@pytest.mark.parametrize(("as_of", "expected"), [
    ("2025-08-31", TaskStatus.UPCOMING),
    ("2025-09-01", TaskStatus.DUE),
    ("2026-03-31", TaskStatus.DUE),
    ("2026-04-01", TaskStatus.OVERDUE),
])
def test_endocrine_review_worked_example_from_a_start_on_2021_03_01(policy, as_of, expected):
    p = make_plan(on_ai(), as_of, policy)
    assert window(open_task(p, ENDO)) == ("E1", "2021-03-01", "2025-09-01", "2026-03-01", "2026-03-31")
    assert status(p, ENDO) is expected


def test_an_extension_asks_for_a_second_review_at_10_years(policy):
    p = make_plan(on_ai(note("endocrine_extend", "2026-02-20")), "2026-03-01", policy)
    assert (done_task(p, ENDO).rule, done_task(p, ENDO).done_on) == ("E1", D("2026-02-20"))
    assert window(open_task(p, ENDO)) == ("E2", "2021-03-01", "2030-09-01", "2031-03-01", "2031-03-31")


def test_a_stop_decision_ends_the_endocrine_reviews(policy):
    p = make_plan(on_ai(note("endocrine_stop", "2026-02-20")), "2026-03-01", policy)
    assert open_task(p, ENDO) is None
    assert done_task(p, ENDO).rule == "E1"


def test_a_review_note_before_the_window_does_not_complete_the_5_year_review(policy):
    p = make_plan(on_ai(note("endocrine_review", "2023-01-10")), "2025-10-01", policy)
    assert open_task(p, ENDO).rule == "E1"


def test_the_endocrine_review_counts_from_tamoxifen_when_it_came_first(policy):
    f = facts(dxa("2023-02-01", "-1.5"), course("tamoxifen", "2019-05-01", stop="2021-05-01"),
              course("letrozole", "2021-05-01"))
    assert open_task(make_plan(f, "2023-03-01", policy), ENDO).target == D("2024-05-01")


# --------------------------------------------------------------------------- A14


@pytest.mark.parametrize(("bmi", "waist", "task"), [
    (26.0, None, True),
    (19.9, None, True),
    (24.0, None, False),  # BMI_HIGH only above 24
    (22.0, 80.0, True),  # waist at 80 cm counts
    (22.0, 79.9, False),
])
def test_a_lifestyle_flag_asks_for_counselling_within_90_days_of_the_vitals(policy, bmi, waist, task):
    p = make_plan(facts(dxa("2025-01-01", "-1.5"), vitals("2025-03-01", bmi=bmi, waist=waist)), "2025-03-05", policy)
    if task:
        assert window(open_task(p, LIFE)) == ("A14", "2025-03-01", "2025-03-01", "2025-03-01", "2025-05-30")
    else:
        assert open_task(p, LIFE) is None


def test_a_counselling_note_completes_the_lifestyle_task(policy):
    f = facts(dxa("2025-01-01", "-1.5"), vitals("2025-03-01", bmi=27), note("lifestyle_counselling", "2025-03-20"))
    p = make_plan(f, "2025-04-01", policy)
    assert open_task(p, LIFE) is None
    assert (done_task(p, LIFE).anchor, done_task(p, LIFE).done_on) == (D("2025-03-01"), D("2025-03-20"))


def test_new_vitals_still_out_of_range_ask_for_counselling_again(policy):
    f = facts(dxa("2025-01-01", "-1.5"), vitals("2025-03-01", bmi=27), note("lifestyle_counselling", "2025-03-20"),
              vitals("2025-09-01", bmi=26.5))
    assert open_task(make_plan(f, "2025-09-02", policy), LIFE).anchor == D("2025-09-01")
