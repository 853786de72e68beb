"""Checks every fact before it is written (docs/cli.md, exit 1): one DataError naming field, value and what is allowed.

Pure: `today` (the clinic's calendar day) is passed in. The CLI, the CSV importer and the FHIR
importer all call these, so every entry path refuses the same things.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from decimal import Decimal

from monitor.core.domain import (
    Dose,
    DxaRoi,
    DxaSite,
    Fracture,
    Frax,
    Lab,
    Marker,
    Note,
    Patient,
    TherapyCourse,
    Vitals,
)
from monitor.core.errors import DataError
from monitor.core.policy import Policy
from monitor.core.vocab import LAB_RANGE, MARKER_RANGE, MAX_DAYS_SUPPLY, MAX_DOSE_MG

EARLIEST_BIRTH = date(1900, 1, 1)
MAX_PLAN_AHEAD = timedelta(days=730)
MAX_MRN = 64
MAX_TEXT = 2000

Fact = TherapyCourse | Dose | DxaRoi | Marker | Fracture | Frax | Lab | Vitals | Note


def check_mrn(mrn: str) -> str:
    value = (mrn or "").strip()
    if not value or len(value) > MAX_MRN or any(ch in value for ch in "\r\n\t"):
        raise DataError("mrn", repr(mrn), f"a non-empty identifier of at most {MAX_MRN} characters on one line")
    return value


def check_patient(p: Patient, today: date) -> None:
    check_mrn(p.mrn)
    if not EARLIEST_BIRTH <= p.birth_date <= today:
        raise DataError("birth-date", p.birth_date, f"a date from {EARLIEST_BIRTH} to today ({today})")
    if p.deceased_date is not None:
        if p.deceased_date > today:
            raise DataError("deceased-date", p.deceased_date, f"a date on or before today ({today})")
        if p.deceased_date < p.birth_date:
            raise DataError("deceased-date", p.deceased_date, f"a date on or after the birth date {p.birth_date}")
    if p.name is not None and len(p.name) > 200:
        raise DataError("name", p.name[:40] + "…", "at most 200 characters")
    if p.phone is not None and (len(p.phone) > 64 or any(ch in p.phone for ch in "\r\n\t")):
        raise DataError("phone", repr(p.phone[:40]), "a phone number or contact of at most 64 characters")
    if not (p.clinic or "").strip() or len(p.clinic) > 64:
        raise DataError("clinic", repr(p.clinic), "a non-empty name of at most 64 characters")


def check_event_date(field: str, d: date, p: Patient, today: date) -> None:
    """A clinical event happened: not in the future, not before birth, not after death."""
    if d > today:
        raise DataError(field, d, f"a date on or before today ({today}); future events cannot be recorded")
    if d < p.birth_date:
        raise DataError(field, d, f"a date on or after the birth date {p.birth_date}")
    if p.deceased_date is not None and d > p.deceased_date:
        raise DataError(field, d, f"a date on or before the date of death {p.deceased_date}")


def _positive(field: str, value: float | None, upper: float, unit: str, *, zero_ok: bool = False) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok) or value > upper:
        low = "0" if zero_ok else "more than 0"
        raise DataError(field, value, f"{low} up to {upper:g} {unit}".rstrip())


def _t_score(field: str, value: Decimal | None, policy: Policy) -> None:
    if value is None:
        return
    lo, hi = policy.risk.t_score_lowest, policy.risk.t_score_highest
    if not value.is_finite() or not Decimal(str(lo)) <= value <= Decimal(str(hi)):
        raise DataError(field, value, f"a score from {lo:g} to {hi:g}")


def check_fact(fact: Fact, p: Patient, today: date, policy: Policy) -> None:
    if isinstance(fact, TherapyCourse):
        if fact.start is not None:
            check_event_date("date", fact.start, p, today)
        if fact.planned_start is not None and fact.planned_start < p.birth_date:
            raise DataError("date", fact.planned_start, f"a date on or after the birth date {p.birth_date}")
        if fact.planned_start is not None and fact.start is None and fact.planned_start > today + MAX_PLAN_AHEAD:
            limit = today + MAX_PLAN_AHEAD
            raise DataError("date", fact.planned_start, f"a planned start at most two years ahead (by {limit})")
        if fact.stop is not None:
            check_event_date("date", fact.stop, p, today)
            # A plan may be cancelled before its planned start; a real course stops on or after it began.
            if fact.start is not None and fact.stop < fact.start:
                raise DataError("date", fact.stop, f"a stop on or after the start {fact.start}")
        _positive("dose-mg", fact.dose_mg, MAX_DOSE_MG[fact.drug], f"mg for {fact.drug}")
        if fact.interval_months is not None and not 1 <= fact.interval_months <= 24:
            raise DataError("interval-months", fact.interval_months, "a whole number of months from 1 to 24")
    elif isinstance(fact, Dose):
        check_event_date("date", fact.date, p, today)
        _positive("dose-mg", fact.dose_mg, MAX_DOSE_MG[fact.drug], f"mg for {fact.drug}")
        if fact.days_supply is not None and not 1 <= fact.days_supply <= MAX_DAYS_SUPPLY:  # see WHOLE_NUMBER_RANGES
            raise DataError("days-supply", fact.days_supply, f"a whole number of days from 1 to {MAX_DAYS_SUPPLY}")
    elif isinstance(fact, DxaRoi):
        check_event_date("date", fact.date, p, today)
        _t_score("t-score", fact.t_score, policy)
        _t_score("z-score", fact.z_score, policy)
        _positive("bmd", fact.bmd, 3.0, "g/cm²")
        if fact.vertebrae is not None:
            if not 1 <= fact.vertebrae <= 4:
                raise DataError("vertebrae", fact.vertebrae, "a count from 1 to 4 (L1–L4)")
            if fact.site not in (DxaSite.LUMBAR_SPINE, DxaSite.SINGLE_VERTEBRA):
                raise DataError("vertebrae", fact.vertebrae, "only for the lumbar_spine site")
        if fact.t_score is None and fact.bmd is None:
            raise DataError("t-score", "missing", "a T-score or a BMD in g/cm² for each DXA site")
    elif isinstance(fact, Marker):
        check_event_date("date", fact.date, p, today)
        lo, hi = MARKER_RANGE[fact.analyte.value]
        if not math.isfinite(fact.value) or not lo <= fact.value <= hi:
            raise DataError("value", fact.value, f"{lo:g} to {hi:g} {fact.unit} for {fact.analyte}")
    elif isinstance(fact, Lab):
        check_event_date("date", fact.date, p, today)
        lo, hi = LAB_RANGE[fact.analyte.value]
        if not math.isfinite(fact.value) or not lo <= fact.value <= hi:
            raise DataError("value", round(fact.value, 3), f"{lo:g} to {hi:g} {fact.unit} for {fact.analyte}")
    elif isinstance(fact, Fracture):
        check_event_date("date", fact.date, p, today)
        if fact.genant_grade is not None and fact.genant_grade not in (1, 2, 3):
            raise DataError("genant-grade", fact.genant_grade, "1, 2 or 3")
    elif isinstance(fact, Frax):
        check_event_date("date", fact.date, p, today)
        if fact.hip is None and fact.mof is None:
            raise DataError("hip", "missing", "at least one of --hip and --mof")
        _positive("hip", fact.hip, 100.0, "%", zero_ok=True)
        _positive("mof", fact.mof, 100.0, "%", zero_ok=True)
    elif isinstance(fact, Vitals):
        check_event_date("date", fact.date, p, today)
        if all(v is None for v in (fact.weight_kg, fact.height_cm, fact.bmi, fact.waist_cm)):
            raise DataError("vitals", "none given", "at least one of weight, height, BMI, waist")
        _positive("weight-kg", fact.weight_kg, 300.0, "kg")
        if fact.weight_kg is not None and fact.weight_kg < 20:
            raise DataError("weight-kg", fact.weight_kg, "20 to 300 kg")
        _positive("height-cm", fact.height_cm, 230.0, "cm")
        if fact.height_cm is not None and fact.height_cm < 100:
            raise DataError("height-cm", fact.height_cm, "100 to 230 cm")
        _positive("bmi", fact.bmi, 80.0, "kg/m²")
        if fact.bmi is not None and fact.bmi < 10:
            raise DataError("bmi", fact.bmi, "10 to 80 kg/m²")
        _positive("waist-cm", fact.waist_cm, 250.0, "cm")
        if fact.waist_cm is not None and fact.waist_cm < 40:
            raise DataError("waist-cm", fact.waist_cm, "40 to 250 cm")
    elif isinstance(fact, Note):
        if fact.date is not None:
            check_event_date("date", fact.date, p, today)
        if fact.text is not None and len(fact.text) > MAX_TEXT:
            raise DataError("text", fact.text[:40] + "…", f"at most {MAX_TEXT} characters")
    else:  # pragma: no cover - a programming error, not user input
        raise TypeError(f"not a fact: {fact!r}")
