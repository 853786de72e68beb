"""docs/rules.md TIER, H1–UX: the tier function, rule by rule, with boundaries on both sides."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from monitor.core.domain import (
    AIStatus,
    BmdStatus,
    Dose,
    Drug,
    DxaRoi,
    DxaSite,
    Fracture,
    FractureSite,
    Frax,
    Mechanism,
    Menopause,
    Note,
    NoteKind,
    Patient,
    PatientFacts,
    Sex,
    TherapyCourse,
    Tier,
    Vitals,
)
from monitor.core.risk import assess, round_t

AS_OF = date(2025, 1, 15)
WOMAN = Patient("R1", date(1952, 5, 10), Sex.FEMALE, Menopause.POST)


def dxa(t: str | None, day: date = date(2024, 9, 1), site: DxaSite = DxaSite.FEMORAL_NECK, **kw) -> DxaRoi:
    return DxaRoi(day, site, Decimal(t) if t is not None else None, **kw)


def ai_current(start: date = date(2024, 7, 1)) -> dict:
    return {"courses": (TherapyCourse(Drug.ANASTROZOLE, start=start),),
            "doses": (Dose(Drug.ANASTROZOLE, start, 1, 90), Dose(Drug.ANASTROZOLE, date(2024, 12, 20), 1, 90))}


def ai_planned(start: date = date(2025, 2, 14)) -> dict:
    return {"courses": (TherapyCourse(Drug.LETROZOLE, planned_start=start),)}


def facts(*rois: DxaRoi, patient: Patient = WOMAN, **kw) -> PatientFacts:
    return PatientFacts(patient, dxa=tuple(rois), **kw)


def run(f: PatientFacts, as_of: date = AS_OF, policy=None):
    return assess(f, as_of=as_of, policy=policy)


# --------------------------------------------------------------------------- worked examples


@pytest.mark.parametrize(
    ("t", "extra", "tier", "reason"),
    [
        ("-0.8", {}, Tier.LOW, "L1"),
        ("-1.0", {}, Tier.LOW, "L1"),
        ("-1.0", ai_current(), Tier.MODERATE, "M1"),
        ("-1.04", ai_current(), Tier.MODERATE, "M1"),
        ("-1.05", ai_current(), Tier.HIGH, "H3a"),
        ("-1.1", {}, Tier.MODERATE, "M2"),
        ("-1.1", ai_planned(), Tier.HIGH, "H3a"),
        ("-2.4", {"frax": (Frax(date(2024, 9, 1), hip=3.0, mof=12.0),)}, Tier.HIGH, "H3c"),
        ("-2.4", {"frax": (Frax(date(2024, 9, 1), hip=2.9, mof=19.9),)}, Tier.MODERATE, "M2"),
        ("-2.5", {}, Tier.HIGH, "H2"),
    ],
    ids=[f"spec-2.4-#{i}" for i in range(1, 11)],
)
def test_spec_examples_give_the_published_tier(policy, t, extra, tier, reason):
    a = run(facts(dxa(t), **extra), policy=policy)
    assert a.tier is tier
    assert a.reasons == (reason,)


# --------------------------------------------------------------------------- A3 rounding


@pytest.mark.parametrize(
    ("reported", "rounded"),
    [("-1.04", "-1.0"), ("-1.05", "-1.1"), ("-2.45", "-2.5"), ("-2.46", "-2.5"), ("-2.44", "-2.4"),
     ("-0.95", "-1.0"), ("0.05", "0.1"), ("-1.0499999999", "-1.0")],
)
def test_t_scores_round_half_away_from_zero_in_decimal(reported, rounded):
    assert round_t(Decimal(reported)) == Decimal(rounded)


@pytest.mark.parametrize(
    ("t", "tier", "reason"),
    [("-1.04", Tier.LOW, "L1"), ("-1.05", Tier.MODERATE, "M2"), ("-2.44", Tier.MODERATE, "M2"),
     ("-2.45", Tier.HIGH, "H2"), ("-2.46", Tier.HIGH, "H2")],
)
def test_tier_boundaries_are_judged_after_rounding(policy, t, tier, reason):
    a = run(facts(dxa(t)), policy=policy)
    assert (a.tier, a.reasons) == (tier, (reason,))


def test_reported_t_min_is_the_rounded_value_used_for_the_tier(policy):
    a = run(facts(dxa("-1.05")), policy=policy)
    assert a.t_min == Decimal("-1.1")


# --------------------------------------------------------------------------- H rules collect every reason


def test_every_h_rule_that_holds_is_a_reason(policy):
    f = facts(
        dxa("-1.5"),
        fractures=(Fracture(date(2024, 5, 1), FractureSite.HIP, Mechanism.FRAGILITY),
                   Fracture(date(2024, 6, 1), FractureSite.DISTAL_FOREARM, Mechanism.FRAGILITY)),
        frax=(Frax(date(2024, 10, 1), hip=4.0),),
        **ai_current(),
    )
    a = run(f, policy=policy)
    assert a.tier is Tier.HIGH
    assert a.reasons == ("H1", "H3a", "H3b", "H3c")


def test_h1_and_h2_both_listed_with_osteoporosis_and_a_vertebral_fracture(policy):
    f = facts(dxa("-2.8"), fractures=(Fracture(date(2023, 1, 1), FractureSite.VERTEBRA, Mechanism.FRAGILITY),))
    assert run(f, policy=policy).reasons == ("H1", "H2")


def test_h1_holds_without_any_bmd_and_flags_no_bmd(policy):
    f = facts(fractures=(Fracture(date(2020, 1, 1), FractureSite.HIP, Mechanism.FRAGILITY),))
    a = run(f, policy=policy)
    assert (a.tier, a.reasons, a.provisional) == (Tier.HIGH, ("H1",), False)
    assert "NO_BMD" in a.flags


@pytest.mark.parametrize("mechanism", [Mechanism.TRAUMA, Mechanism.UNKNOWN, Mechanism.ATYPICAL])
def test_a_hip_fracture_that_is_not_fragility_is_not_h1(policy, mechanism):
    f = facts(dxa("-0.5"), fractures=(Fracture(date(2024, 1, 1), FractureSite.HIP, mechanism),))
    a = run(f, policy=policy)
    assert "H1" not in a.reasons
    assert a.tier is Tier.LOW


def test_unknown_mechanism_is_flagged_for_review(policy):
    f = facts(dxa("-0.5"), fractures=(Fracture(date(2024, 1, 1), FractureSite.HIP, Mechanism.UNKNOWN),))
    assert "FX_MECHANISM_UNKNOWN" in run(f, policy=policy).flags


def test_genant_grade_1_vertebral_deformity_only_flags_review(policy):
    f = facts(dxa("-0.5"), fractures=(Fracture(date(2024, 1, 1), FractureSite.VERTEBRA, Mechanism.FRAGILITY,
                                               genant_grade=1),))
    a = run(f, policy=policy)
    assert "H1" not in a.reasons
    assert "VERTEBRAL_DEFORMITY_REVIEW" in a.flags


def test_a_fracture_after_as_of_is_not_yet_known(policy):
    f = facts(dxa("-0.5"), fractures=(Fracture(date(2025, 1, 16), FractureSite.HIP, Mechanism.FRAGILITY),))
    assert run(f, policy=policy).tier is Tier.LOW


@pytest.mark.parametrize("site", [FractureSite.PROXIMAL_HUMERUS, FractureSite.PELVIS, FractureSite.DISTAL_FOREARM])
def test_h3b_sites_raise_osteopenia_to_high(policy, site):
    f = facts(dxa("-1.5"), fractures=(Fracture(date(2024, 2, 1), site, Mechanism.FRAGILITY),))
    assert run(f, policy=policy).reasons == ("H3b",)


def test_other_site_fragility_fracture_does_not_raise_the_tier(policy):
    f = facts(dxa("-1.5"), fractures=(Fracture(date(2024, 2, 1), FractureSite.OTHER, Mechanism.FRAGILITY),))
    assert run(f, policy=policy).reasons == ("M2",)


# --------------------------------------------------------------------------- A9: factors outside the tier


def test_fracture_and_frax_with_normal_bmd_keep_the_tier_and_flag_review(policy):
    f = facts(dxa("-0.5"), fractures=(Fracture(date(2024, 2, 1), FractureSite.PELVIS, Mechanism.FRAGILITY),),
              frax=(Frax(date(2024, 10, 1), mof=25.0),))
    a = run(f, policy=policy)
    assert (a.tier, a.reasons) == (Tier.LOW, ("L1",))
    assert {"FX_OUTSIDE_TIER", "FRAX_OUTSIDE_TIER"} <= set(a.flags)


# --------------------------------------------------------------------------- FRAX usability (A8)


@pytest.mark.parametrize(
    ("hip", "mof", "high"),
    [(3.0, None, True), (2.99, None, False), (None, 20.0, True), (None, 19.99, False), (2.9, 19.9, False)],
)
def test_either_frax_threshold_is_enough_and_equality_counts(policy, hip, mof, high):
    a = run(facts(dxa("-2.0"), frax=(Frax(date(2024, 9, 1), hip=hip, mof=mof),)), policy=policy)
    assert ("H3c" in a.reasons) is high


@pytest.mark.parametrize(("as_of", "usable"), [(date(2025, 9, 1), True), (date(2025, 9, 2), False)])
def test_frax_is_usable_for_12_calendar_months(policy, as_of, usable):
    f = facts(dxa("-2.0", day=date(2024, 9, 1)), frax=(Frax(date(2024, 9, 1), hip=5.0),))
    assert ("H3c" in run(f, as_of, policy).reasons) is usable


def test_frax_older_than_the_latest_dxa_is_not_usable(policy):
    f = facts(dxa("-2.0", day=date(2024, 9, 2)), frax=(Frax(date(2024, 9, 1), hip=5.0),))
    assert run(f, policy=policy).reasons == ("M2",)


def test_frax_older_than_the_latest_fracture_is_not_usable(policy):
    f = facts(dxa("-2.0"), frax=(Frax(date(2024, 9, 1), hip=5.0),),
              fractures=(Fracture(date(2024, 10, 1), FractureSite.OTHER, Mechanism.TRAUMA),))
    assert run(f, policy=policy).reasons == ("M2",)


def test_frax_does_not_raise_the_tier_without_bmd(policy):
    a = run(facts(frax=(Frax(date(2024, 12, 1), hip=9.0, mof=30.0),)), policy=policy)
    assert (a.tier, a.reasons) == (Tier.UNKNOWN, ("UX",))


# --------------------------------------------------------------------------- A1, A1b, A2: which T-score


def test_t_min_is_the_lowest_valid_roi_of_the_assessment(policy):
    f = facts(dxa("-1.2", site=DxaSite.LUMBAR_SPINE, vertebrae=4), dxa("-2.0", site=DxaSite.TOTAL_HIP),
              dxa("-1.7", site=DxaSite.FEMORAL_NECK))
    a = run(f, policy=policy)
    assert (a.t_min, a.t_min_site) == (Decimal("-2.0"), DxaSite.TOTAL_HIP)


@pytest.mark.parametrize("site", [DxaSite.TROCHANTER, DxaSite.WARDS, DxaSite.SINGLE_VERTEBRA,
                                  DxaSite.ULTRADISTAL_RADIUS, DxaSite.TOTAL_FOREARM, DxaSite.CALCANEUS])
def test_excluded_regions_never_set_the_tier(policy, site):
    f = facts(dxa("-0.5"), dxa("-3.0", site=site))
    assert run(f, policy=policy).tier is Tier.LOW


@pytest.mark.parametrize(("vertebrae", "counts"), [(1, False), (2, True), (4, True), (None, True)])
def test_lumbar_spine_needs_at_least_two_vertebrae(policy, vertebrae, counts):
    f = facts(dxa("-0.5"), dxa("-3.0", site=DxaSite.LUMBAR_SPINE, vertebrae=vertebrae))
    assert (run(f, policy=policy).tier is Tier.HIGH) is counts


def test_radius_33_counts_and_a_radius_only_exam_is_valid(policy):
    a = run(facts(dxa("-2.6", site=DxaSite.RADIUS_33)), policy=policy)
    assert (a.tier, a.t_min_site) == (Tier.HIGH, DxaSite.RADIUS_33)


def test_an_invalid_roi_is_ignored(policy):
    a = run(facts(dxa("-0.5"), dxa("-3.0", site=DxaSite.TOTAL_HIP, valid=False)), policy=policy)
    assert a.tier is Tier.LOW


def test_site_unspecified_counts_for_tiering_with_a_flag(policy):
    a = run(facts(dxa("-3.31", site=DxaSite.UNSPECIFIED)), policy=policy)
    assert (a.tier, a.t_min_site) == (Tier.HIGH, DxaSite.UNSPECIFIED)
    assert "SITE_UNSPECIFIED" in a.flags


@pytest.mark.parametrize(("days_before", "joins"), [(90, True), (91, False)])
def test_rois_within_90_days_of_the_latest_exam_join_its_assessment(policy, days_before, joins):
    latest = date(2024, 9, 1)
    earlier = date.fromordinal(latest.toordinal() - days_before)
    f = facts(dxa("-0.5", day=latest), dxa("-2.7", day=earlier, site=DxaSite.LUMBAR_SPINE))
    assert (run(f, policy=policy).tier is Tier.HIGH) is joins


def test_older_rois_are_never_carried_forward(policy):
    f = facts(dxa("-3.0", day=date(2023, 1, 1), site=DxaSite.LUMBAR_SPINE), dxa("-0.5", day=date(2024, 9, 1)))
    a = run(f, policy=policy)
    assert (a.tier, a.bmd_date) == (Tier.LOW, date(2024, 9, 1))


def test_a_dxa_after_as_of_is_not_yet_known(policy):
    a = run(facts(dxa("-3.0", day=date(2025, 1, 16))), policy=policy)
    assert a.bmd_status is BmdStatus.NONE


# --------------------------------------------------------------------------- A6, A7: age of the BMD


@pytest.mark.parametrize(
    ("exam", "as_of", "status"),
    [
        (date(2023, 1, 15), date(2024, 1, 15), BmdStatus.FRESH),
        (date(2023, 1, 15), date(2024, 1, 16), BmdStatus.AGING),
        (date(2023, 1, 15), date(2025, 1, 15), BmdStatus.AGING),
        (date(2023, 1, 15), date(2025, 1, 16), BmdStatus.STALE),
        (date(2022, 8, 31), date(2024, 8, 31), BmdStatus.AGING),  # month end
        (date(2022, 8, 31), date(2024, 9, 1), BmdStatus.STALE),
        (date(2024, 2, 29), date(2025, 2, 28), BmdStatus.FRESH),  # leap day + 12 m = 28 Feb
        (date(2024, 2, 29), date(2025, 3, 1), BmdStatus.AGING),
    ],
)
def test_bmd_age_is_counted_in_calendar_months(policy, exam, as_of, status):
    assert run(facts(dxa("-1.5", day=exam)), as_of, policy).bmd_status is status


def test_a_stale_dxa_is_treated_as_no_bmd(policy):
    a = run(facts(dxa("-3.0", day=date(2022, 1, 1))), date(2025, 1, 15), policy)
    assert (a.tier, a.reasons, a.t_min) == (Tier.UNKNOWN, ("UX",), None)
    assert "BMD_STALE" in a.flags


def test_no_bmd_with_ai_is_provisional_moderate(policy):
    a = run(facts(**ai_current()), policy=policy)
    assert (a.tier, a.reasons, a.provisional) == (Tier.MODERATE, ("MX",), True)
    assert "NO_BMD" in a.flags


def test_stale_bmd_with_ai_is_provisional_moderate_flagged_stale(policy):
    a = run(facts(dxa("-0.2", day=date(2022, 6, 1)), **ai_current()), policy=policy)
    assert (a.tier, a.reasons, a.provisional) == (Tier.MODERATE, ("MX",), True)
    assert "BMD_STALE" in a.flags and "NO_BMD" not in a.flags


def test_aging_bmd_on_a_moderate_tier_flags_bmd_due(policy):
    a = run(facts(dxa("-1.5", day=date(2023, 6, 1))), date(2024, 9, 1), policy)
    assert a.tier is Tier.MODERATE and "BMD_DUE" in a.flags


def test_aging_bmd_on_a_low_tier_is_not_due(policy):
    a = run(facts(dxa("-0.5", day=date(2023, 6, 1))), date(2024, 9, 1), policy)
    assert a.tier is Tier.LOW and "BMD_DUE" not in a.flags


# --------------------------------------------------------------------------- A4, A5: AI status


def test_tamoxifen_is_not_an_ai(policy):
    f = facts(dxa("-1.5"), courses=(TherapyCourse(Drug.TAMOXIFEN, start=date(2024, 1, 1)),))
    a = run(f, policy=policy)
    assert (a.ai_status, a.tier, a.reasons) == (AIStatus.NONE, Tier.MODERATE, ("M2",))


@pytest.mark.parametrize(
    ("as_of", "status"),
    [(date(2025, 4, 16), AIStatus.CURRENT), (date(2025, 4, 17), AIStatus.CURRENT), (date(2025, 4, 18), AIStatus.PAST)],
)
def test_ai_is_current_until_60_days_after_the_last_supply_ends(policy, as_of, status):
    # 90 days dispensed on 2024-11-19 cover 2024-11-19 … 2025-02-16; + 60 days = 2025-04-17.
    f = facts(dxa("-0.5"), courses=(TherapyCourse(Drug.ANASTROZOLE, start=date(2024, 7, 1)),),
              doses=(Dose(Drug.ANASTROZOLE, date(2024, 11, 19), 1, 90),))
    assert run(f, as_of, policy).ai_status is status


def test_a_supply_gap_makes_the_ai_past_and_flags_it(policy):
    f = facts(dxa("-0.5"), courses=(TherapyCourse(Drug.ANASTROZOLE, start=date(2023, 1, 1)),),
              doses=(Dose(Drug.ANASTROZOLE, date(2023, 1, 1), 1, 30),))
    a = run(f, date(2024, 1, 1), policy)
    assert a.ai_status is AIStatus.PAST
    assert {"AI_SUPPLY_GAP", "AI_COMPLETED"} <= set(a.flags)


def test_overlapping_fills_shift_the_end_of_supply(policy):
    # Two 30-day fills 10 days apart cover 60 days: 2024-01-01 … 2024-02-29; + 60 d = 2024-04-29.
    f = facts(dxa("-0.5"), courses=(TherapyCourse(Drug.LETROZOLE, start=date(2024, 1, 1)),),
              doses=(Dose(Drug.LETROZOLE, date(2024, 1, 1), 2.5, 30), Dose(Drug.LETROZOLE, date(2024, 1, 11), 2.5, 30)))
    assert run(f, date(2024, 4, 29), policy).ai_status is AIStatus.CURRENT
    assert run(f, date(2024, 4, 30), policy).ai_status is AIStatus.PAST


def test_a_course_without_dispenses_is_current_until_its_documented_stop(policy):
    course = TherapyCourse(Drug.EXEMESTANE, start=date(2020, 1, 1), stop=date(2025, 1, 1))
    f = facts(dxa("-0.5"), courses=(course,))
    assert run(f, date(2024, 12, 31), policy).ai_status is AIStatus.CURRENT
    assert run(f, date(2025, 1, 1), policy).ai_status is AIStatus.PAST


def test_a_stop_after_as_of_has_not_happened_yet(policy):
    course = TherapyCourse(Drug.EXEMESTANE, start=date(2020, 1, 1), stop=date(2025, 6, 1))
    assert run(facts(dxa("-0.5"), courses=(course,)), policy=policy).ai_status is AIStatus.CURRENT


@pytest.mark.parametrize(
    ("as_of", "status", "flag"),
    [
        (date(2024, 11, 15), AIStatus.NONE, None),  # 91 days before the planned start
        (date(2024, 11, 16), AIStatus.PLANNED, None),  # 90 days before
        (date(2025, 5, 14), AIStatus.PLANNED, None),  # 89 days after, still not started
        (date(2025, 5, 15), AIStatus.NONE, "AI_PLAN_EXPIRED"),  # 90 days after: expired
    ],
)
def test_a_planned_ai_counts_within_90_days_and_expires_90_days_after(policy, as_of, status, flag):
    f = facts(dxa("-1.5"), courses=(TherapyCourse(Drug.LETROZOLE, planned_start=date(2025, 2, 14)),))
    a = run(f, as_of, policy)
    assert a.ai_status is status
    if flag:
        assert flag in a.flags


def test_a_finished_ai_recomputes_the_tier_and_flags_completion(policy):
    course = TherapyCourse(Drug.ANASTROZOLE, start=date(2019, 1, 1), stop=date(2024, 1, 1))
    a = run(facts(dxa("-0.5"), courses=(course,)), policy=policy)
    assert (a.ai_status, a.tier, a.reasons) == (AIStatus.PAST, Tier.LOW, ("L1",))
    assert "AI_COMPLETED" in a.flags


def test_a_dispense_without_a_course_implies_one(policy):
    f = facts(dxa("-1.5"), doses=(Dose(Drug.LETROZOLE, date(2024, 12, 1), 2.5, 90),))
    assert run(f, policy=policy).ai_status is AIStatus.CURRENT


# --------------------------------------------------------------------------- scope and exit (SCOPE, A11, A1c)


def test_men_are_out_of_scope_and_leave_the_pathway(policy):
    a = run(facts(dxa("-3.0"), patient=replace(WOMAN, sex=Sex.MALE)), policy=policy)
    assert not a.in_pathway and "OUT_OF_SCOPE" in a.flags and "MALE" in a.exit_reasons


@pytest.mark.parametrize(
    ("change", "note", "reason"),
    [({"menopause": Menopause.PRE}, None, "PREMENOPAUSAL"), ({}, NoteKind.OFS, "OFS")],
)
def test_premenopausal_women_and_ovarian_suppression_are_out_of_scope(policy, change, note, reason):
    notes = (Note(note, date(2024, 1, 1)),) if note else ()
    a = run(facts(dxa("-1.5"), patient=replace(WOMAN, **change), notes=notes), policy=policy)
    assert not a.in_pathway and reason in a.exit_reasons and "OUT_OF_SCOPE" in a.flags


def test_undated_bone_metastasis_exits_the_pathway_on_every_date(policy):
    f = facts(dxa("-1.5"), notes=(Note(NoteKind.BONE_METASTASIS, None),))
    for day in (date(1990, 1, 1), AS_OF):
        a = run(f, day, policy)
        assert "BONE_METASTASIS" in a.exit_reasons and not a.in_pathway


def test_a_dated_metastasis_note_counts_from_its_date(policy):
    f = facts(dxa("-1.5"), notes=(Note(NoteKind.BONE_METASTASIS, date(2025, 1, 16)),))
    assert run(f, policy=policy).in_pathway
    assert not run(f, date(2025, 1, 16), policy).in_pathway


def test_a_pathological_fracture_is_not_h1_but_exits(policy):
    f = facts(dxa("-0.5"), fractures=(Fracture(date(2024, 1, 1), FractureSite.VERTEBRA, Mechanism.PATHOLOGICAL),))
    a = run(f, policy=policy)
    assert "H1" not in a.reasons and "PATHOLOGICAL_FRACTURE" in a.exit_reasons


def test_denosumab_120_mg_is_the_metastatic_regimen(policy):
    f = facts(dxa("-1.5"), doses=(Dose(Drug.DENOSUMAB, date(2024, 6, 1), 120),))
    assert "DENOSUMAB_120" in run(f, policy=policy).exit_reasons


@pytest.mark.parametrize(("gap_days", "exits"), [(28, True), (34, True), (35, False), (180, False)])
def test_zoledronic_acid_every_3_to_4_weeks_is_the_metastatic_regimen(policy, gap_days, exits):
    first = date(2024, 6, 1)
    doses = (Dose(Drug.ZOLEDRONIC_ACID, first, 4), Dose(Drug.ZOLEDRONIC_ACID,
                                                        date.fromordinal(first.toordinal() + gap_days), 4))
    a = run(facts(dxa("-1.5"), doses=doses), policy=policy)
    assert ("ZOL_METASTATIC_REGIMEN" in a.exit_reasons) is exits


@pytest.mark.parametrize(("as_of", "in_pathway"), [(date(2024, 12, 31), True), (date(2025, 1, 1), False)])
def test_death_takes_her_out_of_the_pathway_on_that_date(policy, as_of, in_pathway):
    f = facts(dxa("-1.5"), patient=replace(WOMAN, deceased_date=date(2025, 1, 1)))
    assert run(f, as_of, policy).in_pathway is in_pathway


# --------------------------------------------------------------------------- A14 lifestyle


@pytest.mark.parametrize(
    ("vitals", "flags"),
    [
        (Vitals(date(2024, 9, 1), bmi=19.9), {"BMI_LOW"}),
        (Vitals(date(2024, 9, 1), bmi=20.0), set()),
        (Vitals(date(2024, 9, 1), bmi=24.0), set()),
        (Vitals(date(2024, 9, 1), bmi=24.1), {"BMI_HIGH"}),
        (Vitals(date(2024, 9, 1), waist_cm=79.9), set()),
        (Vitals(date(2024, 9, 1), waist_cm=80.0), {"WAIST_HIGH"}),
        (Vitals(date(2024, 9, 1), weight_kg=50, height_cm=165), {"BMI_LOW"}),  # 18.4 computed
    ],
)
def test_lifestyle_flags_come_from_the_latest_vitals(policy, vitals, flags):
    a = run(facts(dxa("-0.5"), vitals=(vitals,)), policy=policy)
    assert {f for f in a.flags if f in ("BMI_LOW", "BMI_HIGH", "WAIST_HIGH")} == flags
    assert a.tier is Tier.LOW  # not a tier input


def test_only_the_latest_bmi_counts(policy):
    v = (Vitals(date(2023, 1, 1), bmi=18.0), Vitals(date(2024, 1, 1), bmi=22.0))
    assert "BMI_LOW" not in run(facts(dxa("-0.5"), vitals=v), policy=policy).flags


# --------------------------------------------------------------------------- PROFILES


def _profile(policy, name):
    return replace(policy, risk=replace(policy.risk, profile=name))


def test_paper_profile_indicates_a_bma_for_moderate_and_high_only(policy):
    assert run(facts(dxa("-0.5"), **ai_current()), policy=policy).bma_indicated  # M1
    assert not run(facts(dxa("-0.5")), policy=policy).bma_indicated  # L1
    assert not run(facts(), policy=policy).bma_indicated  # UX


@pytest.mark.parametrize(
    ("t", "extra", "indicated"),
    [("-2.1", {}, True), ("-2.0", {}, False), ("-1.6", ai_current(), True), ("-1.5", ai_current(), False)],
)
def test_hadji_profile_uses_its_own_thresholds(policy, t, extra, indicated):
    young = replace(WOMAN, birth_date=date(1970, 1, 1))  # age is not a factor here
    a = run(facts(dxa(t), patient=young, **extra), policy=_profile(policy, "hadji2017"))
    assert a.bma_indicated is indicated


def test_hadji_profile_without_bmd_needs_two_factors(policy):
    old = replace(WOMAN, birth_date=date(1940, 1, 1))  # age > 65 is one factor
    assert not run(facts(patient=old), policy=_profile(policy, "hadji2017")).bma_indicated
    assert run(facts(patient=old, **ai_current()), policy=_profile(policy, "hadji2017")).bma_indicated


def test_asco_profile_needs_axial_osteoporosis_or_frax(policy):
    p = _profile(policy, "asco2019")
    assert not run(facts(dxa("-2.6", site=DxaSite.RADIUS_33)), policy=p).bma_indicated
    assert run(facts(dxa("-2.5", site=DxaSite.TOTAL_HIP)), policy=p).bma_indicated
    assert run(facts(dxa("-0.5"), frax=(Frax(date(2024, 10, 1), mof=20.0),)), policy=p).bma_indicated


def test_profiles_never_change_the_tier(policy):
    f = facts(dxa("-1.2"), **ai_current())
    tiers = {run(f, policy=_profile(policy, n)).tier for n in ("paper", "hadji2017", "asco2019")}
    assert tiers == {Tier.HIGH}


def test_zoledronic_acid_ordered_monthly_is_the_metastatic_regimen_before_a_second_dose(policy):
    course = TherapyCourse(Drug.ZOLEDRONIC_ACID, start=date(2025, 3, 1), dose_mg=4, interval_months=1)
    f = facts(dxa("-2.7"), courses=(course,), doses=(Dose(Drug.ZOLEDRONIC_ACID, date(2025, 3, 1), 4),))
    a = run(f, date(2025, 3, 10), policy)
    assert not a.in_pathway and "ZOL_METASTATIC_REGIMEN" in a.exit_reasons


def test_zoledronic_acid_ordered_every_six_months_stays_in_the_pathway(policy):
    course = TherapyCourse(Drug.ZOLEDRONIC_ACID, start=date(2025, 3, 1), dose_mg=4, interval_months=6)
    assert run(facts(dxa("-2.7"), courses=(course,)), date(2025, 3, 10), policy).in_pathway
