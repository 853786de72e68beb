"""The patient's facts as known on one date, indexed once for the schedule rules (docs/rules.md AS-OF).

Pure. `Timeline(facts, on, policy)` keeps only what was known on `on`: facts dated on or before
it, undated notes (A1c), and each course as `therapy.known_as_of` shows it (a start or stop
after `on` has not happened yet; a plan is known on every date). The schedule modules read these
indexes instead of scanning the facts again, and the planner builds a second, earlier timeline
when it needs the task that was open just before a completing fact.

`Horizon` collects the dates on which a plan can change with no new fact (its `valid_until`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from datetime import date

from monitor.core.domain import Dose, Drug, DrugClass, NoteKind, PatientFacts, TherapyCourse
from monitor.core.policy import Policy
from monitor.core.therapy import effective_courses, is_active, known_as_of

FAR = date(9999, 12, 31)  # valid_until of a plan that no date alone can change

# Drug groups as sets: membership is much cheaper than the enum properties in the hot loops.
AI_DRUGS = frozenset(d for d in Drug if d.drug_class is DrugClass.AI)
ENDOCRINE_DRUGS = AI_DRUGS | {Drug.TAMOXIFEN}
BP_DRUGS = frozenset(d for d in Drug if d.is_bp)
BMA_DRUGS = BP_DRUGS | {Drug.DENOSUMAB}


class Horizon:
    """The first date after `as_of` on which something can change (earlier is safe, later is a bug)."""

    __slots__ = ("as_of", "first")

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.first = FAR

    def add(self, day: date | None) -> None:
        if day is not None and self.as_of < day < self.first:
            self.first = day


def _known(course: TherapyCourse, on: date) -> TherapyCourse | None:
    if (course.start is None or course.start <= on) and (course.stop is None or course.stop <= on):
        return course if course.start is not None or course.planned_start is not None else None
    return known_as_of(course, on)


def _dose_day(d: Dose) -> date:
    return d.date


def first_after(days: Sequence[date], day: date, *, inclusive: bool = True) -> date | None:
    """The first of the sorted `days` on or after `day` (strictly after when not inclusive)."""
    i = bisect_left(days, day) if inclusive else bisect_right(days, day)
    return days[i] if i < len(days) else None


class Timeline:
    """Facts known on `on`, with the indexes the rules need. Build it, read it, never change it."""

    __slots__ = (
        "_earliest",
        "_holiday",
        "all_facts",
        "bma_changes",
        "bma_events",
        "bp_courses",
        "bp_doses",
        "courses",
        "dmab_courses",
        "dmab_dates",
        "dxa_dates",
        "endocrine_courses",
        "facts",
        "marker_dates",
        "note_dates",
        "on",
        "policy",
        "undated_notes",
    )

    def __init__(self, facts: PatientFacts, on: date, policy: Policy) -> None:
        self.on = on
        self.policy = policy
        self.all_facts = facts  # including facts dated after `on` (they change the plan on their date)
        known = tuple([k for c in facts.courses if (k := _known(c, on)) is not None])
        doses = tuple([d for d in facts.doses if d.date <= on])
        notes = tuple([n for n in facts.notes if n.date is None or n.date <= on])
        dxa = tuple([r for r in facts.dxa if r.date <= on])
        markers = tuple([m for m in facts.markers if m.date <= on])
        rest = (tuple([f for f in facts.fractures if f.date <= on]), tuple([f for f in facts.frax if f.date <= on]),
                tuple([x for x in facts.labs if x.date <= on]), tuple([v for v in facts.vitals if v.date <= on]))
        if (len(doses), len(notes), len(dxa), len(markers), *map(len, rest)) == (
            len(facts.doses), len(facts.notes), len(facts.dxa), len(facts.markers), len(facts.fractures),
            len(facts.frax), len(facts.labs), len(facts.vitals),
        ) and all(k is c for k, c in zip(known, facts.courses, strict=False)) and len(known) == len(facts.courses):
            # Nothing is dated after `on`: keep the caller's object and what risk.assess derived from it.
            self.facts = facts
        else:
            self.facts = PatientFacts(facts.patient, known, doses, dxa, markers, *rest, notes)
        self.courses = courses = effective_courses(self.facts)
        self.endocrine_courses = tuple([c for c in courses if c.drug in ENDOCRINE_DRUGS])
        self.dmab_courses = tuple([c for c in courses if c.drug is Drug.DENOSUMAB])
        self.bp_courses = tuple([c for c in courses if c.drug in BP_DRUGS])

        self.dxa_dates = sorted({r.date for r in dxa})
        completing = policy.btm.panel + policy.btm.accepted
        self.marker_dates = sorted({m.date for m in markers if m.analyte.value in completing})

        dmab = {d.date for d in doses if d.drug is Drug.DENOSUMAB}
        dmab.update([c.start for c in self.dmab_courses if c.start is not None])
        self.dmab_dates = sorted(dmab)
        bp_doses = [d for d in doses if d.drug in BP_DRUGS]
        bp_doses.sort(key=_dose_day)
        self.bp_doses = tuple(bp_doses)
        events = dmab.union([d.date for d in bp_doses], [c.start for c in self.bp_courses if c.start is not None])
        self.bma_events = sorted(events)
        changes = [d for c in courses if c.drug in BMA_DRUGS for d in (c.start, c.stop) if d is not None]
        changes.sort()
        self.bma_changes = changes

        note_dates: dict[NoteKind, list[date]] = {}
        undated: set[NoteKind] = set()
        for n in notes:
            if n.date is None:
                undated.add(n.kind)
            else:
                note_dates.setdefault(n.kind, []).append(n.date)
        for days in note_dates.values():
            days.sort()
        self.note_dates = note_dates
        self.undated_notes = undated
        self._earliest: date | bool | None = False
        self._holiday: object = False

    # ------------------------------------------------------------------ notes

    def notes_of(self, *kinds: NoteKind) -> list[date]:
        """Sorted dates of the dated notes of these kinds."""
        if len(kinds) == 1:
            return self.note_dates.get(kinds[0], [])
        return sorted(d for k in kinds for d in self.note_dates.get(k, ()))

    def has_note(self, kind: NoteKind) -> bool:
        """A note of this kind is known (dated on or before `on`, or undated)."""
        return kind in self.undated_notes or kind in self.note_dates

    # ------------------------------------------------------------------ courses

    def active(self, courses: Iterable[TherapyCourse]) -> list[TherapyCourse]:
        return [c for c in courses if is_active(c, self.on)]

    def on_denosumab(self) -> bool:
        """The latest denosumab course has started and has no documented stop."""
        started = [c for c in self.dmab_courses if c.start is not None]
        return bool(started) and max(started, key=lambda c: c.start).stop is None  # type: ignore[arg-type,return-value]

    def course_for(self, dose: Dose) -> TherapyCourse | None:
        for c in self.courses:
            if c.drug is dose.drug and c.start is not None and c.start <= dose.date and (
                c.stop is None or dose.date <= c.stop
            ):
                return c
        return None

    # ------------------------------------------------------------------ dates

    def earliest_fact(self) -> date | None:
        """The patient's earliest dated fact known on `on` (None when she has none)."""
        if self._earliest is False:
            f = self.facts
            days: list[date] = [x.date for group in (f.doses, f.dxa, f.markers, f.fractures, f.frax, f.labs, f.vitals)
                                for x in group]
            days += [n.date for n in f.notes if n.date is not None]
            for c in f.courses:
                days += [d for d in (c.start, c.stop, c.planned_start) if d is not None and d <= self.on]
            self._earliest = min(days) if days else None
        return self._earliest  # type: ignore[return-value]

    def last_dxa(self) -> date | None:
        return self.dxa_dates[-1] if self.dxa_dates else None
