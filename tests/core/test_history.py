"""monitor.core.history (docs/rules.md AUDIT): a period's task history (replayed planner) and the other numbers."""

from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from monitor.core import history
from monitor.core.domain import (
    Dose,
    Drug,
    DxaRoi,
    DxaSite,
    Fracture,
    FractureSite,
    Marker,
    MarkerAnalyte,
    Mechanism,
    Menopause,
    Patient,
    PatientFacts,
    Plan,
    Route,
    Task,
    TaskKind,
    TherapyCourse,
)
from monitor.core.history import Met, Outcome, judge, task_history

PATIENT = Patient("P1", date(1955, 3, 1), menopause=Menopause.POST)
YEAR_2025 = {"start": date(2025, 1, 1), "end": date(2025, 12, 31)}
FIRST_DOSE = date(2025, 1, 15)  # the N1 example: target 2025-07-15, earliest 06-17, on time up to 08-12


def dmab_patient(*doses: date, stop: date | None = None, extra_doses: tuple[Dose, ...] = ()) -> PatientFacts:
    return PatientFacts(
        PATIENT,
        courses=(TherapyCourse(Drug.ANASTROZOLE, start=date(2023, 1, 1)),
                 TherapyCourse(Drug.DENOSUMAB, start=FIRST_DOSE, stop=stop)),
        doses=tuple(Dose(Drug.DENOSUMAB, d, dose_mg=60) for d in (FIRST_DOSE, *doses)) + extra_doses,
        dxa=(DxaRoi(date(2023, 1, 5), DxaSite.TOTAL_HIP, Decimal("-1.5"), bmd=0.8, scanner="S"),),
    )


def of_kind(records, kind: TaskKind):
    return [r for r in records if r.kind is kind]


# --------------------------------------------------------------------------- outcome of one task


TASK = Task(TaskKind.DXA, "D3", date(2024, 1, 1), date(2024, 7, 1), date(2025, 1, 1), date(2025, 1, 31), "why")


@pytest.mark.parametrize(("done_on", "end", "expected"), [
    (date(2024, 6, 30), date(2025, 6, 1), (Outcome.EARLY, date(2024, 6, 30), None)),
    (date(2024, 7, 1), date(2025, 6, 1), (Outcome.ON_TIME, date(2024, 7, 1), 0)),
    (date(2025, 1, 31), date(2025, 6, 1), (Outcome.ON_TIME, date(2025, 1, 31), 0)),
    (date(2025, 2, 1), date(2025, 6, 1), (Outcome.LATE, date(2025, 2, 1), 1)),
    (None, date(2025, 1, 31), (Outcome.OPEN, None, None)),
    (None, date(2025, 2, 1), (Outcome.OVERDUE, date(2025, 2, 1), 1)),
    (date(2025, 3, 1), date(2025, 2, 10), (Outcome.OVERDUE, date(2025, 2, 1), 10)),
], ids=["day-before-earliest-is-early", "earliest-is-on-time", "latest-is-on-time", "latest-plus-1-is-late",
        "not-done-on-latest-is-still-open", "not-done-the-day-after-latest-is-overdue",
        "a-completion-after-the-end-is-not-known-yet"])
def test_a_task_is_judged_on_its_window_boundaries(done_on, end, expected):
    assert judge(TASK, done_on, end) == expected


# --------------------------------------------------------------------------- the replayed planner


