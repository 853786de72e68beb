"""Properties of the planner on generated histories (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.domain import (
    Dose,
    Drug,
    DxaRoi,
    DxaSite,
    Fracture,
    FractureSite,
    Frax,
    Marker,
    MarkerAnalyte,
    Mechanism,
    Note,
    NoteKind,
    PatientFacts,
    TherapyCourse,
    Vitals,
)
from monitor.core.timeline import FAR
from monitor.settings import default_policy
from tests.plan_builders import facts, make_plan, note

POLICY = default_policy()
ORIGIN = date(2016, 1, 1)
SPAN = 3300
offsets = st.integers(0, SPAN)
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def day(n: int) -> date:
    return ORIGIN + timedelta(days=n)


@st.composite
def _series(draw, start: int, gaps: st.SearchStrategy[int], most: int) -> list[int]:
    out, cur = [start], start
    for _ in range(draw(st.integers(0, most))):
        cur += draw(gaps)
        out.append(cur)
    return [d for d in out if d <= SPAN]


@st.composite
def histories(draw) -> tuple[PatientFacts, date]:
    items: list[object] = []
    for off in draw(st.lists(offsets, max_size=4, unique=True)):
        for site in draw(st.lists(st.sampled_from(["femoral_neck", "total_hip", "lumbar_spine", "radius_33"]),
                                  min_size=1, max_size=2, unique=True)):
            bmd = draw(st.one_of(st.none(), st.integers(550, 1150)))
            items.append(DxaRoi(day(off), DxaSite(site), draw(st.decimals("-3.5", "0.5", places=1)),
                                bmd=bmd / 1000 if bmd else None, scanner=draw(st.sampled_from([None, "S1"]))))
    if draw(st.booleans()):  # an AI: planned, running, or stopped, with dispenses
        start = draw(offsets)
        shape = draw(st.sampled_from(["planned", "running", "stopped"]))
        stop = start + draw(st.integers(30, 2200)) if shape == "stopped" else None
        if shape == "planned":
            items.append(TherapyCourse(Drug.LETROZOLE, planned_start=day(start)))
        else:
            items.append(TherapyCourse(Drug.ANASTROZOLE, start=day(start), stop=day(stop) if stop else None))
            for d in draw(_series(start, st.integers(60, 200), 12)):
                if stop is None or d <= stop:
                    items.append(Dose(Drug.ANASTROZOLE, day(d), 1.0, 90))
    if draw(st.booleans()):  # denosumab, maybe stopped
        start = draw(offsets)
        doses = draw(_series(start, st.integers(120, 300), 6))
        stop = doses[-1] + draw(st.integers(1, 250)) if draw(st.booleans()) else None
        items.append(TherapyCourse(Drug.DENOSUMAB, start=day(start), stop=day(stop) if stop else None, dose_mg=60))
        items += [Dose(Drug.DENOSUMAB, day(d), 60.0) for d in doses]
        if stop is not None and draw(st.booleans()):  # the sequential bisphosphonate, on time or not
            bp = stop + draw(st.integers(0, 300))
            items.append(TherapyCourse(Drug.ZOLEDRONIC_ACID, start=day(bp), dose_mg=5))
            items.append(Dose(Drug.ZOLEDRONIC_ACID, day(bp), 5.0))
    if draw(st.booleans()):  # a bisphosphonate, maybe on holiday
        drug = draw(st.sampled_from([Drug.ALENDRONATE, Drug.RISEDRONATE, Drug.ZOLEDRONIC_ACID, Drug.IBANDRONATE]))
        start = draw(offsets)
        oral = drug in (Drug.ALENDRONATE, Drug.RISEDRONATE)
        mg = draw(st.sampled_from([5.0, 4.0])) if drug is Drug.ZOLEDRONIC_ACID else (
            3.0 if drug is Drug.IBANDRONATE else 70.0)
        gaps = st.integers(20, 120) if oral else st.integers(80, 400)
        doses = draw(_series(start, gaps, 10))
        end = draw(st.sampled_from([None, "holiday", "switch"]))
        stop = doses[-1] + draw(st.integers(0, 60)) if end else None
        items.append(TherapyCourse(drug, start=day(start), stop=day(stop) if stop else None,
                                   stop_reason="Drug holiday" if end == "holiday" else None, dose_mg=mg))
        items += [Dose(drug, day(d), mg, draw(st.sampled_from([28, 90])) if oral else None) for d in doses]
    if draw(st.booleans()):
        items.append(TherapyCourse(Drug.DENOSUMAB, planned_start=day(draw(offsets)), dose_mg=60))
    if draw(st.booleans()):
        start = draw(offsets)
        stop = start + draw(st.integers(10, 400)) if draw(st.booleans()) else None
        items.append(TherapyCourse(Drug.GLUCOCORTICOID, start=day(start), stop=day(stop) if stop else None))
    for off in draw(st.lists(offsets, max_size=4)):
        items.append(Marker(day(off), draw(st.sampled_from(list(MarkerAnalyte))), draw(st.integers(100, 900)), "ng/L"))
    for off in draw(st.lists(offsets, max_size=2)):
        items.append(Fracture(day(off), draw(st.sampled_from(list(FractureSite))),
                              draw(st.sampled_from([Mechanism.FRAGILITY, Mechanism.TRAUMA, Mechanism.UNKNOWN]))))
    for off in draw(st.lists(offsets, max_size=2)):
        items.append(Frax(day(off), hip=draw(st.floats(0, 6)), mof=draw(st.floats(0, 30))))
    kinds = [NoteKind.RISK_REVIEW, NoteKind.HOLIDAY_REVIEW, NoteKind.HOLIDAY_START, NoteKind.ENDOCRINE_REVIEW,
             NoteKind.ENDOCRINE_EXTEND, NoteKind.ENDOCRINE_STOP, NoteKind.TRANSITION_PLAN,
             NoteKind.ORAL_BP_INTOLERANCE, NoteKind.LIFESTYLE_COUNSELLING, NoteKind.DENTAL_CHECK]
    for _ in range(draw(st.integers(0, 4))):
        off = draw(st.one_of(st.none(), offsets))
        items.append(Note(draw(st.sampled_from(kinds)), day(off) if off is not None else None))
    for off in draw(st.lists(offsets, max_size=2)):
        items.append(Vitals(day(off), bmi=draw(st.floats(17, 32)), waist_cm=draw(st.floats(65, 95))))
    return facts(*items), day(draw(offsets))


def known_on(f: PatientFacts, as_of: date) -> PatientFacts:
    """The facts as they were recorded by `as_of` (a later start turns back into its plan, if any)."""
    courses = []
    for c in f.courses:
        start = c.start if c.start is not None and c.start <= as_of else None
        if start is None and c.planned_start is None:
            continue
        courses.append(replace(c, start=start, stop=c.stop if c.stop is not None and c.stop <= as_of else None))

    def upto(seq):
        return tuple(x for x in seq if x.date is None or x.date <= as_of)

    return PatientFacts(f.patient, tuple(courses), upto(f.doses), upto(f.dxa), upto(f.markers), upto(f.fractures),
                        upto(f.frax), upto(f.labs), upto(f.vitals), upto(f.notes))


def identities(p) -> list[tuple]:
    return [(t.kind, t.rule, t.anchor, t.earliest, t.target, t.latest, t.done_on) for t in p.tasks]


@PROPERTY
@given(histories())
def test_every_task_window_is_ordered_and_each_kind_has_one_open_task(history):
    f, as_of = history
    p = make_plan(f, as_of, POLICY)
    for t in p.tasks:
        assert t.earliest <= t.target <= t.latest, t
        assert t.done_on is None or t.done_on <= as_of
    opened = [t.kind for t in p.tasks if t.done_on is None]
    done = [t.kind for t in p.tasks if t.done_on is not None]
    assert len(opened) == len(set(opened)) and len(done) == len(set(done))


@PROPERTY
@given(histories())
def test_the_plan_is_deterministic(history):
    f, as_of = history
    assert make_plan(f, as_of, POLICY) == make_plan(f, as_of, POLICY)


@PROPERTY
@given(histories())
def test_facts_dated_after_as_of_do_not_change_the_plan(history):
    f, as_of = history
    full, known = make_plan(f, as_of, POLICY), make_plan(known_on(f, as_of), as_of, POLICY)
    assert (full.tasks, full.alerts, full.flags) == (known.tasks, known.alerts, known.flags)


@PROPERTY
@given(histories(), st.integers(1, 1000))
def test_the_plan_holds_until_valid_until(history, step):
    f, as_of = history
    f = known_on(f, as_of)
    p = make_plan(f, as_of, POLICY)
    assert p.valid_until > as_of
    horizon = min(p.valid_until, as_of + timedelta(days=1500))
    days = {as_of + timedelta(days=1), horizon - timedelta(days=1), min(as_of + timedelta(days=step), horizon)}
    for d in sorted(x for x in days if as_of < x < horizon):
        later = make_plan(f, d, POLICY)
        assert identities(later) == identities(p), d
        assert later.flags == p.flags, d


@PROPERTY
@given(histories(), st.integers(1, 1000))
def test_the_alerts_hold_until_valid_until(history, step):
    f, as_of = history
    f = known_on(f, as_of)
    p = make_plan(f, as_of, POLICY)
    horizon = min(p.valid_until, as_of + timedelta(days=1500))
    for d in sorted({horizon - timedelta(days=1), min(as_of + timedelta(days=step), horizon - timedelta(days=1))}):
        if as_of < d:
            assert [(a.code, a.since) for a in make_plan(f, d, POLICY).alerts] == [(a.code, a.since) for a in p.alerts]


def test_valid_until_of_a_plan_that_nothing_can_change_is_far_away(policy):
    p = make_plan(facts(note("bone_metastasis", None)), "2024-01-01", policy)
    assert p.valid_until == FAR


@PROPERTY
@given(histories(), st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_the_order_facts_are_given_in(history, rnd):
    f, as_of = history

    def shuffled(seq):
        items = list(seq)
        rnd.shuffle(items)
        return tuple(items)

    mixed = PatientFacts(f.patient, *(shuffled(getattr(f, name)) for name in (
        "courses", "doses", "dxa", "markers", "fractures", "frax", "labs", "vitals", "notes")))
    a, b = make_plan(f, as_of, POLICY), make_plan(mixed, as_of, POLICY)
    assert (identities(a), a.flags, a.valid_until) == (identities(b), b.flags, b.valid_until)
