"""Small builders of facts for the planner tests: one line per fact, dates as ISO strings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from monitor.core.domain import (
    Dose,
    Drug,
    DxaRoi,
    DxaSite,
    Fracture,
    FractureSite,
    Frax,
    Lab,
    LabAnalyte,
    Marker,
    MarkerAnalyte,
    Mechanism,
    Menopause,
    Note,
    NoteKind,
    Patient,
    PatientFacts,
    Plan,
    Route,
    Sex,
    Side,
    Task,
    TaskKind,
    TaskStatus,
    TherapyCourse,
    Vitals,
)
from monitor.core.plan import plan
from monitor.core.policy import Policy
from monitor.core.risk import assess
from monitor.core.status import task_status


def D(text: str | date | None) -> date | None:
    if text is None or isinstance(text, date):
        return text
    return date.fromisoformat(text)


def patient(*, birth: str = "1950-01-01", sex: Sex = Sex.FEMALE, menopause: Menopause = Menopause.POST,
            deceased: str | None = None) -> Patient:
    return Patient("P1", D(birth), sex=sex, menopause=menopause, deceased_date=D(deceased))


def course(drug: Drug | str, start: str | None = None, *, planned: str | None = None, stop: str | None = None,
           reason: str | None = None, mg: float | None = None, interval: int | None = None) -> TherapyCourse:
    return TherapyCourse(Drug(drug), start=D(start), planned_start=D(planned), stop=D(stop), stop_reason=reason,
                         dose_mg=mg, interval_months=interval)


def dose(drug: Drug | str, day: str, *, mg: float | None = None, supply: int | None = None,
         route: Route | None = None) -> Dose:
    return Dose(Drug(drug), D(day), dose_mg=mg, days_supply=supply, route=route)


def dxa(day: str, t: str | float = "-1.5", *, site: DxaSite | str = DxaSite.FEMORAL_NECK, bmd: float | None = None,
        scanner: str | None = None, side: Side = Side.NONE, vertebrae: int | None = None) -> DxaRoi:
    return DxaRoi(D(day), DxaSite(site), Decimal(str(t)), side=side, bmd=bmd, scanner=scanner, vertebrae=vertebrae)


def marker(day: str, value: float = 300.0, analyte: MarkerAnalyte | str = MarkerAnalyte.CTX) -> Marker:
    analyte = MarkerAnalyte(analyte)
    return Marker(D(day), analyte, value, "ng/L" if analyte is MarkerAnalyte.CTX else "ug/L")


def fracture(day: str, site: FractureSite | str = FractureSite.OTHER,
             mechanism: Mechanism | str = Mechanism.FRAGILITY) -> Fracture:
    return Fracture(D(day), FractureSite(site), Mechanism(mechanism))


def frax(day: str, hip: float = 1.0, mof: float = 10.0) -> Frax:
    return Frax(D(day), hip=hip, mof=mof)


def lab(day: str, analyte: LabAnalyte | str, value: float, unit: str) -> Lab:
    return Lab(D(day), LabAnalyte(analyte), value, unit)


def note(kind: NoteKind | str, day: str | None) -> Note:
    return Note(NoteKind(kind), D(day))


def vitals(day: str, *, bmi: float | None = None, waist: float | None = None) -> Vitals:
    return Vitals(D(day), bmi=bmi, waist_cm=waist)


FIELD = {TherapyCourse: "courses", Dose: "doses", DxaRoi: "dxa", Marker: "markers", Fracture: "fractures",
         Frax: "frax", Lab: "labs", Vitals: "vitals", Note: "notes"}


def facts(*items: object, who: Patient | None = None) -> PatientFacts:
    """PatientFacts from a flat list of facts, each sequence sorted by date as the store gives it."""
    groups: dict[str, list] = {name: [] for name in FIELD.values()}
    for item in items:
        groups[FIELD[type(item)]].append(item)
    for name, seq in groups.items():
        if name == "courses":
            seq.sort(key=lambda c: c.first_day or date.min)
        else:
            seq.sort(key=lambda x: x.date or date.min)
    return PatientFacts(who or patient(), **{k: tuple(v) for k, v in groups.items()})


def make_plan(f: PatientFacts, as_of: str | date, policy: Policy) -> Plan:
    day = D(as_of)
    return plan(f, assess(f, as_of=day, policy=policy), as_of=day, policy=policy)


def open_task(p: Plan, kind: TaskKind) -> Task | None:
    found = [t for t in p.tasks if t.kind is kind and t.done_on is None]
    assert len(found) <= 1, f"more than one open {kind} task: {found}"
    return found[0] if found else None


def done_task(p: Plan, kind: TaskKind) -> Task | None:
    found = [t for t in p.tasks if t.kind is kind and t.done_on is not None]
    assert len(found) <= 1, f"more than one completed {kind} task: {found}"
    return found[0] if found else None


def window(t: Task | None) -> tuple[str, str, str, str, str] | None:
    """(rule, anchor, earliest, target, latest) as ISO strings, for compact table tests."""
    if t is None:
        return None
    return (t.rule, t.anchor.isoformat(), t.earliest.isoformat(), t.target.isoformat(), t.latest.isoformat())


def status(p: Plan, kind: TaskKind, *, done: bool = False) -> TaskStatus | None:
    t = done_task(p, kind) if done else open_task(p, kind)
    return None if t is None else task_status(t, p.as_of)


def codes(p: Plan) -> list[str]:
    return [a.code for a in p.alerts]


def alert(p: Plan, code: str):
    return next((a for a in p.alerts if a.code == code), None)