@pytest.mark.parametrize(("second", "outcome", "days_late"), [
    (date(2025, 6, 16), Outcome.EARLY, None),
    (date(2025, 6, 17), Outcome.ON_TIME, 0),
    (date(2025, 8, 12), Outcome.ON_TIME, 0),
    (date(2025, 8, 13), Outcome.LATE, 1),
])
def test_a_denosumab_dose_task_is_judged_by_the_day_the_next_dose_was_given(policy, second, outcome, days_late):
    records = of_kind(task_history(dmab_patient(second), **YEAR_2025, policy=policy), TaskKind.DENOSUMAB_DOSE)

    done = [r for r in records if r.done_on is not None]
    assert [(r.rule, r.anchor, r.latest, r.done_on, r.outcome, r.resolved_on, r.days_late) for r in done] == [
        ("N1", FIRST_DOSE, date(2025, 8, 12), second, outcome, second, days_late)]
    assert [r.outcome for r in records if r.done_on is None] == [Outcome.OPEN]  # the next dose, not due yet


def test_a_dose_never_given_is_overdue_from_the_day_after_its_latest_date(policy):
    records = of_kind(task_history(dmab_patient(), **YEAR_2025, policy=policy), TaskKind.DENOSUMAB_DOSE)

    assert [(r.outcome, r.resolved_on, r.days_late, r.open_at_end) for r in records] == [
        (Outcome.OVERDUE, date(2025, 8, 13), (date(2025, 12, 31) - date(2025, 8, 12)).days, True)]


def test_a_task_dropped_by_a_stop_after_its_window_closed_is_overdue(policy):
    records = task_history(dmab_patient(stop=date(2025, 10, 1)), **YEAR_2025, policy=policy)

    n1 = of_kind(records, TaskKind.DENOSUMAB_DOSE)
    assert [(r.outcome, r.resolved_on, r.days_late, r.open_at_end) for r in n1] == [
        (Outcome.OVERDUE, date(2025, 8, 13), 49, False)]  # last seen open on 2025-09-30


def test_a_task_dropped_by_a_stop_inside_its_window_is_cancelled_and_not_judged(policy):
    records = task_history(dmab_patient(stop=date(2025, 7, 1)), **YEAR_2025, policy=policy)

    n1 = of_kind(records, TaskKind.DENOSUMAB_DOSE)
    assert [(r.outcome, r.counted(**YEAR_2025)) for r in n1] == [(Outcome.CANCELLED, False)]
    assert [r.rule for r in of_kind(records, TaskKind.SEQUENTIAL_BP)] == ["N3"]


@pytest.mark.parametrize(("second_dxa", "outcome"), [(date(2024, 2, 4), Outcome.ON_TIME),
                                                      (date(2024, 2, 5), Outcome.LATE)])
def test_a_dxa_on_its_latest_day_is_on_time_and_the_day_after_is_late(policy, second_dxa, outcome):
    facts = dmab_patient()
    second = DxaRoi(second_dxa, DxaSite.TOTAL_HIP, Decimal("-1.6"), bmd=0.79, scanner="S")
    facts = PatientFacts(facts.patient, courses=facts.courses[:1], dxa=(*facts.dxa, second))

    records = task_history(facts, start=date(2024, 1, 1), end=date(2024, 12, 31), policy=policy)

    d3 = [r for r in of_kind(records, TaskKind.DXA) if r.counted(date(2024, 1, 1), date(2024, 12, 31))]
    assert [(r.rule, r.anchor, r.latest, r.done_on, r.outcome) for r in d3] == [
        ("D3", date(2023, 1, 5), date(2024, 2, 4), second_dxa, outcome)]


def test_a_task_resolved_before_the_period_is_listed_but_not_counted(policy):
    facts = dmab_patient(date(2025, 7, 1))
    records = of_kind(task_history(facts, start=date(2025, 8, 1), end=date(2025, 12, 31), policy=policy),
                      TaskKind.DENOSUMAB_DOSE)

    assert [(r.done_on, r.counted(date(2025, 8, 1), date(2025, 12, 31))) for r in records if r.done_on] == [
        (date(2025, 7, 1), False)]


def test_staff_marking_a_task_done_counts_as_its_completion(policy):
    manual = {("N1", FIRST_DOSE): date(2025, 8, 1)}
    records = of_kind(task_history(dmab_patient(), **YEAR_2025, policy=policy, manual_done=manual),
                      TaskKind.DENOSUMAB_DOSE)

    assert [(r.done_on, r.outcome, r.manual) for r in records] == [(date(2025, 8, 1), Outcome.ON_TIME, True)]


