"""Small builders for the alert tests: one call per fact, values in canonical units."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from monitor.core.alerts.collect import safety_alerts
from monitor.core.domain import (
    Alert,
    Dose,
    Drug,
    DxaRoi,
    DxaSite,
    Fracture,
    FractureSite,
    Lab,
    LabAnalyte,
    Mechanism,
    Menopause,
    Note,
    NoteKind,
    Patient,
    PatientFacts,
    Route,
    Task,
    TaskKind,
    TherapyCourse,
    Vitals,
)
from monitor.core.policy import Policy
from monitor.core.risk import assess
from monitor.core.timeline import Timeline
from monitor.core.vocab import LAB_UNITS

BIRTH = date(1950, 6, 15)


def d(text: str) -> date:
    return date.fromisoformat(text)


def facts(*items: object, **patient: object) -> PatientFacts:
    """PatientFacts from loose facts; keyword arguments go to the Patient (default: postmenopausal woman)."""
    p = Patient(mrn="T1", birth_date=patient.pop("birth_date", BIRTH),  # type: ignore[arg-type]
                menopause=patient.pop("menopause", Menopause.POST), **patient)  # type: ignore[arg-type]
    by_type: dict[type, list] = {}
    for item in items:
        by_type.setdefault(type(item), []).append(item)

    def sorted_(kind: type) -> tuple:
        return tuple(sorted(by_type.get(kind, []), key=lambda x: x.date or date.min))

    return PatientFacts(
        patient=p,
        courses=tuple(by_type.get(TherapyCourse, [])),
        doses=sorted_(Dose),
        dxa=sorted_(DxaRoi),
        fractures=sorted_(Fracture),
        labs=sorted_(Lab),
        vitals=sorted_(Vitals),
        notes=tuple(by_type.get(Note, [])),
    )


def course(drug: Drug, start: str | None = None, *, planned: str | None = None, stop: str | None = None,
           mg: float | None = None, every: int | None = None) -> TherapyCourse:
    return TherapyCourse(drug=drug, start=d(start) if start else None, planned_start=d(planned) if planned else None,
                         stop=d(stop) if stop else None, dose_mg=mg, interval_months=every)


def dose(drug: Drug, day: str, mg: float | None = None, *, supply: int | None = None,
         route: Route | None = None) -> Dose:
    return Dose(drug=drug, date=d(day), dose_mg=mg, days_supply=supply, route=route)


def lab(analyte: LabAnalyte, day: str, value: float) -> Lab:
    return Lab(date=d(day), analyte=analyte, value=value, unit=LAB_UNITS[analyte.value][0])


def crcl(day: str, value: float) -> Lab:
    return lab(LabAnalyte.CRCL, day, value)


def calcium(day: str, value: float, *, corrected: bool = True) -> Lab:
    return lab(LabAnalyte.CALCIUM_CORRECTED if corrected else LabAnalyte.CALCIUM, day, value)


def vitamin_d(day: str, value: float) -> Lab:
    return lab(LabAnalyte.VITAMIN_D, day, value)


def note(kind: NoteKind, day: str | None = None) -> Note:
    return Note(kind=kind, date=d(day) if day else None)


def weight(day: str, kg: float) -> Vitals:
    return Vitals(date=d(day), weight_kg=kg)


def dxa(day: str, t: str, site: DxaSite = DxaSite.FEMORAL_NECK) -> DxaRoi:
    return DxaRoi(date=d(day), site=site, t_score=Decimal(t))


def fracture(day: str, site: FractureSite, mechanism: Mechanism = Mechanism.FRAGILITY) -> Fracture:
    return Fracture(date=d(day), site=site, mechanism=mechanism)


def task(kind: TaskKind, target: str, rule: str = "N1") -> Task:
    t = d(target)
    return Task(kind=kind, rule=rule, anchor=t, earliest=t, target=t, latest=t, reason="test")


def run(f: PatientFacts, as_of: str, policy: Policy,
        tasks: tuple[Task, ...] = ()) -> tuple[tuple[Alert, ...], date | None]:
    day = d(as_of)
    return safety_alerts(Timeline(f, day, policy), assess(f, as_of=day, policy=policy), tasks)


def alert(f: PatientFacts, as_of: str, policy: Policy, code: str, tasks: tuple[Task, ...] = ()) -> Alert | None:
    """The alert with this code on as_of, or None."""
    return next((a for a in run(f, as_of, policy, tasks)[0] if a.code == code), None)


def severity(f: PatientFacts, as_of: str, policy: Policy, code: str, tasks: tuple[Task, ...] = ()) -> str | None:
    found = alert(f, as_of, policy, code, tasks)
    return found.severity.value if found else None
