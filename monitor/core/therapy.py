"""Treatment episodes as of a date: effective courses, supply coverage and AI status (docs/rules.md A4, A5).

Pure: takes facts and `as_of`, never the clock. A course that began after `as_of` is invisible
(its plan, if it had one, still counts as a plan); a stop after `as_of` has not happened yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from monitor.core.dates import add_days
from monitor.core.domain import AIStatus, Dose, Drug, DrugClass, PatientFacts, TherapyCourse
from monitor.core.policy import RiskPolicy


def effective_courses(facts: PatientFacts) -> tuple[TherapyCourse, ...]:
    """Recorded courses plus one implied course per drug for doses given outside any course.

    An imported MedicationAdministration or a `record dose` with no `therapy start` still means the
    patient is on the drug: the implied course starts on the first such dose and stays open until
    the next recorded course of that drug begins. Risk, plan and alerts all ask for this for the
    same facts, so the answer is kept on the facts object (`PatientFacts.derived`).
    """
    found = facts.derived.get("effective_courses")
    if found is None:
        found = facts.derived["effective_courses"] = _effective_courses(facts)
    return found  # type: ignore[return-value]


def _effective_courses(facts: PatientFacts) -> tuple[TherapyCourse, ...]:
    by_drug_courses: dict[Drug, list[TherapyCourse]] = {}
    for c in facts.courses:
        by_drug_courses.setdefault(c.drug, []).append(c)
    orphans: dict[Drug, date] = {}
    for dose in facts.doses:
        drug = dose.drug
        if drug in orphans and orphans[drug] <= dose.date:
            continue
        if not any(_within(c, dose.date) for c in by_drug_courses.get(drug, ())):
            orphans[drug] = min(dose.date, orphans.get(drug, dose.date))
    if not orphans:
        return tuple(sorted(facts.courses, key=_course_order))
    courses = list(facts.courses)
    for drug, first in orphans.items():
        later_starts = sorted(c.start for c in by_drug_courses.get(drug, ()) if c.start and c.start > first)
        stop = later_starts[0] - timedelta(days=1) if later_starts else None
        reason = "implied by doses" if stop else None
        courses.append(TherapyCourse(drug=drug, start=first, stop=stop, stop_reason=reason))
    return tuple(sorted(courses, key=_course_order))


def _course_order(c: TherapyCourse) -> tuple:
    return (c.first_day or date.min, c.drug.value)


def _within(course: TherapyCourse, day: date) -> bool:
    return course.start is not None and course.start <= day and (course.stop is None or day <= course.stop)


def known_as_of(course: TherapyCourse, as_of: date) -> TherapyCourse | None:
    """The course as it was known on `as_of`: a later start or stop has not happened yet."""
    start = course.start if course.start is not None and course.start <= as_of else None
    if start is None and course.planned_start is None:
        return None
    stop = course.stop if course.stop is not None and course.stop <= as_of else None
    return replace(course, start=start, stop=stop)


def courses_as_of(facts: PatientFacts, as_of: date, klass: DrugClass | None = None) -> list[TherapyCourse]:
    out = []
    for c in effective_courses(facts):
        if klass is not None and c.drug.drug_class is not klass:
            continue
        k = known_as_of(c, as_of)
        if k is not None:
            out.append(k)
    return out


def is_active(course: TherapyCourse, on: date) -> bool:
    return course.start is not None and course.start <= on and (course.stop is None or course.stop > on)


@dataclass(frozen=True, slots=True)
class Coverage:
    start: date
    end: date  # last covered day, inclusive


def shifted_coverage(fills: Iterable[tuple[date, int]]) -> list[Coverage]:
    """PQA coverage: a fill on d with n days covers n days; an overlapping fill starts the day after
    the earlier supply ends (PDC). Returns merged, non-overlapping intervals."""
    out: list[Coverage] = []
    next_free: date | None = None
    for day, supply in sorted(fills):
        if supply <= 0:
            continue
        start = day if next_free is None or day >= next_free else next_free
        end = start + timedelta(days=supply - 1)
        if out and start <= out[-1].end + timedelta(days=1):
            out[-1] = Coverage(out[-1].start, max(out[-1].end, end))
        else:
            out.append(Coverage(start, end))
        next_free = out[-1].end + timedelta(days=1)
    return out


def supply_end(doses: Sequence[Dose], course: TherapyCourse, as_of: date) -> date | None:
    """Last day covered by the course's dispenses with days supply up to `as_of`, or None if it has none."""
    fills = [
        (d.date, d.days_supply)
        for d in doses
        if d.drug is course.drug and d.days_supply and d.date <= as_of
        and course.start is not None and d.date >= course.start
        and (course.stop is None or d.date <= course.stop)
    ]
    cov = shifted_coverage(fills)
    return cov[-1].end if cov else None


@dataclass(frozen=True, slots=True)
class AIState:
    status: AIStatus
    flags: tuple[str, ...]
    current_course: TherapyCourse | None = None
    planned_course: TherapyCourse | None = None


def ai_state(facts: PatientFacts, as_of: date, policy: RiskPolicy) -> AIState:
    """A4: CURRENT > PLANNED > PAST > NONE. Tamoxifen is not an AI."""
    flags: list[str] = []
    current = planned = None
    existed = False
    for c in courses_as_of(facts, as_of, DrugClass.AI):
        if c.start is not None:
            existed = True
            if c.stop is None:
                end = supply_end(facts.doses, c, as_of)
                if end is not None and as_of > add_days(end, policy.ai_supply_grace_days):
                    flags.append("AI_SUPPLY_GAP")
                elif current is None:
                    current = c
        elif c.planned_start is not None and c.stop is None:
            if as_of >= add_days(c.planned_start, policy.ai_plan_expiry_days):
                flags.append("AI_PLAN_EXPIRED")
            elif as_of >= add_days(c.planned_start, -policy.ai_plan_lookahead_days) and planned is None:
                planned = c
    if current is not None:
        status = AIStatus.CURRENT
    elif planned is not None:
        status = AIStatus.PLANNED
    elif existed:
        status = AIStatus.PAST
        flags.append("AI_COMPLETED")
    else:
        status = AIStatus.NONE
    if status is AIStatus.CURRENT:
        flags = [f for f in flags if f != "AI_SUPPLY_GAP"]
    return AIState(status, tuple(dict.fromkeys(flags)), current, planned)


def ai_plus(status: AIStatus) -> bool:
    return status in (AIStatus.PLANNED, AIStatus.CURRENT)