def test_the_planner_is_replayed_on_the_day_before_each_fact_date_in_the_period():
    facts = dmab_patient(date(2025, 7, 1), date(2026, 1, 2))

    assert history.evaluation_dates(facts, date(2025, 1, 1), date(2025, 12, 31)) == [
        date(2025, 1, 1), date(2025, 1, 14), date(2025, 6, 30), date(2025, 12, 31)]


def test_a_period_ending_before_it_starts_is_refused(policy):
    with pytest.raises(ValueError, match="before its start"):
        task_history(dmab_patient(), start=date(2025, 2, 1), end=date(2025, 1, 1), policy=policy)


# --------------------------------------------------------------------------- the replay method, on a fake planner


class FakePlanner:
    """plan(facts, assessment, as_of=...) answering from a table of (first day, last day, tasks)."""

    def __init__(self, table):
        self.table = table
        self.asked: list[date] = []

    def __call__(self, facts, assessment, *, as_of, policy):
        self.asked.append(as_of)
        tasks = [t for first, last, ts in self.table if first <= as_of <= last for t in ts]
        return Plan(as_of, tuple(tasks), (), date.max)


def window(anchor: date, latest: date, **kw) -> Task:
    return Task(TaskKind.DXA, kw.pop("rule", "D3"), anchor, anchor, latest, latest, "why", **kw)


@pytest.fixture
def fake(monkeypatch):
    def install(table):
        planner = FakePlanner(table)
        monkeypatch.setattr(history, "plan", planner)
        monkeypatch.setattr(history, "assess", lambda facts, *, as_of, policy: None)
        return planner
    return install


NO_FACTS = PatientFacts(PATIENT)
START, END = date(2025, 1, 1), date(2025, 12, 31)


def test_a_task_that_leaves_the_plan_with_no_fact_after_its_latest_day_is_overdue(fake, policy):
    task = window(date(2024, 12, 1), date(2025, 3, 31))
    planner = fake([(date(2024, 1, 1), date(2025, 5, 31), [task])])  # gone on 2025-06-01, no fact

    [record] = task_history(NO_FACTS, start=START, end=END, policy=policy)

    assert (record.outcome, record.resolved_on, record.days_late) == (Outcome.OVERDUE, date(2025, 4, 1), 1)
    assert planner.asked == [START, END, date(2025, 4, 1)]  # one more replay decides it


def test_a_task_that_leaves_the_plan_with_no_fact_on_its_latest_day_is_cancelled(fake, policy):
    fake([(date(2024, 1, 1), date(2025, 3, 30), [window(date(2024, 12, 1), date(2025, 3, 31))])])

    [record] = task_history(NO_FACTS, start=START, end=END, policy=policy)

    assert record.outcome is Outcome.CANCELLED and not record.counted(START, END)


def test_a_completion_made_under_a_new_identity_completes_the_task_that_left(fake, policy):
    old = window(date(2024, 12, 1), date(2025, 3, 31))
    done = window(date(2024, 12, 2), date(2025, 4, 30), done_on=date(2025, 3, 1))
    facts = PatientFacts(PATIENT, markers=(Marker(date(2025, 3, 1), MarkerAnalyte.CTX, 300, "ng/L"),))
    fake([(date(2024, 1, 1), date(2025, 2, 28), [old]), (date(2025, 3, 1), date(2025, 12, 31), [done])])

    [record] = task_history(facts, start=START, end=END, policy=policy)

    assert (record.anchor, record.done_on, record.outcome) == (old.anchor, date(2025, 3, 1), Outcome.ON_TIME)


# --------------------------------------------------------------------------- denosumab doses and stops


