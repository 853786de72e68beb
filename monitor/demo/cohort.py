"""Deterministic synthetic cohort for `bonemon demo` and the benchmarks.

`generate_cohort(n, seed=..., as_of=...)` yields one PatientFacts per patient. Patient i has its own
random stream, `random.Random(f"{seed}:{i}")`, so her history depends only on (seed, i, as_of,
clinics): a cohort of 100,000 can be generated lazily, in any order, or in parallel chunks
(`generate_range`), in constant memory. Pure: no clock, no I/O, standard library only.

Every fact passes monitor.intake.validate with today = as_of, and nothing is dated after `as_of` except a
planned AI start up to `as_of` + 60 days. The histories follow docs/rules.md; composition (about):

- endocrine therapy: 77 % on an AI, 5 % planned only, 15 % finished 5 years, 3 % stopped one early
  (arthralgia; then another AI or tamoxifen); 15 % switched from tamoxifen.
- DXA every 12–24 months from a baseline before the AI; ~4 % never had one, some series lapse.
- a bone-modifying agent for ~60 % of the MODERATE/HIGH (more with low BMD): denosumab 40 %,
  zoledronic acid 5 mg yearly 15 %, 4 mg 6-monthly 15 %, alendronate weekly 30 %.
- fractures ~8 %, FRAX ~30 %, a few abnormal calcium, vitamin D and renal results.
- out of scope: ~1 % men, ~1 % premenopausal (most with OFS), ~1 % bone metastases; ~2 % deceased.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import date
from operator import attrgetter

from monitor.core.domain import (
    Dose,
    Drug,
    Fracture,
    FractureSite,
    Mechanism,
    Menopause,
    NoteKind,
    Patient,
    PatientFacts,
    Route,
    Sex,
    TherapyCourse,
)
from monitor.demo.bone import baseline_t, dxa_series, exam_days, fracture, markers, vitals
from monitor.demo.story import YEAR, Story, day, randint
from monitor.demo.therapy import endocrine, months_later, start_bma

# Invented names (no real people), with apostrophes, accents and CJK to exercise escaping and encodings.
FIRST_NAMES_F = (
    "Mary", "Zoë", "Siobhán", "Renée", "Ana", "Margaret", "Mei", "Fatima", "Ingrid", "Chloé", "Aoife",
    "Dolores", "Hannah", "Priya", "Joan", "Xiuying", "Grace", "Åsa", "Lucía", "Nkechi", "Helen", "Yuki",
)
FIRST_NAMES_M = ("John", "José", "Wei", "Thomas", "Seán", "Ahmed")
LAST_NAMES = (
    "O'Brien", "Smith", "Núñez", "Müller", "Wang", "Zhang", "Li", "Chen", "Jones", "Kowalski", "D'Angelo",
    "García", "Nguyen", "Okafor", "Sørensen", "Patel", "MacLeod", "Brown", "Dubois", "Liu", "Ó Súilleabháin",
    "van der Berg", "Abe", "王",
)
SCRIPT_INDEX = 7
SCRIPT_NAME = "<script>alert(1)</script>"
MRN_PREFIX = "DEMO-"

_by_date = attrgetter("date")


def mrn_for(index: int) -> str:
    """Patient index 0 is DEMO-000001."""
    return f"{MRN_PREFIX}{index + 1:06d}"


def generate_cohort(
    n: int, *, seed: int = 42, as_of: date, clinics: Sequence[str] = ("main", "north"),
) -> Iterator[PatientFacts]:
    """Patients 0 … n−1, lazily: memory does not grow with n."""
    return generate_range(0, n, seed=seed, as_of=as_of, clinics=clinics)


def generate_range(
    start: int, stop: int, *, seed: int = 42, as_of: date, clinics: Sequence[str] = ("main", "north"),
) -> Iterator[PatientFacts]:
    """Patients start … stop−1: a chunk of the same cohort (for parallel generation)."""
    if start < 0 or stop < start:
        raise ValueError(f"patient range must satisfy 0 <= start <= stop, got {start}..{stop}")
    clinics = tuple(clinics)
    if not clinics:
        raise ValueError("at least one clinic is needed")
    return (generate_patient(i, seed=seed, as_of=as_of, clinics=clinics) for i in range(start, stop))


def generate_patient(
    index: int, *, seed: int = 42, as_of: date, clinics: Sequence[str] = ("main", "north"),
) -> PatientFacts:
    """The history of patient `index`: a function of (seed, index, as_of, clinics) only."""
    rng = random.Random(f"{seed}:{index}")
    today = as_of.toordinal()
    u = rng.random()
    scope = "male" if u < 0.01 else "pre" if u < 0.02 else "mets" if u < 0.03 else "in"
    birth = _birth(rng, as_of, premenopausal=scope == "pre")
    end, deceased = today, None
    if rng.random() < 0.02:
        death = today - randint(rng, 30, 1000)
        if death - birth > 50 * YEAR:
            end, deceased = death, day(death)
    s = Story(rng, birth, end, today)

    kind = _endocrine_kind(rng.random(), deceased=deceased is not None, premenopausal=scope == "pre")
    planned = kind == "planned"
    endocrine(s, kind)

    exams = [] if rng.random() < 0.04 else exam_days(s, planned=planned)
    t0 = baseline_t(s, exams[0], premenopausal=scope == "pre", male=scope == "male") if exams else None
    t_min = min(t0) if t0 else None
    hip_or_vertebra = fracture(s, t_min)
    if scope == "mets":
        _metastasis(s)
    elif not planned:
        _bma_decision(s, exams, t_min, hip_or_vertebra, current=kind == "current")
    if exams:
        ai_loss = rng.uniform(0.012, 0.028) * (2.0 if scope == "pre" else 1.0)
        dxa_series(s, exams, t0, ai_loss=ai_loss, frax=rng.random() < 0.3, fragility_fx=hip_or_vertebra)
    markers(s)
    vitals(s, min(s.ai_first, exams[0] if exams else end, end - randint(rng, 0, 120)))
    if scope == "pre" and rng.random() < 0.7:
        s.note(NoteKind.OFS, min(s.ai_first, end) - randint(rng, 0, 60), "ovarian function suppression (goserelin)")

    male = scope == "male"
    if scope == "pre":
        menopause = Menopause.PRE
    else:
        menopause = Menopause.UNKNOWN if male or rng.random() < 0.03 else Menopause.POST
    clinic = clinics[0] if len(clinics) == 1 or rng.random() < 0.65 else rng.choice(clinics[1:])
    if index == SCRIPT_INDEX:
        name = SCRIPT_NAME
    else:
        name = f"{rng.choice(FIRST_NAMES_M if male else FIRST_NAMES_F)} {rng.choice(LAST_NAMES)}"
    patient = Patient(
        mrn_for(index), day(birth), Sex.MALE if male else Sex.FEMALE, menopause, clinic, name, deceased,
        phone=f"020 7946 0{index % 1000:03d}",  # Ofcom's range for fiction: never a real number
    )
    return PatientFacts(
        patient=patient,
        courses=tuple(sorted(s.courses, key=lambda c: (c.first_day, c.drug.value))),
        doses=tuple(sorted(s.doses, key=_by_date)),
        dxa=tuple(s.dxa),
        markers=tuple(s.markers),
        fractures=tuple(sorted(s.fractures, key=_by_date)),
        frax=tuple(s.frax),
        labs=tuple(sorted(s.labs, key=_by_date)),
        vitals=tuple(s.vitals),
        notes=tuple(sorted(s.notes, key=_by_date)),
    )


def _endocrine_kind(u: float, *, deceased: bool, premenopausal: bool) -> str:
    """5 % planned only, 15 % completed 5 years, 3 % stopped early, the rest current (monitor.demo.therapy)."""
    if premenopausal:
        return "current"
    if u < 0.05:
        return "current" if deceased else "planned"
    if u < 0.20:
        return "completed"
    return "stopped" if u < 0.23 else "current"


def _birth(rng: random.Random, as_of: date, *, premenopausal: bool) -> int:
    if premenopausal:
        year = as_of.year - randint(rng, 36, 47)
    else:
        hi = min(1975, as_of.year - 50)
        year = randint(rng, min(1940, hi - 30), hi)
    return date(year, randint(rng, 1, 12), randint(rng, 1, 28)).toordinal()


def _bma_decision(s: Story, exams: list[int], t_min: float | None, hip_or_vertebra: bool, *, current: bool) -> None:
    """~60 % of the MODERATE/HIGH start a bone-modifying agent, more when BMD is low; some decline."""
    rng = s.rng
    if hip_or_vertebra:
        p = 0.9
    elif t_min is None:
        p = 0.2
    else:
        p = 0.92 if t_min <= -2.5 else 0.74 if t_min < -1.0 else 0.48
    anchor = max(exams[0], s.ai_first) if exams else s.ai_first
    first = anchor + randint(rng, 14, 120)
    if len(exams) > 1 and rng.random() < 0.2:  # started after the first follow-up scan
        first = exams[1] + randint(rng, 14, 90)
    if first > s.end:
        return
    if rng.random() < p:
        start_bma(s, first)
    elif current and rng.random() < 0.15:
        s.note(NoteKind.BMA_DECLINED, first, "declined bone-modifying treatment after discussion")


def _metastasis(s: Story) -> None:
    """Bone metastases (a SCOPE exit): a note; some a pathological fracture, some denosumab 120 mg q4w."""
    rng = s.rng
    on = s.end - randint(rng, 0, 700)
    s.note(NoteKind.BONE_METASTASIS, on, "bone scan: metastases")
    if rng.random() < 0.25:
        s.fractures.append(Fracture(day(max(s.birth, on - randint(rng, 0, 30))), FractureSite.VERTEBRA,
                                    Mechanism.PATHOLOGICAL))
    if rng.random() < 0.3:
        first = on + randint(rng, 7, 30)
        doses = list(range(first, min(s.end, months_later(first, 30)) + 1, 28))
        if doses:
            s.courses.append(TherapyCourse(Drug.DENOSUMAB, day(first), dose_mg=120.0, interval_months=1))
            s.doses.extend(Dose(Drug.DENOSUMAB, day(d), 120.0, None, Route.SC) for d in doses)
