"""Per-patient state of the synthetic cohort (monitor.demo.cohort): one random stream, dates as ordinals.

Private to monitor.demo.cohort*. Every date inside a story is a proleptic ordinal (`date.toordinal()`);
facts are built with `day()` only when appended. `end` is the last day the patient can have facts:
`as_of`, or the date of death.
"""

from __future__ import annotations

import random
from datetime import date

from monitor.core.domain import (
    Dose,
    DxaRoi,
    Fracture,
    Frax,
    Lab,
    LabAnalyte,
    Marker,
    Note,
    NoteKind,
    TherapyCourse,
    Vitals,
)

YEAR = 365.25
SQRT6 = 6 ** 0.5
day = date.fromordinal


def randint(rng: random.Random, lo: int, hi: int) -> int:
    """lo … hi inclusive, from one rng.random() draw: several times faster than Random.randint."""
    return lo + int(rng.random() * (hi - lo + 1))


def noise(rng: random.Random, sd: float) -> float:
    """Measurement noise: triangular on ±√6·sd (mean 0, SD sd), two C calls instead of Random.gauss."""
    return (rng.random() + rng.random() - 1.0) * sd * SQRT6



# Bone-state segments: (first day, last day, (ls, fn, th) annual log-rate, CTX factor, P1NP factor).
Segment = tuple[int, int, tuple[float, float, float], float, float]

LAB_UNIT = {
    LabAnalyte.EGFR: "mL/min/1.73m2",
    LabAnalyte.CRCL: "mL/min",
    LabAnalyte.CALCIUM: "mmol/L",
    LabAnalyte.VITAMIN_D: "ng/mL",
    LabAnalyte.CREATININE: "umol/L",
}


class Story:
    """Mutable while one patient is generated, then turned into a PatientFacts and dropped."""

    __slots__ = (
        "ai_first", "ai_spans", "ai_stop", "birth", "bma_first", "bma_spans", "courses", "ctx0", "doses", "dxa",
        "egfr", "end", "fractures", "frax", "labs", "marker_days", "markers", "notes", "p1np0", "rebound", "rng",
        "tam_spans", "today", "vitals", "vitd", "weight",
    )

    def __init__(self, rng: random.Random, birth: int, end: int, today: int) -> None:
        self.rng = rng
        self.birth = birth
        self.end = end
        self.today = today
        self.courses: list[TherapyCourse] = []
        self.doses: list[Dose] = []
        self.dxa: list[DxaRoi] = []
        self.markers: list[Marker] = []
        self.fractures: list[Fracture] = []
        self.frax: list[Frax] = []
        self.labs: list[Lab] = []
        self.vitals: list[Vitals] = []
        self.notes: list[Note] = []
        self.ai_first: int | None = None  # first AI day, actual or planned
        self.ai_stop: int | None = None  # documented end of the last AI course
        self.ai_spans: list[tuple[int, int]] = []
        self.tam_spans: list[tuple[int, int]] = []
        self.bma_spans: list[Segment] = []
        self.rebound: list[Segment] = []
        self.bma_first: int | None = None
        self.marker_days: list[int] = []
        # Patient-level physiology: renal function, vitamin D, weight, baseline turnover.
        ckd = rng.random() < 0.04
        self.egfr = rng.uniform(18.0, 34.0) if ckd else min(118.0, max(38.0, rng.gauss(78.0, 14.0)))
        self.vitd = rng.uniform(7.0, 18.0) if rng.random() < 0.06 else min(70.0, max(14.0, rng.gauss(31.0, 7.0)))
        self.weight = min(125.0, max(43.0, rng.gauss(70.0, 12.5)))
        self.ctx0 = min(1200.0, max(160.0, rng.gauss(480.0, 150.0)))
        self.p1np0 = min(150.0, max(22.0, rng.gauss(60.0, 17.0)))

    # ----------------------------------------------------------------- small fact builders

    def note(self, kind: NoteKind, on: int, text: str | None = None) -> None:
        if self.birth <= on <= self.end:
            self.notes.append(Note(kind, day(on), text))

    def lab(self, analyte: LabAnalyte, on: int, value: float) -> None:
        if self.birth <= on <= self.end:
            self.labs.append(Lab(day(on), analyte, value, LAB_UNIT[analyte]))

    def age_years(self, on: int) -> float:
        return (on - self.birth) / YEAR

    # ----------------------------------------------------------------- labs

    def calcium(self, on: int) -> None:
        rng = self.rng
        value = rng.uniform(1.96, 2.08) if rng.random() < 0.012 else min(2.60, max(2.15, 2.36 + noise(rng, 0.07)))
        self.lab(LabAnalyte.CALCIUM, on, round(value, 2))

    def vitamin_d(self, on: int) -> None:
        value = max(4.0, self.vitd + noise(self.rng, 3.0))
        self.lab(LabAnalyte.VITAMIN_D, on, round(value, 1))
        self.vitd = min(60.0, self.vitd + self.rng.uniform(0.0, 6.0))  # supplements work, slowly

    def renal(self, on: int, *, egfr: bool, crcl: bool, creatinine: bool) -> None:
        rng = self.rng
        e = max(12.0, self.egfr + noise(rng, 3.5))
        if egfr:
            self.lab(LabAnalyte.EGFR, on, round(e))
        if crcl:
            age = self.age_years(on)
            value = e * (self.weight / 72.0) * max(0.6, 1.0 - (age - 65.0) * 0.008)
            self.lab(LabAnalyte.CRCL, on, float(round(min(value, 160.0))))
        if creatinine:
            self.lab(LabAnalyte.CREATININE, on, float(round(62.0 * (90.0 / e) ** 0.85)))

    def predose_labs(self, dose_day: int, *, iv: bool, vitamin_d: bool) -> None:
        """Drawn 1–21 days before an injection or infusion (docs/rules.md N2, BP-IV: the pre-dose safety labs)."""
        on = max(self.birth, dose_day - randint(self.rng, 1, 21))
        self.calcium(on)
        if iv:
            self.renal(on, egfr=False, crcl=self.rng.random() < 0.7, creatinine=True)
        else:
            self.renal(on, egfr=True, crcl=False, creatinine=self.rng.random() < 0.3)
        if vitamin_d:
            self.vitamin_d(on)

    # ----------------------------------------------------------------- bone state

    def segment_at(self, on: int) -> Segment | None:
        """The treatment state that drives bone on a day: rebound > BMA > AI > tamoxifen > none."""
        for seg in self.rebound:
            if seg[0] <= on <= seg[1]:
                return seg
        for seg in self.bma_spans:
            if seg[0] <= on <= seg[1]:
                return seg
        return None

    def on_ai(self, on: int) -> bool:
        return any(a <= on <= b for a, b in self.ai_spans)

    def on_tamoxifen(self, on: int) -> bool:
        return any(a <= on <= b for a, b in self.tam_spans)