@pytest.mark.parametrize(("second", "on_time"), [(date(2025, 8, 12), True), (date(2025, 8, 13), False)],
                         ids=["target-plus-28-on-time", "target-plus-29-late"])
def test_a_denosumab_dose_is_on_time_up_to_target_plus_28_days(policy, second, on_time):
    [timing] = history.denosumab_doses(dmab_patient(second), **YEAR_2025, policy=policy)

    assert (timing.date, timing.target, timing.on_time) == (second, date(2025, 7, 15), on_time)
    assert timing.days_late == 28 + (not on_time)


def test_the_first_dose_of_a_new_course_is_not_timed(policy):
    facts = PatientFacts(PATIENT, courses=(
        TherapyCourse(Drug.DENOSUMAB, start=date(2023, 1, 10), stop=date(2023, 3, 1)),
        TherapyCourse(Drug.DENOSUMAB, start=date(2025, 2, 1))),
        doses=(Dose(Drug.DENOSUMAB, date(2023, 1, 10)), Dose(Drug.DENOSUMAB, date(2025, 2, 1)),
               Dose(Drug.DENOSUMAB, date(2025, 8, 1))))

    assert [t.date for t in history.denosumab_doses(facts, **YEAR_2025, policy=policy)] == [date(2025, 8, 1)]


LAST_DMAB = date(2024, 7, 10)  # + 7 months = 2025-02-10


def stopped(*bp: date) -> PatientFacts:
    return PatientFacts(PATIENT, courses=(TherapyCourse(Drug.DENOSUMAB, start=date(2024, 1, 10),
                                                        stop=date(2024, 9, 1)),),
                        doses=(Dose(Drug.DENOSUMAB, date(2024, 1, 10)), Dose(Drug.DENOSUMAB, LAST_DMAB),
                               *(Dose(Drug.ZOLEDRONIC_ACID, d, dose_mg=5) for d in bp)))


@pytest.mark.parametrize(("bp", "end", "outcome"), [
    ((date(2025, 2, 10),), date(2025, 6, 30), Met.MET),
    ((date(2025, 2, 11),), date(2025, 6, 30), Met.MISSED),
    ((), date(2025, 2, 10), Met.PENDING),
    ((), date(2025, 2, 11), Met.MISSED),
], ids=["bp-on-last-dose-plus-7-months", "bp-a-day-later", "no-bp-yet-on-the-deadline", "no-bp-after-the-deadline"])
def test_a_denosumab_stop_is_sequenced_by_a_bisphosphonate_by_last_dose_plus_7_months(policy, bp, end, outcome):
    [stop] = history.denosumab_stops(stopped(*bp), start=date(2024, 1, 1), end=end, policy=policy)

    assert (stop.stop, stop.last_dose, stop.deadline, stop.outcome) == (
        date(2024, 9, 1), LAST_DMAB, date(2025, 2, 10), outcome)


def test_the_sequencing_deadline_is_clamped_at_month_end(policy):
    facts = PatientFacts(PATIENT, courses=(TherapyCourse(Drug.DENOSUMAB, start=date(2024, 7, 31),
                                                         stop=date(2024, 9, 1)),),
                         doses=(Dose(Drug.DENOSUMAB, date(2024, 7, 31)),))

    [stop] = history.denosumab_stops(facts, start=date(2024, 1, 1), end=date(2025, 6, 30), policy=policy)

    assert stop.deadline == date(2025, 2, 28)


# --------------------------------------------------------------------------- oral-BP PDC


def alendronate(*fills: tuple[date, int]) -> PatientFacts:
    return PatientFacts(PATIENT, courses=(TherapyCourse(Drug.ALENDRONATE, start=fills[0][0], dose_mg=70),),
                        doses=tuple(Dose(Drug.ALENDRONATE, d, dose_mg=70, days_supply=n, route=Route.ORAL)
                                    for d, n in fills))


