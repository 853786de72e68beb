"""The safety alerts of docs/rules.md and ALERT-EXIT: boundaries on each side, `since`, and the next change date."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from monitor.core.alerts.exit import exit_alert
from monitor.core.alerts.predose import Span, pre_dose
from monitor.core.alerts.treatment_gap import raised_since, raised_spans
from monitor.core.domain import (
    Drug,
    DxaSite,
    FractureSite,
    LabAnalyte,
    Mechanism,
    Menopause,
    NoteKind,
    Route,
    Severity,
    Sex,
    TaskKind,
    Tier,
)
from monitor.core.risk import assess
from tests.alert_builders import (
    alert,
    calcium,
    course,
    crcl,
    d,
    dose,
    dxa,
    facts,
    fracture,
    lab,
    note,
    run,
    severity,
    task,
    vitamin_d,
    weight,
)

DMAB, ZOL, ALN, RIS, IBN = Drug.DENOSUMAB, Drug.ZOLEDRONIC_ACID, Drug.ALENDRONATE, Drug.RISEDRONATE, Drug.IBANDRONATE
ANA = Drug.ANASTROZOLE


def on_zol5(*extra):
    """ZOL 5 mg yearly, last infusion 2024-07-15, next due 2025-07-15 (the planner's bp_dose task)."""
    return facts(course(ZOL, "2024-07-15", mg=5), dose(ZOL, "2024-07-15", 5), *extra)


ZOL5_DUE = (task(TaskKind.BP_DOSE, "2025-07-15", "BP-ZOL5"),)


def on_denosumab(*extra):
    """Denosumab 60 mg, last dose 2025-01-15, next due 2025-07-15."""
    return facts(course(DMAB, "2024-07-15", mg=60), dose(DMAB, "2024-07-15", 60), dose(DMAB, "2025-01-15", 60), *extra)


DMAB_DUE = (task(TaskKind.DENOSUMAB_DOSE, "2025-07-15"),)


# --------------------------------------------------------------------------- renal


@pytest.mark.parametrize(("value", "expected"), [(34.9, "block"), (35.0, None), (35.1, None)])
def test_zoledronic_acid_5_mg_is_blocked_below_crcl_35(policy, value, expected):
    f = on_zol5(crcl("2025-07-01", value), calcium("2025-07-01", 2.3))
    assert severity(f, "2025-07-10", policy, "ALERT-RENAL-ZOL5", ZOL5_DUE) == expected


@pytest.mark.parametrize(("value", "expected"), [(29.9, "block"), (30.0, "warn"), (60.0, "warn"), (60.1, None)])
def test_zoledronic_acid_4_mg_blocks_below_30_and_warns_up_to_60(policy, value, expected):
    f = facts(course(ZOL, "2024-01-10", mg=4, every=6), dose(ZOL, "2024-01-10", 4), crcl("2024-06-01", value))
    assert severity(f, "2024-06-10", policy, "ALERT-RENAL-ZOL4") == expected


@pytest.mark.parametrize(("drug", "mg", "code", "value", "expected"), [
    (ALN, 70, "ALERT-RENAL-ALN", 34.9, "block"),
    (ALN, 70, "ALERT-RENAL-ALN", 35.0, None),
    (RIS, 35, "ALERT-RENAL-RIS", 29.9, "block"),
    (RIS, 35, "ALERT-RENAL-RIS", 30.0, None),
    (IBN, 150, "ALERT-RENAL-IBN", 29.9, "block"),
    (IBN, 150, "ALERT-RENAL-IBN", 30.0, None),
    (IBN, 3, "ALERT-RENAL-IBN", 29.9, "block"),
    (RIS, 35, "ALERT-RENAL-ALN", 34.0, None),
])
def test_oral_bisphosphonates_are_blocked_below_their_crcl_limit(policy, drug, mg, code, value, expected):
    f = facts(course(drug, "2024-01-10", mg=mg), dose(drug, "2024-01-10", mg), crcl("2024-06-01", value))
    assert severity(f, "2024-06-10", policy, code) == expected


def test_crcl_comes_from_cockcroft_gault_with_age_on_the_creatinine_date_and_the_latest_weight(policy):
    # 80 years old on 2025-03-01, 50 kg, creatinine 90 µmol/L = 1.018 mg/dL: (140-80)*50/(72*1.018)*0.85 = 34.8
    f = facts(course(ALN, "2024-01-10"), dose(ALN, "2024-01-10", 70), weight("2024-01-01", 70),
              weight("2025-02-01", 50), lab(LabAnalyte.CREATININE, "2025-03-01", 90), birth_date=date(1945, 2, 28))
    found = alert(f, "2025-03-05", policy, "ALERT-RENAL-ALN")
    assert found is not None and found.since == d("2025-03-01")
    assert found.message == ("CrCl 34.8 mL/min (Cockcroft-Gault from creatinine 90 µmol/L on 2025-03-01, weight 50 kg, "
                             "age 80) is below 35: do not give alendronate")


def test_cockcroft_gault_just_above_the_limit_does_not_block(policy):
    # creatinine 88.42 µmol/L = 1 mg/dL: 60*50/72*0.85 = 35.4
    f = facts(course(ALN, "2024-01-10"), weight("2025-02-01", 50), lab(LabAnalyte.CREATININE, "2025-03-01", 88.42),
              birth_date=date(1945, 2, 28))
    assert severity(f, "2025-03-05", policy, "ALERT-RENAL-ALN") is None


@pytest.mark.parametrize(("crcl_day", "expected"), [("2025-02-01", "block"), ("2025-03-01", None)])
def test_the_newer_of_recorded_crcl_and_creatinine_decides_and_a_same_day_crcl_wins(policy, crcl_day, expected):
    f = facts(course(ALN, "2024-01-10"), weight("2025-02-01", 50), lab(LabAnalyte.CREATININE, "2025-03-01", 90),
              crcl(crcl_day, 60), birth_date=date(1945, 2, 28))
    assert severity(f, "2025-03-05", policy, "ALERT-RENAL-ALN") == expected


def test_creatinine_without_a_weight_gives_no_crcl(policy):
    f = facts(course(ALN, "2024-01-10"), lab(LabAnalyte.CREATININE, "2025-03-01", 300))
    assert severity(f, "2025-03-05", policy, "ALERT-RENAL-ALN") is None


@pytest.mark.parametrize(("result_day", "as_of", "expected_since"), [
    ("2025-06-15", "2025-07-10", None),  # exactly 30 days before the dose: counts
    ("2025-06-14", "2025-07-10", d("2025-06-15")),  # 31 days before: too old
    (None, "2025-06-14", None),  # the window opens on 2025-06-15
    (None, "2025-06-15", d("2025-06-15")),
    ("2025-07-20", "2025-08-19", None),  # overdue dose: taken as due today, result 30 days old
    ("2025-07-20", "2025-08-20", d("2025-08-20")),
])
def test_zoledronic_acid_5_mg_needs_a_creatinine_result_in_the_30_days_before_the_dose(
        policy, result_day, as_of, expected_since):
    extra = [crcl(result_day, 80), calcium(result_day, 2.3)] if result_day else []
    found = alert(on_zol5(*extra), as_of, policy, "ALERT-RENAL-ZOL5", ZOL5_DUE)
    assert (found.since if found else None) == expected_since


def test_next_change_is_the_day_the_creatinine_window_opens(policy):
    _, next_change = run(on_zol5(), "2025-05-01", policy, ZOL5_DUE)
    assert next_change == d("2025-06-15")


def test_next_change_is_the_day_the_last_creatinine_stops_counting(policy):
    f = on_zol5(crcl("2025-07-01", 80), calcium("2025-07-01", 2.3))
    alerts, next_change = run(f, "2025-07-05", policy, ZOL5_DUE)
    assert [a.code for a in alerts] == ["ALERT-DENTAL"]
    assert next_change == d("2025-08-01")  # 2025-07-01 still counts on 2025-07-31, 30 days later


def test_acute_renal_impairment_blocks_zoledronic_acid_until_a_later_renal_result(policy):
    f = on_zol5(crcl("2025-06-20", 80), note(NoteKind.ACUTE_RENAL_IMPAIRMENT, "2025-06-25"))
    assert alert(f, "2025-07-01", policy, "ALERT-RENAL-ZOL5", ZOL5_DUE).since == d("2025-06-25")
    f = on_zol5(crcl("2025-06-20", 80), note(NoteKind.ACUTE_RENAL_IMPAIRMENT, "2025-06-25"), crcl("2025-06-30", 75))
    assert severity(f, "2025-07-01", policy, "ALERT-RENAL-ZOL5", ZOL5_DUE) is None


@pytest.mark.parametrize(("extra", "expected"), [
    (lab(LabAnalyte.EGFR, "2025-06-01", 29.9), "high"),
    (lab(LabAnalyte.EGFR, "2025-06-01", 30.0), None),
    (note(NoteKind.DIALYSIS, "2025-06-01"), "high"),
    (note(NoteKind.DIALYSIS), "high"),
])
def test_denosumab_with_egfr_below_30_or_dialysis_warns_high(policy, extra, expected):
    assert severity(on_denosumab(extra), "2025-06-05", policy, "ALERT-DMAB-CKD") == expected


def test_low_egfr_without_denosumab_raises_no_denosumab_warning(policy):
    f = on_zol5(lab(LabAnalyte.EGFR, "2025-06-01", 20))
    assert severity(f, "2025-06-05", policy, "ALERT-DMAB-CKD") is None


# --------------------------------------------------------------------------- calcium


@pytest.mark.parametrize(("value", "expected"), [(2.09, "block"), (2.10, None), (2.5, None)])
def test_low_calcium_blocks_denosumab(policy, value, expected):
    assert severity(on_denosumab(calcium("2025-03-01", value)), "2025-03-10", policy, "ALERT-HYPOCA") == expected


def test_calcium_of_8_4_mg_dl_is_the_lower_limit_not_below_it(policy):
    # 8.4 mg/dL x 0.2495 = 2.0958 mmol/L, reported as 2.10
    assert severity(on_denosumab(calcium("2025-03-01", 8.4 * 0.2495)), "2025-03-10", policy, "ALERT-HYPOCA") is None


@pytest.mark.parametrize(("results", "expected"), [
    ((calcium("2025-03-01", 2.05), calcium("2025-03-01", 2.30, corrected=False)), "block"),  # corrected wins its day
    ((calcium("2025-03-01", 2.30), calcium("2025-03-01", 2.05, corrected=False)), None),
    ((calcium("2025-03-01", 2.05), calcium("2025-03-05", 2.30, corrected=False)), None),  # a later result wins
    ((calcium("2025-03-01", 2.30), calcium("2025-03-05", 2.05, corrected=False)), "block"),
])
def test_the_latest_calcium_counts_and_the_corrected_one_wins_its_day(policy, results, expected):
    assert severity(on_denosumab(*results), "2025-03-10", policy, "ALERT-HYPOCA") == expected


def test_low_calcium_counts_from_the_first_of_a_run_of_low_results(policy):
    f = on_denosumab(calcium("2025-02-01", 2.3), calcium("2025-03-01", 2.05), calcium("2025-03-08", 2.08))
    found = alert(f, "2025-03-10", policy, "ALERT-HYPOCA")
    assert found.since == d("2025-03-01")
    assert found.message == ("Albumin-corrected calcium 2.08 mmol/L on 2025-03-08 is below 2.10: correct hypocalcaemia "
                             "before denosumab")


def test_low_calcium_without_denosumab_or_an_iv_bisphosphonate_raises_nothing(policy):
    f = facts(course(ALN, "2024-01-10"), dose(ALN, "2024-01-10", 70), calcium("2025-03-01", 1.9))
    assert severity(f, "2025-03-10", policy, "ALERT-HYPOCA") is None


@pytest.mark.parametrize(("result_day", "as_of", "expected_since"), [
    ("2025-06-15", "2025-07-10", None),
    ("2025-06-14", "2025-07-10", d("2025-06-15")),
    (None, "2025-06-14", None),
])
def test_denosumab_needs_a_calcium_result_in_the_30_days_before_the_dose(policy, result_day, as_of, expected_since):
    extra = [calcium(result_day, 2.3)] if result_day else []
    found = alert(on_denosumab(*extra), as_of, policy, "ALERT-HYPOCA", DMAB_DUE)
    assert (found.since if found else None) == expected_since


def test_a_planned_oral_bisphosphonate_start_needs_a_recent_calcium(policy):
    f = facts(course(ALN, planned="2025-07-15"))
    found = alert(f, "2025-07-01", policy, "ALERT-HYPOCA")
    assert found.since == d("2025-06-15")
    assert "before the alendronate start due 2025-07-15" in found.message


# --------------------------------------------------------------------------- vitamin D


@pytest.mark.parametrize(("value", "expected"), [(19.9, "block"), (20.0, "warn"), (29.9, "warn"), (30.0, None)])
def test_vitamin_d_before_the_first_denosumab_dose(policy, value, expected):
    f = facts(course(DMAB, planned="2025-03-01", mg=60), vitamin_d("2025-02-01", value))
    assert severity(f, "2025-02-20", policy, "ALERT-VITD") == expected


def test_vitamin_d_in_nmol_l_at_50_is_20_ng_ml(policy):
    f = facts(course(DMAB, planned="2025-03-01", mg=60), vitamin_d("2025-02-01", 50 * 0.4006))
    assert severity(f, "2025-02-20", policy, "ALERT-VITD") == "warn"


@pytest.mark.parametrize(("dose_day", "result_day", "expected"), [
    ("2025-08-31", "2025-02-28", "block"),  # 2025-02-28 + 6 m = 2025-08-28: too old for 2025-08-31
    ("2025-08-31", "2025-03-01", None),
    ("2025-02-28", "2024-08-31", None),  # 2024-08-31 + 6 m = 2025-02-28: still counts
    ("2025-02-28", "2024-08-27", "block"),
])
def test_vitamin_d_must_be_at_most_6_months_old_on_the_day_of_the_first_dose(policy, dose_day, result_day, expected):
    f = facts(course(ZOL, planned=dose_day, mg=5), vitamin_d(result_day, 40))
    assert severity(f, dose_day, policy, "ALERT-VITD") == expected


def test_missing_vitamin_d_counts_from_the_day_a_result_could_first_count(policy):
    f = facts(course(DMAB, planned="2025-08-31", mg=60))
    assert severity(f, "2025-02-28", policy, "ALERT-VITD") is None
    found = alert(f, "2025-03-01", policy, "ALERT-VITD")
    assert found.severity is Severity.BLOCK and found.since == d("2025-03-01")
    assert run(f, "2025-02-28", policy)[1] == d("2025-03-01")


def test_vitamin_d_applies_to_a_started_iv_course_with_no_dose_yet_but_not_to_later_doses(policy):
    started = facts(course(ZOL, "2025-03-01", mg=5), vitamin_d("2025-03-01", 15))
    assert severity(started, "2025-03-02", policy, "ALERT-VITD") == "block"
    assert severity(on_denosumab(vitamin_d("2025-03-01", 15)), "2025-03-02", policy, "ALERT-VITD") is None


def test_vitamin_d_does_not_apply_to_an_oral_bisphosphonate(policy):
    assert severity(facts(course(ALN, planned="2025-03-01")), "2025-03-01", policy, "ALERT-VITD") is None


def test_next_change_is_the_first_day_a_pre_dose_result_stops_counting(policy):
    f = facts(course(DMAB, planned="2025-03-01", mg=60), vitamin_d("2024-12-01", 40), calcium("2025-02-20", 2.3),
              note(NoteKind.DENTAL_CHECK, "2025-02-01"))
    alerts, next_change = run(f, "2025-02-20", policy)
    assert alerts == ()
    assert next_change == d("2025-03-23")  # calcium of 2025-02-20 counts for the dose due 2025-03-01 until 03-22


# --------------------------------------------------------------------------- dental


@pytest.mark.parametrize(("check_day", "expected"), [("2024-12-01", None), ("2024-11-30", "warn"), (None, None)])
def test_dental_check_is_needed_within_6_months_before_the_first_bma_dose(policy, check_day, expected):
    f = facts(course(ZOL, planned="2025-06-01", mg=5), note(NoteKind.DENTAL_CHECK, check_day))
    assert severity(f, "2025-06-01", policy, "ALERT-DENTAL") == expected


def test_a_first_dose_given_without_a_dental_check_warns_until_one_is_recorded(policy):
    f = on_denosumab()
    found = alert(f, "2025-03-01", policy, "ALERT-DENTAL")
    assert found.since == d("2024-07-15")
    checked = on_denosumab(note(NoteKind.DENTAL_CHECK, "2025-02-01"))
    assert severity(checked, "2025-03-01", policy, "ALERT-DENTAL") is None


def test_a_planned_dental_procedure_on_a_bma_warns_until_a_later_dental_check(policy):
    base = (note(NoteKind.DENTAL_CHECK, "2024-07-01"), note(NoteKind.DENTAL_PROCEDURE_PLANNED, "2025-02-01"))
    found = alert(on_denosumab(*base), "2025-03-01", policy, "ALERT-DENTAL")
    assert found.since == d("2025-02-01") and "procedure planned" in found.message
    later = on_denosumab(*base, note(NoteKind.DENTAL_CHECK, "2025-02-20"))
    assert severity(later, "2025-03-01", policy, "ALERT-DENTAL") is None


# --------------------------------------------------------------------------- which dose is due


def test_a_done_task_is_no_longer_a_due_dose(policy):
    done = replace(task(TaskKind.DENOSUMAB_DOSE, "2025-07-15"), done_on=d("2025-07-10"))
    f = on_denosumab(note(NoteKind.DENTAL_CHECK, "2024-07-01"))
    assert severity(f, "2025-07-12", policy, "ALERT-HYPOCA", DMAB_DUE) == "block"
    assert severity(f, "2025-07-12", policy, "ALERT-HYPOCA", (done,)) is None


def test_a_sequential_bisphosphonate_not_chosen_yet_needs_a_recent_calcium(policy):
    f = facts(course(DMAB, "2024-01-15", stop="2025-03-01", mg=60), dose(DMAB, "2025-01-15", 60),
              note(NoteKind.DENTAL_CHECK, "2024-01-01"))
    found = alert(f, "2025-07-01", policy, "ALERT-HYPOCA", (task(TaskKind.SEQUENTIAL_BP, "2025-07-15", "N3"),))
    assert found.since == d("2025-06-15") and "before the bisphosphonate dose due 2025-07-15" in found.message


def test_a_planned_zoledronic_acid_5_mg_after_denosumab_needs_creatinine(policy):
    f = facts(course(DMAB, "2024-01-15", stop="2025-03-01", mg=60), dose(DMAB, "2025-01-15", 60),
              course(ZOL, planned="2025-07-20", mg=5))
    tasks = (task(TaskKind.SEQUENTIAL_BP, "2025-07-15", "N3"),)
    assert alert(f, "2025-07-01", policy, "ALERT-RENAL-ZOL5", tasks).since == d("2025-06-15")


@pytest.mark.parametrize(("mg", "every", "code"), [
    (None, 6, "ALERT-RENAL-ZOL4"),
    (None, 12, "ALERT-RENAL-ZOL5"),
    (None, None, "ALERT-RENAL-ZOL5"),
    (3.5, None, "ALERT-RENAL-ZOL4"),  # a renally reduced 4 mg regimen dose
])
def test_zoledronic_acid_strength_comes_from_the_dose_else_the_interval(policy, mg, every, code):
    f = facts(course(ZOL, "2024-01-10", mg=mg, every=every), crcl("2024-06-01", 25))
    assert severity(f, "2024-06-10", policy, code) == "block"


def test_a_plan_is_taken_over_by_a_running_course_of_the_same_drug(policy):
    f = on_denosumab(course(DMAB, planned="2024-07-01", mg=60), vitamin_d("2023-01-01", 10))
    assert severity(f, "2025-03-01", policy, "ALERT-VITD") is None


# --------------------------------------------------------------------------- ONJ, AFF, interactions


def test_onj_blocks_further_antiresorptives(policy):
    found = alert(on_denosumab(note(NoteKind.ONJ, "2025-02-01")), "2025-03-01", policy, "ALERT-ONJ")
    assert found.severity is Severity.BLOCK and found.since == d("2025-02-01")


def test_atypical_femoral_fracture_blocks_and_other_fractures_do_not(policy):
    f = on_denosumab(fracture("2025-02-01", FractureSite.OTHER, Mechanism.ATYPICAL))
    assert alert(f, "2025-03-01", policy, "ALERT-AFF").since == d("2025-02-01")
    f = on_denosumab(fracture("2025-02-01", FractureSite.OTHER, Mechanism.TRAUMA))
    assert severity(f, "2025-03-01", policy, "ALERT-AFF") is None


@pytest.mark.parametrize(("pain_day", "stop", "expected"), [
    ("2025-01-10", None, "warn"),  # exactly 3 years on alendronate
    ("2025-01-09", None, None),
    ("2026-01-10", "2024-01-10", None),  # 2 years on, then stopped: a holiday does not count
])
def test_thigh_pain_after_3_years_on_a_bisphosphonate_warns(policy, pain_day, stop, expected):
    f = facts(course(ALN, "2022-01-10", stop=stop), dose(ALN, "2022-01-10", 70), note(NoteKind.THIGH_PAIN, pain_day),
              note(NoteKind.DENTAL_CHECK))
    assert severity(f, "2026-02-01", policy, "ALERT-AFF-SYMPTOM") == expected


@pytest.mark.parametrize(("partner", "expected"), [
    (course(ANA, "2025-01-01"), "block"),
    (course(Drug.TAMOXIFEN, "2025-01-01"), "block"),
    (course(ANA, "2024-01-01", stop="2024-12-01"), None),
    (course(ANA, planned="2025-03-01"), "block"),
])
def test_raloxifene_with_an_ai_or_tamoxifen_is_blocked(policy, partner, expected):
    f = facts(course(Drug.RALOXIFENE, "2025-01-15"), partner)
    assert severity(f, "2025-02-01", policy, "ALERT-RLX-AI") == expected


def test_raloxifene_alert_dates_from_the_later_of_the_two_starts(policy):
    f = facts(course(Drug.RALOXIFENE, "2025-01-15"), course(ANA, "2025-01-20"))
    assert alert(f, "2025-02-01", policy, "ALERT-RLX-AI").since == d("2025-01-20")


@pytest.mark.parametrize(("stop", "expected"), [(None, "block"), ("2025-01-31", None), ("2025-02-02", "block")])
def test_systemic_oestrogen_is_blocked_while_its_course_runs(policy, stop, expected):
    f = facts(course(ANA, "2024-01-01"), course(Drug.OESTROGEN, "2025-01-01", stop=stop))
    assert severity(f, "2025-02-01", policy, "ALERT-HRT") == expected


@pytest.mark.parametrize(("bma", "expected"), [
    (course(ALN, "2025-01-01"), "block"),
    (course(IBN, planned="2025-03-01", mg=150), "block"),
    (course(ZOL, "2025-01-01", mg=5), None),
])
def test_oral_bisphosphonate_admin_problem_blocks_only_oral_bisphosphonates(policy, bma, expected):
    f = facts(bma, note(NoteKind.ORAL_BP_ADMIN_PROBLEM, "2025-01-20"))
    assert severity(f, "2025-02-01", policy, "ALERT-ORAL-BP-ADMIN") == expected


@pytest.mark.parametrize(("doses", "expected"), [
    ((("2025-01-01", None), ("2025-01-08", None)), "block"),  # weekly
    ((("2025-01-01", None), ("2025-01-25", None)), "block"),  # 24 days
    ((("2025-01-01", None), ("2025-01-26", None)), None),  # 25 days
    ((("2025-01-01", 7),), "block"),  # one 150 mg tablet for a week
    ((("2025-01-01", 30), ("2025-01-24", 30)), None),  # an early refill of a monthly supply
    ((("2025-01-01", None), ("2025-01-08", None), ("2025-02-08", None)), None),  # corrected since
])
def test_ibandronate_150_mg_more_often_than_monthly_is_a_dose_error(policy, doses, expected):
    f = facts(*(dose(IBN, day, 150, supply=supply) for day, supply in doses))
    assert severity(f, "2025-02-10", policy, "ALERT-IBN-DOSE") == expected


@pytest.mark.parametrize(("mg", "every", "expected"), [(150, 3, "block"), (150, 1, None), (3, 3, None)])
def test_an_ibandronate_150_mg_course_at_another_interval_is_a_dose_error(policy, mg, every, expected):
    f = facts(course(IBN, "2025-01-01", mg=mg, every=every))
    assert severity(f, "2025-02-10", policy, "ALERT-IBN-DOSE") == expected


@pytest.mark.parametrize(("route", "mg", "every", "expected"), [
    (Route.IV, None, None, None),
    (Route.ORAL, None, None, "block"),
    (None, 3, None, None),  # up to 3 mg is IV
    (None, 150, None, "block"),
    (None, None, 3, None),  # no dose: a 3-monthly course is IV
    (None, None, 1, "block"),
])
def test_ibandronate_is_iv_or_oral_by_route_then_dose_then_interval(policy, route, mg, every, expected):
    f = facts(course(IBN, "2025-01-01", every=every), dose(IBN, "2025-01-01", mg, route=route),
              note(NoteKind.ORAL_BP_ADMIN_PROBLEM, "2025-01-05"))
    assert severity(f, "2025-01-10", policy, "ALERT-ORAL-BP-ADMIN") == expected


@pytest.mark.parametrize(("bp_start", "expected"), [
    ("2024-03-01", "warn"),  # alendronate on top of denosumab
    ("2024-07-01", None),  # sequential BP: from last dose + 6 m - 28 d (2024-06-12)
    ("2024-06-11", "warn"),
])
def test_denosumab_and_a_bisphosphonate_together_warn_outside_the_switch(policy, bp_start, expected):
    f = facts(course(DMAB, "2024-01-10", mg=60), dose(DMAB, "2024-01-10", 60), course(ZOL, bp_start, mg=5),
              dose(ZOL, bp_start, 5))
    assert severity(f, "2024-08-01", policy, "ALERT-DUAL-ANTIRESORPTIVE") == expected


# --------------------------------------------------------------------------- treatment gap


def untreated_osteopenia_on_ai(*extra):
    """T -1.5 and an AI from 2024-01-01: HIGH (H3a) from that day."""
    return facts(course(ANA, "2024-01-01"), dxa("2024-01-01", "-1.5"), *extra)


@pytest.mark.parametrize(("as_of", "expected"), [("2024-03-31", None), ("2024-04-01", "warn")])
def test_treatment_gap_warns_after_more_than_90_days_without_a_bma(policy, as_of, expected):
    assert severity(untreated_osteopenia_on_ai(), as_of, policy, "ALERT-TREATMENT-GAP") == expected


def test_treatment_gap_starts_on_day_91_and_that_is_the_next_change(policy):
    alerts, next_change = run(untreated_osteopenia_on_ai(), "2024-03-31", policy)
    assert alerts == () and next_change == d("2024-04-01")
    assert alert(untreated_osteopenia_on_ai(), "2024-06-01", policy, "ALERT-TREATMENT-GAP").since == d("2024-04-01")


@pytest.mark.parametrize("extra", [
    note(NoteKind.BMA_DECLINED, "2024-02-01"),
    note(NoteKind.BMA_CONTRAINDICATED),
    course(ALN, "2024-03-01"),
    course(ALN, "2024-02-01", stop="2024-03-01"),
])
def test_no_treatment_gap_when_a_bma_ran_or_was_declined(policy, extra):
    assert severity(untreated_osteopenia_on_ai(extra), "2024-06-01", policy, "ALERT-TREATMENT-GAP") is None


def test_treatment_gap_counts_from_the_fact_that_raised_the_tier(policy):
    # A normal DXA and no AI is LOW; the AI start on 2024-05-01 makes it MODERATE (M1).
    f = facts(dxa("2024-01-01", "-0.5"), course(ANA, "2024-05-01"))
    assert severity(f, "2024-07-30", policy, "ALERT-TREATMENT-GAP") is None
    assert alert(f, "2024-07-31", policy, "ALERT-TREATMENT-GAP").since == d("2024-07-31")


def test_a_bma_stopped_before_the_tier_rose_does_not_prevent_the_gap(policy):
    f = facts(course(ALN, "2022-01-01", stop="2023-01-01"), dxa("2024-01-01", "-0.5"), course(ANA, "2024-05-01"))
    assert severity(f, "2024-08-01", policy, "ALERT-TREATMENT-GAP") == "warn"


SCENARIOS = {
    "planned AI, no DXA": facts(course(ANA, planned="2024-06-01")),
    "planned AI that expires": facts(course(ANA, planned="2024-03-01")),
    "AI with a supply gap": facts(course(ANA, "2024-01-01"), dose(ANA, "2024-01-01", supply=30),
                                  dose(ANA, "2024-01-20", supply=30), dose(ANA, "2024-08-01", supply=90)),
    "AI stopped, osteopenia ages": facts(course(ANA, "2024-01-01", stop="2024-04-01"), dxa("2022-03-01", "-1.8"),
                                         dxa("2022-04-15", "-0.4", DxaSite.LUMBAR_SPINE)),
    "fracture then normal DXA": facts(dxa("2024-01-01", "0.2"), fracture("2024-05-05", FractureSite.HIP)),
    "normal then osteopenic DXA": facts(dxa("2023-01-01", "-0.9"), dxa("2024-02-01", "-1.1")),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_raised_spans_agree_with_the_tier_from_risk_assess_on_every_day(policy, name):
    f = SCENARIOS[name]
    as_of = d("2025-12-31")
    spans = raised_spans(f, as_of, policy)
    day = d("2023-06-01")
    while day <= as_of:
        covered = any(a <= day and (b is None or day < b) for a, b in spans)
        assert covered == (assess(f, as_of=day, policy=policy).tier in (Tier.MODERATE, Tier.HIGH)), day
        day = date.fromordinal(day.toordinal() + 7)


def test_raised_since_joins_touching_spans_and_ignores_a_broken_run():
    spans = [(d("2024-01-01"), d("2024-02-01")), (d("2024-02-01"), None), (d("2023-01-01"), d("2023-06-01"))]
    assert raised_since(spans, d("2024-05-01")) == d("2024-01-01")
    assert raised_since(spans, d("2023-07-01")) is None


# --------------------------------------------------------------------------- exit


@pytest.mark.parametrize(("extra", "since", "words"), [
    (note(NoteKind.BONE_METASTASIS, "2025-03-01"), "2025-03-01", "Bone metastasis recorded (2025-03-01)"),
    (note(NoteKind.BONE_METASTASIS), "2024-01-01", "Bone metastasis recorded (2024-01-01)"),
    (dose(DMAB, "2025-02-01", 120), "2025-02-01", "Denosumab 120 mg (the metastatic regimen)"),
    (fracture("2025-02-01", FractureSite.VERTEBRA, Mechanism.PATHOLOGICAL), "2025-02-01", "Pathological"),
    (note(NoteKind.OFS, "2025-02-01"), "2025-02-01", "Ovarian function suppression"),
])
def test_exit_alert_names_the_reason_and_dates_it_by_the_earliest_triggering_fact(policy, extra, since, words):
    f = facts(course(ANA, "2024-01-01"), extra)
    found = exit_alert(f, assess(f, as_of=d("2025-06-01"), policy=policy))
    assert found.code == "ALERT-EXIT" and found.severity is Severity.CRITICAL and found.since == d(since)
    assert words in found.message and found.message.endswith("leave the AI bone-health pathway")


def test_exit_alert_for_metastasis_tells_to_move_to_metastatic_bone_care(policy):
    f = facts(note(NoteKind.BONE_METASTASIS, "2025-03-01"))
    assert exit_alert(f, assess(f, as_of=d("2025-06-01"), policy=policy)).message == (
        "Bone metastasis recorded (2025-03-01): metastatic bone care, leave the AI bone-health pathway")


def test_undated_metastasis_with_no_dated_fact_dates_from_birth(policy):
    f = facts(note(NoteKind.BONE_METASTASIS))
    assert exit_alert(f, assess(f, as_of=d("2025-06-01"), policy=policy)).since == f.patient.birth_date


def test_zoledronic_acid_at_the_metastatic_interval_exits_from_the_second_dose(policy):
    f = facts(dose(ZOL, "2025-01-01", 4), dose(ZOL, "2025-01-29", 4))
    found = exit_alert(f, assess(f, as_of=d("2025-02-10"), policy=policy))
    assert found.since == d("2025-01-29") and "28 days apart" in found.message


def test_premenopausal_women_exit_and_men_and_the_dead_have_no_exit_alert(policy):
    pre = facts(dose(ANA, "2024-01-01"), menopause=Menopause.PRE)
    assert exit_alert(pre, assess(pre, as_of=d("2025-01-01"), policy=policy)).since == d("2024-01-01")
    male = facts(note(NoteKind.BONE_METASTASIS, "2024-01-01"), sex=Sex.MALE)
    assert exit_alert(male, assess(male, as_of=d("2025-01-01"), policy=policy)) is None
    dead = facts(note(NoteKind.BONE_METASTASIS, "2024-01-01"), deceased_date=d("2024-06-01"))
    assert exit_alert(dead, assess(dead, as_of=d("2025-01-01"), policy=policy)) is None


def test_no_exit_alert_in_the_pathway(policy):
    f = untreated_osteopenia_on_ai()
    assert exit_alert(f, assess(f, as_of=d("2025-01-01"), policy=policy)) is None


# --------------------------------------------------------------------------- purity and shape


def test_no_safety_alerts_outside_the_pathway(policy):
    f = on_denosumab(note(NoteKind.BONE_METASTASIS, "2025-02-01"), calcium("2025-03-01", 1.8))
    assert run(f, "2025-03-10", policy, DMAB_DUE) == ((), None)


def test_facts_after_as_of_are_ignored_and_their_date_is_the_next_change(policy):
    f = on_denosumab(note(NoteKind.DENTAL_CHECK, "2024-07-01"), calcium("2025-03-20", 1.8))
    alerts, next_change = run(f, "2025-03-10", policy)
    assert alerts == () and next_change == d("2025-03-20")


def test_one_alert_per_code_with_the_reasons_joined_and_the_earliest_since(policy):
    f = on_zol5(crcl("2025-01-10", 20), note(NoteKind.ACUTE_RENAL_IMPAIRMENT, "2025-02-01"))
    alerts, _ = run(f, "2025-07-10", policy, ZOL5_DUE)
    renal = [a for a in alerts if a.code == "ALERT-RENAL-ZOL5"]
    assert len(renal) == 1 and renal[0].since == d("2025-01-10")
    assert "below 35" in renal[0].message and "Acute renal impairment" in renal[0].message
    assert "No creatinine result in the 30 days" in renal[0].message


def test_alerts_are_sorted_block_first(policy):
    alerts, _ = run(on_denosumab(calcium("2025-03-01", 2.0), lab(LabAnalyte.EGFR, "2025-03-01", 20)), "2025-03-10",
                    policy)
    assert [a.severity.rank for a in alerts] == sorted(a.severity.rank for a in alerts)
    assert {a.code for a in alerts} == {"ALERT-HYPOCA", "ALERT-DMAB-CKD", "ALERT-DENTAL"}


@pytest.mark.parametrize(("dose_day", "months", "opens"), [
    ("2025-08-31", 6, "2025-03-01"),
    ("2025-02-28", 6, "2024-08-28"),
    ("2024-02-29", 12, "2023-03-01"),  # 2023-02-28 + 12 m = 2024-02-28: a day too old
])
def test_a_month_window_opens_on_the_first_day_whose_result_is_young_enough(dose_day, months, opens):
    assert Span(months=months).opens(d(dose_day)) == d(opens)


def test_pre_dose_reports_the_day_the_result_stops_counting():
    check = pre_dose(d("2025-07-15"), [d("2025-07-01")], d("2025-07-05"), Span(days=30))
    assert check.missing_since is None and check.result == d("2025-07-01") and check.next_change == d("2025-08-01")
