"""The synthetic cohort (monitor.demo.cohort): deterministic, valid, realistic enough to exercise every rule."""

from __future__ import annotations

import collections
import statistics
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise

import pytest

from monitor.core.domain import (
    AIStatus,
    Drug,
    DxaSite,
    LabAnalyte,
    MarkerAnalyte,
    Mechanism,
    Menopause,
    NoteKind,
    PatientFacts,
    Sex,
    Tier,
)
from monitor.core.risk import assess
from monitor.demo.bone import REFERENCE
from monitor.demo.cohort import SCRIPT_NAME, generate_cohort, generate_patient, generate_range, mrn_for
from monitor.intake.validate import check_fact, check_patient

AS_OF = date(2026, 11, 25)
N = 2000
AI_MG = {Drug.ANASTROZOLE: 1.0, Drug.LETROZOLE: 2.5, Drug.EXEMESTANE: 25.0}


def groups(pf: PatientFacts) -> tuple[tuple, ...]:
    return (pf.courses, pf.doses, pf.dxa, pf.markers, pf.fractures, pf.frax, pf.labs, pf.vitals, pf.notes)


def share(count: int) -> float:
    return count / N


@pytest.fixture(scope="module")
def cohort() -> list[PatientFacts]:
    return list(generate_cohort(N, seed=42, as_of=AS_OF))


@pytest.fixture(scope="module")
def assessed(cohort, policy) -> list[tuple[PatientFacts, object]]:
    return [(pf, assess(pf, as_of=AS_OF, policy=policy)) for pf in cohort]


# --------------------------------------------------------------------------- determinism and laziness


def test_the_same_arguments_give_the_same_cohort():
    assert list(generate_cohort(200, seed=7, as_of=AS_OF)) == list(generate_cohort(200, seed=7, as_of=AS_OF))


def test_patient_i_is_the_same_in_a_cohort_of_50_or_500():
    small = list(generate_cohort(50, seed=3, as_of=AS_OF))
    large = list(generate_cohort(500, seed=3, as_of=AS_OF))
    assert small == large[:50]


def test_a_chunk_or_a_single_patient_equals_the_same_patients_of_the_whole_cohort():
    whole = list(generate_cohort(120, seed=11, as_of=AS_OF))
    assert list(generate_range(80, 120, seed=11, as_of=AS_OF)) == whole[80:]
    assert generate_patient(99, seed=11, as_of=AS_OF) == whole[99]


def test_another_seed_gives_another_cohort():
    assert list(generate_cohort(20, seed=1, as_of=AS_OF)) != list(generate_cohort(20, seed=2, as_of=AS_OF))


def test_the_cohort_is_a_lazy_iterator():
    cohort = generate_cohort(10**9, as_of=AS_OF)
    assert isinstance(cohort, Iterator)
    assert next(cohort).patient.mrn == "DEMO-000001"


def test_bad_arguments_are_refused_at_once():
    with pytest.raises(ValueError, match="start <= stop"):
        generate_cohort(-1, as_of=AS_OF)
    with pytest.raises(ValueError, match="clinic"):
        generate_cohort(3, as_of=AS_OF, clinics=())


# --------------------------------------------------------------------------- validity


def test_every_fact_of_2000_patients_passes_validation(cohort, policy):
    for pf in cohort:
        check_patient(pf.patient, AS_OF)
        for group in groups(pf):
            for fact in group:
                check_fact(fact, pf.patient, AS_OF, policy)


def test_nothing_is_dated_after_as_of_except_planned_ai_starts_within_60_days(cohort):
    planned = 0
    for pf in cohort:
        for group in groups(pf)[1:]:
            assert all(f.date is None or f.date <= AS_OF for f in group)
        for c in pf.courses:
            assert c.start is None or c.start <= AS_OF
            assert c.stop is None or c.stop <= AS_OF
            if c.start is None:
                assert c.drug.is_ai and c.planned_start <= AS_OF + timedelta(days=60)
                planned += 1
    assert planned > 0


def test_deceased_patients_have_nothing_after_death(cohort):
    deceased = [pf for pf in cohort if pf.patient.deceased_date is not None]
    assert deceased
    for pf in deceased:
        death = pf.patient.deceased_date
        assert death <= AS_OF
        for group in groups(pf)[1:]:
            assert all(f.date <= death for f in group)
        assert all(c.start is not None and c.start <= death for c in pf.courses)


def test_facts_are_sorted_by_date(cohort):
    for pf in cohort:
        for group in groups(pf)[1:]:
            dates = [f.date for f in group]
            assert dates == sorted(dates)
        firsts = [c.first_day for c in pf.courses]
        assert firsts == sorted(firsts)