def test_pdc_shifts_an_overlapping_fill_to_the_day_after_the_earlier_supply_ends(policy):
    # Jan 1 + 28 d covers Jan 1–28; Jan 20 + 28 d overlaps 9 days, so it covers Jan 29–Feb 25; Mar 10 + 28 d
    # covers Mar 10–31 in the period. Covered 28 + 28 + 22 = 78 of 90 days (without shifting: 69).
    facts = alendronate((date(2025, 1, 1), 28), (date(2025, 1, 20), 28), (date(2025, 3, 10), 28))

    record = history.oral_bp_pdc(facts, start=date(2025, 1, 1), end=date(2025, 3, 31), policy=policy)

    assert record == history.PdcRecord(date(2025, 1, 1), date(2025, 3, 31), 78 / 90, True, 3)


def test_pdc_of_exactly_the_threshold_is_adherent(policy):
    facts = alendronate((date(2025, 1, 1), 72))  # 72 of 90 days = 0.80

    record = history.oral_bp_pdc(facts, start=date(2025, 1, 1), end=date(2025, 3, 31), policy=policy)

    assert (record.pdc, record.adherent) == (pytest.approx(0.8), True)


def test_pdc_starts_at_the_first_fill_in_the_period_and_ends_at_death(policy):
    facts = alendronate((date(2025, 2, 1), 28))
    facts = PatientFacts(Patient("P1", date(1955, 3, 1), deceased_date=date(2025, 2, 28)), courses=facts.courses,
                         doses=facts.doses)

    record = history.oral_bp_pdc(facts, start=date(2025, 1, 1), end=date(2025, 3, 31), policy=policy)

    assert (record.start, record.end, record.pdc) == (date(2025, 2, 1), date(2025, 2, 28), 1.0)


def test_a_patient_without_an_oral_fill_in_the_period_has_no_pdc(policy):
    facts = alendronate((date(2024, 1, 1), 28))

    assert history.oral_bp_pdc(facts, start=date(2025, 1, 1), end=date(2025, 3, 31), policy=policy) is None


# --------------------------------------------------------------------------- D1 and B1


AI_START = date(2025, 3, 1)  # D1 window 2024-03-01 … 2025-05-30


def ai_start_with_dxa(*days: date) -> PatientFacts:
    return PatientFacts(PATIENT, courses=(TherapyCourse(Drug.LETROZOLE, start=AI_START),),
                        dxa=tuple(DxaRoi(d, DxaSite.LUMBAR_SPINE, Decimal("-1.0")) for d in days))


@pytest.mark.parametrize(("dxa", "end", "outcome"), [
    ((date(2024, 3, 1),), date(2025, 12, 31), Met.MET),
    ((date(2024, 2, 29),), date(2025, 12, 31), Met.MISSED),
    ((date(2025, 5, 30),), date(2025, 12, 31), Met.MET),
    ((date(2025, 5, 31),), date(2025, 12, 31), Met.MISSED),
    ((), date(2025, 5, 30), Met.PENDING),
], ids=["twelve-months-before", "a-day-earlier", "ninety-days-after", "ninety-one-days-after", "window-open"])
def test_an_ai_start_has_a_baseline_dxa_in_the_d1_window(policy, dxa, end, outcome):
    [d1] = history.baseline_dxa(ai_start_with_dxa(*dxa), start=date(2025, 1, 1), end=end, policy=policy)

    assert (d1.rule, d1.event, d1.earliest, d1.latest, d1.outcome) == (
        "D1", AI_START, date(2024, 3, 1), date(2025, 5, 30), outcome)


def test_a_switch_between_ais_is_one_episode_with_one_baseline(policy):
    facts = PatientFacts(PATIENT, courses=(TherapyCourse(Drug.LETROZOLE, start=AI_START, stop=date(2025, 6, 1)),
                                           TherapyCourse(Drug.EXEMESTANE, start=date(2025, 6, 10))))

    assert [b.event for b in history.baseline_dxa(facts, **YEAR_2025, policy=policy)] == [AI_START]


