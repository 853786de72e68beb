"""The facts the safety checks read on one date: a `Timeline` plus what only the alerts need.

`AlertView` adds to the planner's Timeline the latest results per analyte, the notes per kind, the
doses per drug, the courses running, started and planned on `as_of`, the BMA agents she is on or
about to start (`Bma`), the doses due (from the planner's open tasks) and her renal function.
Undated evidence (A1c) dates from her earliest dated fact, else her birth date (`fallback`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from monitor.core.alerts.found import num, rounded
from monitor.core.dates import age_on
from monitor.core.domain import (
    Assessment,
    Dose,
    Drug,
    Lab,
    LabAnalyte,
    Note,
    NoteKind,
    PatientFacts,
    Task,
    TaskKind,
    TherapyCourse,
)
from monitor.core.regimen import IV_AGENTS, ORAL_AGENTS, Agent, agent_of
from monitor.core.timeline import Timeline
from monitor.core.vocab import LAB_UNITS

# Cockcroft-Gault formula constants (not clinical thresholds).
CG_AGE_BASE = 140
CG_DIVISOR = 72
CG_FEMALE = 0.85
UMOL_L_PER_MG_DL = LAB_UNITS["creatinine"][1]["mg/dl"]


def earliest_fact_day(facts: PatientFacts, as_of: date) -> date:
    """The patient's earliest dated fact up to as_of, else her birth date: `since` for undated evidence."""
    days = [c.start for c in facts.courses if c.start is not None]
    for seq in (facts.doses, facts.dxa, facts.markers, facts.fractures, facts.frax, facts.labs, facts.vitals):
        days += [x.date for x in seq]
    days += [n.date for n in facts.notes if n.date is not None]
    return min((x for x in days if x <= as_of), default=facts.patient.birth_date)


@dataclass(frozen=True, slots=True)
class Bma:
    """A bone-modifying course she is on (or is planned to start) and the agent it gives."""

    course: TherapyCourse
    agent: Agent
    start: date | None  # None while only planned
    dosed: bool  # a dose of this drug since the course start, up to as_of

    @property
    def planned(self) -> bool:
        return self.start is None

    @property
    def first_pending(self) -> bool:
        return self.start is None or not self.dosed

    @property
    def first_day(self) -> date:
        return self.start or self.course.planned_start  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Renal:
    crcl: float
    day: date
    creatinine: float | None = None  # set when Cockcroft-Gault made it
    kg: float = 0.0
    age: int = 0

    @property
    def text(self) -> str:
        if self.creatinine is None:
            return f"CrCl {num(self.crcl)} mL/min (recorded on {self.day})"
        return (f"CrCl {num(self.crcl)} mL/min (Cockcroft-Gault from creatinine {num(self.creatinine)} µmol/L on "
                f"{self.day}, weight {num(self.kg)} kg, age {self.age})")


class AlertView:
    """The facts as known on `tl.on`, indexed once for the safety checks."""

    def __init__(self, tl: Timeline, assessment: Assessment, tasks: Sequence[Task]) -> None:
        self.timeline, self.assessment = tl, assessment
        self.facts, self.as_of, self.policy = tl.facts, tl.on, tl.policy
        facts = tl.facts  # known on as_of only
        self.labs: dict[LabAnalyte, list[Lab]] = {}
        for lab in facts.labs:
            self.labs.setdefault(lab.analyte, []).append(lab)
        self.notes: dict[NoteKind, list[Note]] = {}
        for note in facts.notes:
            self.notes.setdefault(note.kind, []).append(note)
        self.doses: dict[Drug, list[Dose]] = {}  # per drug, in the order given
        for x in facts.doses:
            self.doses.setdefault(x.drug, []).append(x)
        self.courses = tl.courses  # effective courses as known on as_of: a later start or stop has not happened
        self.started = [c for c in tl.courses if c.start is not None]  # running or stopped
        self.running = [c for c in self.started if c.stop is None]
        self.planned = [c for c in tl.courses if c.start is None and c.planned_start is not None and c.stop is None]
        running = {c.drug for c in self.running}
        self.bma: list[Bma] = []
        for c in self.running + [c for c in self.planned if c.drug not in running]:  # a running course took over
            if c.drug.is_bma:
                own = [x for x in self.doses.get(c.drug, ()) if c.start is None or x.date >= c.start]
                agent = agent_of(c, own, self.policy.bp)
                if agent is not None:
                    self.bma.append(Bma(c, agent, c.start, bool(own)))
        self.tasks = [t for t in tasks if t.done_on is None or t.done_on > self.as_of]
        self._fallback: date | None = None

    def fallback(self) -> date:
        if self._fallback is None:
            self._fallback = earliest_fact_day(self.facts, self.as_of)
        return self._fallback

    def note_day(self, note: Note) -> date:
        return note.date if note.date is not None else self.fallback()

    def on(self, test: Callable[[Drug], bool]) -> list[TherapyCourse]:
        return [c for c in self.running if test(c.drug)]

    def latest(self, *analytes: LabAnalyte) -> Lab | None:
        return max((x for a in analytes for x in self.labs.get(a, ())), key=lambda x: x.date, default=None)

    def dates(self, *analytes: LabAnalyte) -> list[date]:
        return [x.date for a in analytes for x in self.labs.get(a, ())]

    def due_doses(self) -> dict[Agent | None, date]:
        """Agent → the day its next dose (or oral start) is due; None: a bisphosphonate not chosen yet."""
        due: dict[Agent | None, date] = {}
        for t in self.tasks:
            if t.kind is TaskKind.DENOSUMAB_DOSE:
                agent: Agent | None = Agent.DENOSUMAB
            elif t.kind is TaskKind.BP_DOSE:
                agent = self._pick(IV_AGENTS, planned_only=False)
            elif t.kind is TaskKind.SEQUENTIAL_BP:
                agent = self._pick(IV_AGENTS + ORAL_AGENTS, planned_only=True)
            else:
                continue
            due[agent] = min(due.get(agent, t.target), t.target)
        for b in self.bma:
            if b.agent not in due and (b.planned or (b.first_pending and b.agent not in ORAL_AGENTS)):
                due[b.agent] = b.first_day
        return due

    def _pick(self, agents: tuple[Agent, ...], *, planned_only: bool) -> Agent | None:
        ranked = sorted((b.planned, b.first_day, b.agent) for b in self.bma
                        if b.agent in agents and (b.planned or not planned_only))
        return ranked[0][2] if ranked else None

    def renal(self) -> Renal | None:
        """The newer of the latest recorded CrCl and Cockcroft-Gault from the latest creatinine (same day:
        the recorded CrCl); Cockcroft-Gault needs a weight and uses the age on the creatinine date."""
        crcl, creat = self.latest(LabAnalyte.CRCL), self.latest(LabAnalyte.CREATININE)
        if creat is not None and (crcl is None or creat.date > crcl.date):
            weighed = max((v for v in self.facts.vitals if v.weight_kg), key=lambda v: v.date, default=None)
            if weighed is not None:
                kg, age = weighed.weight_kg, age_on(self.facts.patient.birth_date, creat.date)
                value = (CG_AGE_BASE - age) * kg / (CG_DIVISOR * creat.value / UMOL_L_PER_MG_DL) * CG_FEMALE
                return Renal(rounded(value, 1), creat.date, creat.value, kg, age)  # type: ignore[arg-type]
        return Renal(rounded(crcl.value, 1), crcl.date) if crcl is not None else None
