"""Parts of one measurement or one therapy, read from separate resources, made into one fact.

- T, BMD and Z of one ROI (same date, site, side) → one DxaRoi (US Core sends each as its own
  Observation).
- Weight, height, BMI and waist of one day → one Vitals; FRAX hip and MOF of one day → one Frax.
- A site-less osteoporotic fracture code on the day of a fracture coded by site → that fracture,
  mechanism fragility (Synthea pairs 443165006 with "fracture of forearm").
- Renewals of one drug → one course (Synthea re-orders alendronate every year).

Pure; the reader counts which resources ended up in a fact through `Pending.accepted`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from monitor.core.domain import Dose, DxaRoi, Fracture, Frax, Lab, Marker, Mechanism, Note, TherapyCourse, Vitals
from monitor.intake.fhir.conditions import FractureDraft, MenopauseEvidence
from monitor.intake.fhir.fields import Ref
from monitor.intake.fhir.medications import CourseDraft, MedSpec


@dataclass(slots=True)
class Pending:
    """One resource whose draft facts wait for their patient."""

    file: int
    where: str
    subject: Ref | None
    pieces: list[Any]
    key: str = ""  # "Observation 80938-4": how the resource is counted if it ends up ignored
    med_spec: MedSpec | None = None
    med_ref: str | None = None
    accepted: int = 0
    rejections: list[str] = field(default_factory=list)
    ignored_key: str | None = None


def kind_of(piece: Any) -> str:
    if isinstance(piece, CourseDraft):
        return "course"
    if isinstance(piece, FractureDraft):
        return "fracture"
    if isinstance(piece, MenopauseEvidence):
        return "menopause"
    return {Dose: "dose", DxaRoi: "dxa", Marker: "marker", Frax: "frax", Lab: "lab", Vitals: "vitals", Note: "note"}[
        type(piece)
    ]


def merge_dxa(items: list[tuple[DxaRoi, Pending]]) -> list[DxaRoi]:
    """T, BMD and Z of one ROI (same date, site, side) from separate Observations → one DxaRoi.

    Each T-score is its own ROI; a BMD or Z-score fills the first ROI of its site that lacks one.
    The merged ROI keeps the `source` of its T-score (else of its BMD). A Z-score with no T-score
    or BMD to join is ignored (Z-scores never tier, docs/rules.md A1).
    """

    def rank(roi: DxaRoi) -> int:
        return 0 if roi.t_score is not None else 1 if roi.bmd is not None else 2

    out: list[DxaRoi] = []
    slots: dict[tuple, list[int]] = {}
    for roi, res in sorted(items, key=lambda x: (rank(x[0]), x[0].source or "")):
        key = (roi.date, roi.site, roi.side)
        indices = slots.setdefault(key, [])
        if rank(roi) == 0:
            indices.append(len(out))
            out.append(roi)
            continue
        attr = "bmd" if rank(roi) == 1 else "z_score"
        target = next((i for i in indices if getattr(out[i], attr) is None), None)
        if target is not None:
            out[target] = replace(
                out[target], **{attr: getattr(roi, attr)}, vertebrae=out[target].vertebrae or roi.vertebrae
            )
        elif rank(roi) == 1:
            indices.append(len(out))
            out.append(roi)
        else:
            res.accepted -= 1
            if not res.accepted:
                res.ignored_key = f"{res.key} (Z-score without a T-score or BMD of the same ROI)"
    return out


def merge_fill(items: list[tuple[Any, Pending]], fields: tuple[str, ...]) -> list[Any]:
    """Parts of one day's measurement (weight, height, BMI; FRAX hip and MOF) → one fact per day."""
    out: list[Any] = []
    by_day: dict[date, list[int]] = {}
    for fact, _res in sorted(items, key=lambda x: (x[0].date, x[0].source or "")):
        given = [f for f in fields if getattr(fact, f) is not None]
        same_day = by_day.setdefault(fact.date, [])
        target = next((i for i in same_day if all(getattr(out[i], f) is None for f in given)), None)
        if target is None:
            same_day.append(len(out))
            out.append(fact)
        else:
            extra = {f: getattr(fact, f) for f in given}
            if isinstance(fact, Frax) and out[target].model is None and fact.model:
                extra["model"] = fact.model
            out[target] = replace(out[target], **extra)
    return out


def merge_fractures(items: list[tuple[FractureDraft, Pending]]) -> list[Fracture]:
    """A site-less osteoporotic fracture code (443165006, M80.0 without site) on the day of a fracture
    coded by site with no mechanism says that fracture was a fragility fracture: one Fracture."""
    by_day: dict[date, list[FractureDraft]] = {}
    for draft, _res in items:
        by_day.setdefault(draft.fracture.date, []).append(draft)
    out: list[Fracture] = []
    for drafts in by_day.values():
        siteless = [d for d in drafts if not d.site_coded and d.fracture.mechanism is Mechanism.FRAGILITY]
        sited = [d for d in drafts if d not in siteless]
        targets = [d for d in sited if d.fracture.mechanism is Mechanism.UNKNOWN]
        if siteless and targets:
            out += [replace(d.fracture, mechanism=Mechanism.FRAGILITY) if d in targets else d.fracture for d in sited]
        else:
            out += [d.fracture for d in drafts]
    return out


def sorted_facts(facts: list[Any], key) -> tuple:
    """Sorted by `key`, then `source`; one copy of identical facts from the same resource."""
    seen: set[tuple] = set()
    unique = []
    for f in facts:
        k = (type(f).__name__, f.source, f)
        if k not in seen:
            seen.add(k)
            unique.append(f)
    return tuple(sorted(unique, key=lambda f: (key(f), f.source or "")))


def merge_courses(
    drafts: list[tuple[CourseDraft, Pending]],
) -> tuple[list[TherapyCourse], list[tuple[Pending, str]]]:
    """Renewals of one drug (Synthea re-orders alendronate yearly) are one course.

    Courses of a drug are taken by start date; one that starts before the previous one stopped
    (or while it has no stop) continues it, and the last fragment decides the stop. A plan
    (no start yet) stays a plan.
    """
    out: list[TherapyCourse] = []
    notes: list[tuple[Pending, str]] = []
    by_drug: dict[Any, list[tuple[CourseDraft, Pending]]] = {}
    for d, res in drafts:
        if d.course.start is None:
            out.append(d.course)
        else:
            by_drug.setdefault(d.course.drug, []).append((d, res))
    for items in by_drug.values():
        items.sort(key=lambda x: (x[0].course.start, x[0].course.source or ""))
        current, last = items[0]
        course = current.course
        for draft, res in items[1:]:
            c = draft.course
            if course.stop is None or c.start <= course.stop:
                if course.stop is None or c.stop is None:
                    stop = c.stop if course.stop is None else None
                else:
                    stop = max(course.stop, c.stop)
                course = replace(
                    course,
                    stop=stop,
                    dose_mg=course.dose_mg or c.dose_mg,
                    interval_months=course.interval_months or c.interval_months,
                )
                current, last = draft, res
            else:
                out.append(_close(course, current, last, notes))
                course, current, last = c, draft, res
        out.append(_close(course, current, last, notes))
    return out, notes


def _close(course: TherapyCourse, last: CourseDraft, res: Pending, notes: list[tuple[Pending, str]]) -> TherapyCourse:
    if last.open_end and course.stop is None:
        message = (
            f"status {last.status} but no end date: the {course.drug.value} course from {course.start}"
            " is kept open (no stop date to record)"
        )
        notes.append((res, message))
    return course