@pytest.mark.parametrize(("marker", "outcome"), [
    (date(2024, 12, 1), Met.MET), (date(2024, 11, 30), Met.MISSED), (date(2025, 3, 1), Met.MET),
    (date(2025, 3, 2), Met.MISSED)],
    ids=["ninety-days-before", "ninety-one-days-before", "on-the-dose-day", "the-day-after"])
def test_the_first_bma_dose_has_baseline_markers_in_the_b1_window(policy, marker, outcome):
    facts = PatientFacts(PATIENT, courses=(TherapyCourse(Drug.DENOSUMAB, start=date(2025, 3, 1)),),
                         doses=(Dose(Drug.DENOSUMAB, date(2025, 3, 1)),),
                         markers=(Marker(marker, MarkerAnalyte.CTX, 400, "ng/L"),))

    [b1] = history.baseline_btm(facts, **YEAR_2025, policy=policy)

    assert (b1.rule, b1.event, b1.earliest, b1.outcome) == ("B1", date(2025, 3, 1), date(2024, 12, 1), outcome)


def test_a_first_bma_dose_before_the_period_has_no_b1_in_it(policy):
    facts = PatientFacts(PATIENT, doses=(Dose(Drug.DENOSUMAB, date(2024, 3, 1)), Dose(Drug.DENOSUMAB,
                                                                                       date(2025, 3, 1))))

    assert history.baseline_btm(facts, **YEAR_2025, policy=policy) == ()


# --------------------------------------------------------------------------- data completeness


def test_completeness_counts_only_the_items_that_apply():
    facts = PatientFacts(Patient("P1", date(1955, 3, 1), menopause=Menopause.POST))

    assert history.completeness(facts, end=date(2025, 1, 1)).items == (("menopause", True),)


def test_completeness_names_every_missing_item():
    facts = PatientFacts(
        Patient("P1", date(1955, 3, 1)),
        doses=(Dose(Drug.ANASTROZOLE, date(2024, 1, 1)), Dose(Drug.DENOSUMAB, date(2024, 1, 1))),
        dxa=(DxaRoi(date(2024, 1, 1), DxaSite.TOTAL_HIP, Decimal("-1"), bmd=0.8),
             DxaRoi(date(2024, 1, 1), DxaSite.UNSPECIFIED, Decimal("-1"))),
        fractures=(Fracture(date(2024, 2, 1), FractureSite.OTHER, Mechanism.UNKNOWN),))

    c = history.completeness(facts, end=date(2025, 1, 1))

    assert c.missing == ("menopause", "dxa_bmd_scanner", "dxa_site", "oral_days_supply", "bma_dose_mg",
                         "fracture_mechanism")
    assert (c.present, c.applicable) == (0, 6)
    assert set(c.missing) <= set(history.COMPLETENESS)


def test_patient_audit_bundles_every_number_of_the_period(policy):
    audit = history.patient_adherence(dmab_patient(date(2025, 8, 12)), **YEAR_2025, policy=policy)

    assert audit.patient.mrn == "P1" and (audit.start, audit.end) == (YEAR_2025["start"], YEAR_2025["end"])
    assert [t.date for t in audit.denosumab_doses] == [date(2025, 8, 12)]
    assert audit.oral_bp is None and audit.denosumab_stops == ()
    assert any(r.kind is TaskKind.DENOSUMAB_DOSE and r.outcome is Outcome.ON_TIME for r in audit.tasks)


def test_the_history_is_pure(policy):
    """Standard library and pure monitor modules only; never the clock (docs/architecture.md, import rules)."""
    source = Path(history.__file__).read_text(encoding="utf-8")
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
    assert names <= {"__future__", "collections", "dataclasses", "datetime", "enum", "monitor"}
    assert "today(" not in source and ".now(" not in source
