"""Adherence metrics (docs/rules.md PDC, COVER, MPR, PERSISTENCE) and bisphosphonate exposure (EXPOSURE).

Pure and plain: every function takes dates, day counts and the policy, so the planner and the
adherence reports compute the same numbers. A *fill* is `(date, days covered)`: an oral dispense
with its days supply, or an injection with the days it covers (`cover_days`).

- PDC (PQA): the period runs from the index (first) fill, or a later window start, to `end`;
  an overlapping fill starts the day after the earlier supply ends (`therapy.shifted_coverage`).
- MPR: days supplied by fills dated in the period / days in the period, capped at 1.0 by default.
- Persistence: oral, no gap of more than `gap_days` uncovered days; denosumab, every dose on time.
- Exposure: E = oral days / oral_days_full + IV months / iv_months_full, IV months counted at the
  end of each dose's interval; `exposure_reaches_one` projects the first date E ≥ 1.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from monitor.core.dates import add_days, add_months
from monitor.core.domain import Dose, Drug, DrugClass, TherapyCourse
from monitor.core.policy import DenosumabPolicy, HolidayPolicy, Policy
from monitor.core.regimen import Regimen, bp_regimen, iv_schedule
from monitor.core.therapy import Coverage, shifted_coverage

Fill = tuple[date, int]

__all__ = [
    "DoseTiming",
    "Exposure",
    "Fill",
    "Persistence",
    "course_for",
    "cover_days",
    "coverage_end",
    "covered_days",
    "denosumab_persistent",
    "denosumab_timing",
    "exposure",
    "exposure_reaches_one",
    "fills",
    "is_adherent",
    "iv_months_reach",
    "mpr",
    "oral_days_reach",
    "oral_persistence",
    "pdc",
    "shifted_coverage",
]


# --------------------------------------------------------------------------- fills


def course_for(dose: Dose, courses: Iterable[TherapyCourse]) -> TherapyCourse | None:
    """The course of the dose's drug that contains its date, if any."""
    for c in courses:
        if c.drug is dose.drug and c.start is not None and c.start <= dose.date and (
            c.stop is None or dose.date <= c.stop
        ):
            return c
    return None


def cover_days(dose: Dose, course: TherapyCourse | None, policy: Policy) -> int | None:
    """Days one dose covers (COVER): denosumab, ZOL 5 mg, ZOL 4 mg and IV ibandronate by regimen;
    an oral dispense by its days supply (None when the supply is unknown)."""
    if dose.drug is Drug.DENOSUMAB:
        return policy.denosumab.cover_days
    if dose.drug.is_bp:
        schedule = iv_schedule(bp_regimen(dose, course, policy.bp), policy.bp)
        if schedule is not None:
            return schedule.cover_days
    return dose.days_supply if dose.days_supply else None


def fills(
    doses: Iterable[Dose], courses: Sequence[TherapyCourse], policy: Policy, *,
    klass: DrugClass | None = None, oral_bp: bool | None = None,
) -> list[Fill]:
    """(date, days covered) of the doses of a drug class; `oral_bp` keeps only oral (True) or only
    IV (False) bisphosphonate doses. Doses with no known cover are left out."""
    out: list[Fill] = []
    for d in doses:
        if klass is not None and d.drug.drug_class is not klass:
            continue
        course = course_for(d, courses)
        if oral_bp is not None and (
            not d.drug.is_bp or (bp_regimen(d, course, policy.bp) is Regimen.ORAL) is not oral_bp
        ):
            continue
        n = cover_days(d, course, policy)
        if n:
            out.append((d.date, n))
    return out


# --------------------------------------------------------------------------- PDC and MPR


def coverage_end(fills: Iterable[Fill]) -> date | None:
    """The last day the fills cover with PQA shifting (the end of `shifted_coverage`), on day numbers."""
    end = 0
    for day, n in sorted(fills):
        if n > 0:
            o = day.toordinal()
            end = (o if o > end else end + 1) + n - 1
    return date.fromordinal(end) if end else None


def covered_days(coverage: Sequence[Coverage], start: date, end: date) -> int:
    """Days from start to end (inclusive) that fall in the coverage intervals."""
    total = 0
    for c in coverage:
        if c.end < start:
            continue
        if c.start > end:
            break
        total += (min(c.end, end) - max(c.start, start)).days + 1
    return total


def _period(past: Sequence[Fill], end: date, start: date | None) -> date | None:
    if not past:
        return None
    index = min(d for d, _ in past)
    begin = index if start is None or start < index else start
    return begin if begin <= end else None


def pdc(fills: Iterable[Fill], end: date, *, start: date | None = None) -> float | None:
    """Proportion of days covered from the index fill (or `start`, if later) to `end` inclusive.

    Fills after `end` are ignored; coverage beyond `end` is cut. None when no fill precedes `end`.
    """
    past = [(d, n) for d, n in fills if d <= end and n > 0]
    begin = _period(past, end, start)
    if begin is None:
        return None
    return covered_days(shifted_coverage(past), begin, end) / ((end - begin).days + 1)


def mpr(fills: Iterable[Fill], end: date, *, start: date | None = None, cap: bool = True) -> float | None:
    """Days supplied by the fills dated in the period / days in the period (capped at 1.0 unless cap=False)."""
    past = [(d, n) for d, n in fills if d <= end and n > 0]
    begin = _period(past, end, start)
    if begin is None:
        return None
    ratio = sum(n for d, n in past if d >= begin) / ((end - begin).days + 1)
    return min(ratio, 1.0) if cap else ratio


def is_adherent(value: float | None, policy: Policy) -> bool | None:
    """PDC ≥ threshold (PDC, PQA 0.80); None when there is no PDC."""
    return None if value is None else value >= policy.adherence.pdc_threshold