def test_t_scores_follow_the_young_adult_reference(cohort):
    reference = {site: (mean, sd) for site, mean, sd, _ in REFERENCE}
    for pf in cohort[:300]:
        for roi in pf.dxa:
            mean, sd = reference[roi.site]
            expected = Decimal(str((roi.bmd - mean) / sd)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
            assert abs(roi.t_score - expected) <= Decimal("0.01")


# --------------------------------------------------------------------------- clinical realism


def test_tier_mix_has_low_moderate_high_and_patients_without_bmd(assessed):
    tiers = collections.Counter(a.tier for _, a in assessed if a.in_pathway)
    assert share(tiers[Tier.HIGH]) > 0.25
    assert share(tiers[Tier.MODERATE]) > 0.25
    assert share(tiers[Tier.LOW]) > 0.02
    assert tiers[Tier.UNKNOWN] > 0
    no_bmd = [a for _, a in assessed if "NO_BMD" in a.flags]
    assert 0.02 < share(len(no_bmd)) < 0.12
    assert any(a.provisional for a in no_bmd)


def test_ai_status_mix(assessed):
    status = collections.Counter(a.ai_status for _, a in assessed)
    assert 0.65 < share(status[AIStatus.CURRENT]) < 0.85
    assert 0.02 < share(status[AIStatus.PLANNED]) < 0.08
    assert 0.10 < share(status[AIStatus.PAST]) < 0.25


def test_ai_courses_dispenses_and_switches(cohort):
    completed = switched = 0
    for pf in cohort:
        completed += any(c.stop_reason == "completed 5 years" for c in pf.courses)
        switched += any(c.drug is Drug.TAMOXIFEN and c.stop is not None for c in pf.courses)
        for d in pf.doses:
            if d.drug.is_ai:
                assert d.dose_mg == AI_MG[d.drug] and d.days_supply == 90
    assert 0.10 < share(completed) < 0.20
    assert switched > 0.05 * N


def _annual_change(rois) -> float:
    years = (rois[-1].date - rois[0].date).days / 365.25
    return 100 * ((rois[-1].bmd / rois[0].bmd) ** (1 / years) - 1)


def _series_within(pf: PatientFacts, start: date, stop: date) -> dict[DxaSite, list]:
    """Per site, the DXA series on the patient's main scanner in [start, stop] (docs/rules.md CHANGE: one scanner)."""
    scanner = collections.Counter(r.scanner for r in pf.dxa).most_common(1)[0][0]
    series = collections.defaultdict(list)
    for roi in pf.dxa:
        if start <= roi.date <= stop and roi.scanner == scanner:
            series[roi.site].append(roi)
    return {site: rois for site, rois in series.items()
            if len(rois) >= 2 and (rois[-1].date - rois[0].date).days >= 540}


def test_bmd_falls_1_to_3_percent_a_year_on_an_ai_without_a_bma(cohort):
    changes = collections.defaultdict(list)
    for pf in cohort:
        ai = [c for c in pf.courses if c.drug.is_ai and c.start is not None]
        if len(ai) != 1 or any(c.drug.is_bma for c in pf.courses) or not pf.dxa:
            continue
        for site, rois in _series_within(pf, ai[0].start - timedelta(days=100), ai[0].stop or AS_OF).items():
            changes[site].append(_annual_change(rois))
    assert set(changes) == {DxaSite.LUMBAR_SPINE, DxaSite.FEMORAL_NECK, DxaSite.TOTAL_HIP}
    for site, values in changes.items():
        assert len(values) > 50, site
        assert -3.0 <= statistics.mean(values) <= -1.0, (site, statistics.mean(values))


def test_bmd_is_stable_or_rises_on_denosumab(cohort):
    changes = []
    for pf in cohort:
        dmab = [c for c in pf.courses if c.drug is Drug.DENOSUMAB]
        if len(dmab) != 1 or dmab[0].stop is not None or not pf.dxa:
            continue
        series = _series_within(pf, dmab[0].start + timedelta(days=1), AS_OF)
        if DxaSite.LUMBAR_SPINE in series:
            changes.append(_annual_change(series[DxaSite.LUMBAR_SPINE]))
    assert len(changes) > 30
    assert statistics.mean(changes) > 0


def test_bone_modifying_agents_for_about_60_percent_of_moderate_and_high(assessed):
    eligible = [(pf, a) for pf, a in assessed if a.in_pathway and a.tier in (Tier.MODERATE, Tier.HIGH)]
    on_bma = sum(any(c.drug.is_bma for c in pf.courses) for pf, _ in eligible)
    assert 0.50 < on_bma / len(eligible) < 0.70


def test_bma_regimens_are_varied(cohort):
    seen = collections.Counter()
    for pf in cohort:
        dmab = sorted(d.date for d in pf.doses if d.drug is Drug.DENOSUMAB and d.dose_mg == 60.0)
        gaps = [(b - a).days for a, b in pairwise(dmab)]
        seen["dmab on time"] += any(gap <= 183 + 28 for gap in gaps)
        seen["dmab late"] += any(183 + 28 < gap <= 183 + 130 for gap in gaps)
        stopped = [c for c in pf.courses if c.drug is Drug.DENOSUMAB and c.stop is not None]
        if stopped:
            zol_after = any(c.drug is Drug.ZOLEDRONIC_ACID and c.start > stopped[0].start for c in pf.courses)
            seen["dmab stop then ZOL" if zol_after else "dmab stop without BP"] += 1
        for c in pf.courses:
            if c.drug is Drug.ZOLEDRONIC_ACID:
                seen[f"zol {c.dose_mg:g} mg q{c.interval_months}m"] += 1
        seen.update(f"alendronate {d.days_supply} d" for d in pf.doses if d.drug is Drug.ALENDRONATE)
    for kind in ("dmab on time", "dmab late", "dmab stop then ZOL", "dmab stop without BP", "zol 5 mg q12m",
                 "zol 4 mg q6m", "alendronate 28 d", "alendronate 84 d"):
        assert seen[kind] > 0, kind


def test_baseline_markers_and_dental_checks_come_before_the_first_bma_dose(cohort):
    with_baseline = with_dental = starters = 0
    for pf in cohort:
        bma_doses = [d.date for d in pf.doses if d.drug.is_bma]
        if not bma_doses or pf.patient.sex is Sex.MALE:
            continue
        first = min(bma_doses)
        starters += 1
        with_baseline += any(m.analyte is MarkerAnalyte.CTX and m.date <= first for m in pf.markers)
        with_dental += any(n.kind is NoteKind.DENTAL_CHECK and n.date < first for n in pf.notes)
        assert all(m.unit == ("ng/L" if m.analyte is MarkerAnalyte.CTX else "ug/L") for m in pf.markers)
    assert 0.75 < with_baseline / starters < 0.95
    assert 0.80 < with_dental / starters < 0.98


def test_fractures_frax_labs_vitals_and_notes(cohort):
    count = collections.Counter()
    for pf in cohort:
        count["fracture"] += bool(pf.fractures)
        count["trauma"] += any(f.mechanism is Mechanism.TRAUMA for f in pf.fractures)
        count["frax"] += bool(pf.frax)
        count["vitals"] += bool(pf.vitals)
        count["low calcium"] += any(lab.analyte is LabAnalyte.CALCIUM and lab.value < 2.10 for lab in pf.labs)
        count["low vitamin D"] += any(lab.analyte is LabAnalyte.VITAMIN_D and lab.value < 20 for lab in pf.labs)
        count["low CrCl"] += any(lab.analyte is LabAnalyte.CRCL and lab.value < 35 for lab in pf.labs)
        count.update({n.kind for n in pf.notes})
    assert 0.05 < share(count["fracture"]) < 0.12
    assert count["trauma"] > 0
    assert 0.22 < share(count["frax"]) < 0.38
    assert share(count["vitals"]) > 0.95
    for abnormal in ("low calcium", "low vitamin D", "low CrCl"):
        assert 0.005 < share(count[abnormal]) < 0.2, abnormal
    for kind in (NoteKind.DENTAL_CHECK, NoteKind.RISK_REVIEW, NoteKind.BMA_DECLINED):
        assert count[kind] > 0, kind


def test_out_of_scope_groups_exist(assessed):
    exits = collections.Counter(reason for _, a in assessed for reason in a.exit_reasons)
    men = sum(pf.patient.sex is Sex.MALE for pf, _ in assessed)
    pre = sum(pf.patient.menopause is Menopause.PRE for pf, _ in assessed)
    assert 0.003 < share(men) < 0.025
    assert 0.003 < share(pre) < 0.025
    assert exits["OFS"] > 0
    assert 0.003 < share(exits["BONE_METASTASIS"]) < 0.025
    assert 0.01 < share(exits["DECEASED"]) < 0.035


# --------------------------------------------------------------------------- identities


def test_mrns_are_numbered_from_one():
    assert mrn_for(0) == "DEMO-000001"
    assert [pf.patient.mrn for pf in generate_cohort(3, as_of=AS_OF)] == ["DEMO-000001", "DEMO-000002",
                                                                            "DEMO-000003"]


def test_exactly_one_patient_is_named_with_a_script_tag(cohort):
    named = [pf.patient for pf in cohort if pf.patient.name == SCRIPT_NAME]
    assert [p.mrn for p in named] == ["DEMO-000008"]
    assert all(pf.patient.name != SCRIPT_NAME for pf in generate_cohort(7, as_of=AS_OF))


def test_names_include_apostrophes_and_accents(cohort):
    names = [pf.patient.name for pf in cohort]
    assert len({pf.patient.mrn for pf in cohort}) == N
    assert any("'" in n for n in names)
    assert any(not n.isascii() for n in names if n != SCRIPT_NAME)


def test_patients_are_spread_over_the_given_clinics(cohort):
    assert {pf.patient.clinic for pf in cohort} == {"main", "north"}
    assert {pf.patient.clinic for pf in generate_cohort(30, as_of=AS_OF, clinics=["solo"])} == {"solo"}