# --------------------------------------------------------------------------- persistence


@dataclass(frozen=True, slots=True)
class Persistence:
    persistent: bool
    stopped_on: date | None = None  # first day counted as discontinued


def oral_persistence(fills: Iterable[Fill], end: date, *, gap_days: int) -> Persistence | None:
    """Oral therapy is persistent while no run of more than `gap_days` uncovered days follows a
    supply (PERSISTENCE): discontinued on supply end + gap_days + 1. None without fills."""
    cov = shifted_coverage([(d, n) for d, n in fills if d <= end])
    if not cov:
        return None
    for a, b in itertools.pairwise(cov):
        if (b.start - a.end).days - 1 > gap_days:
            return Persistence(False, add_days(a.end, gap_days + 1))
    if (end - cov[-1].end).days > gap_days:
        return Persistence(False, add_days(cov[-1].end, gap_days + 1))
    return Persistence(True)


@dataclass(frozen=True, slots=True)
class DoseTiming:
    """One denosumab dose against the target set by the dose before it (N1, ON-TIME)."""

    date: date
    target: date
    days_late: int  # negative when early
    on_time: bool  # date ≤ target + on_time_days


def denosumab_timing(dose_dates: Iterable[date], policy: DenosumabPolicy) -> list[DoseTiming]:
    """Timing of every denosumab dose after the first; each target = the previous actual dose + interval."""
    days = sorted(set(dose_dates))
    out = []
    for prev, cur in itertools.pairwise(days):
        target = add_months(prev, policy.interval_months)
        late = (cur - target).days
        out.append(DoseTiming(cur, target, late, late <= policy.on_time_days))
    return out


def denosumab_persistent(dose_dates: Iterable[date], end: date, policy: DenosumabPolicy) -> bool | None:
    """Every dose ≤ target + on_time_days, and on `end` the next dose is not yet late. None without doses."""
    days = sorted(d for d in set(dose_dates) if d <= end)
    if not days:
        return None
    if not all(t.on_time for t in denosumab_timing(days, policy)):
        return False
    return end <= add_days(add_months(days[-1], policy.interval_months), policy.on_time_days)


# --------------------------------------------------------------------------- exposure (EXPOSURE)


@dataclass(frozen=True, slots=True)
class Exposure:
    oral_days: int
    iv_months: int
    value: Fraction  # E; the holiday review falls when it reaches 1


def _iv_months(iv_doses: Iterable[tuple[date, int]], on: date) -> int:
    return sum(m for d, m in iv_doses if add_months(d, m) <= on)


def exposure(oral_fills: Iterable[Fill], iv_doses: Iterable[tuple[date, int]], on: date,
             policy: HolidayPolicy) -> Exposure:
    """E on `on`: oral days covered up to `on` (overlaps shifted) and IV months of doses whose
    interval has ended by `on` (a dose of interval m months counts m months at dose + m)."""
    past = [(d, n) for d, n in oral_fills if d <= on]
    cov = shifted_coverage(past)
    oral = covered_days(cov, cov[0].start, on) if cov else 0
    iv = _iv_months([(d, m) for d, m in iv_doses if d <= on], on)
    return Exposure(oral, iv, Fraction(oral, policy.oral_days_full) + Fraction(iv, policy.iv_months_full))


def _nth_covered_day(cov: Sequence[Coverage], n: int, open_end: bool) -> date | None:
    """The day on which covered days reach n (the last interval never ends when open_end)."""
    if n <= 0:
        return date.min
    acc = 0
    for i, c in enumerate(cov):
        if open_end and i == len(cov) - 1:
            return c.start + timedelta(days=n - acc - 1)
        length = (c.end - c.start).days + 1
        if acc + length >= n:
            return c.start + timedelta(days=n - acc - 1)
        acc += length
    return None


def oral_days_reach(oral_fills: Iterable[Fill], days: int) -> date | None:
    """The date on which the known oral fills have covered `days` days (None if they never do)."""
    return _nth_covered_day(shifted_coverage(list(oral_fills)), days, False)


def iv_months_reach(iv_doses: Iterable[tuple[date, int]], months: int) -> date | None:
    """The date on which IV months (counted at the end of each interval) reach `months`."""
    total = 0
    for end, m in sorted((add_months(d, m), m) for d, m in iv_doses):
        total += m
        if total >= months:
            return end
    return None


def exposure_reaches_one(
    oral_fills: Iterable[Fill], iv_doses: Iterable[tuple[date, int]], policy: HolidayPolicy, *,
    oral_continues: bool = False,
) -> date | None:
    """The first date on which E ≥ 1 (EXPOSURE, H-REVIEW), in exact integer arithmetic.

    `iv_doses` are (date, interval months), past and projected. With `oral_continues` the oral
    regimen is assumed to go on without a gap after its last supply ends (the projection "if
    continued"); otherwise only the known fills count. None when E never reaches 1.
    """
    cov = shifted_coverage(list(oral_fills))
    open_end = oral_continues and bool(cov)
    full_days, full_months = policy.oral_days_full, policy.iv_months_full
    whole = full_days * full_months
    steps: list[tuple[date | None, int]] = sorted((add_months(d, m), m) for d, m in iv_doses)
    steps.append((None, 0))
    months = 0
    segment_start = date.min
    for step, m in steps:
        need = -(-(whole - months * full_days) // full_months)  # ceil: oral days still needed
        reach = _nth_covered_day(cov, need, open_end)
        if reach is not None:
            day = max(reach, segment_start)
            if step is None or day < step:
                return day
        if step is None:
            return None
        months += m
        segment_start = step
    return None
