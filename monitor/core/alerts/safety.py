"""Safety alerts (SPEC §7) and the pathway-exit alert (§0.2): pure functions of facts and a date.

`exit_alert(facts, assessment)` and `safety_alerts(facts, assessment, tasks, *, as_of, policy)`.
The planner makes ALERT-DMAB-LATE, -LONG, -REBOUND and ALERT-BP-DURATION; every other alert of
§7 is made here. Facts dated after `as_of` are ignored; undated notes count on every date (A1c).
There is one alert per code (the store keys alerts by code and `since`, so `since` never depends
on `as_of`); several reasons for one code are joined in its message. `safety_alerts` also returns
the first date after `as_of` on which its alerts could change with no new fact (for valid_until):
a pre-dose window opening, a result ageing out, day 91 of a treatment gap, the death date, or a fact
dated after `as_of` becoming visible. Tier changes themselves are the planner's to date.

Readings of the SPEC where it is silent (each pinned by a test in tests/test_alerts.py):
- Regimen, read as monitor.core.regimen.bp_regimen reads the course's latest dose: zoledronic acid is
  5 mg at or above policy.bp.zol5_dose_mg, the 4 mg regimen below it (renally reduced 3–3.5 mg
  doses included); with no strength, 4 mg when the course interval is the 4 mg interval, else 5 mg.
  Ibandronate follows Dose.route, else vocab.default_route of the strength, else IV when the course
  interval is the IV interval, else oral.
- Renal function: the newer of the latest recorded CrCl and Cockcroft-Gault from the latest
  creatinine (same day: the recorded CrCl). Cockcroft-Gault uses the latest weight and the age on
  the creatinine date, rounded to 1 decimal; without a weight only a recorded CrCl counts.
- Values are compared as labs report them: CrCl, eGFR and 25(OH)D at 1 decimal, calcium at 2
  (so 8.4 mg/dL, 2.0958 mmol/L, reads 2.10 as the SPEC pairs them).
- A pre-dose result must be valid on the day of the dose: for a dose due on D a result r counts
  when r ≥ D − 30 d (calcium, creatinine), or when r + 6 m ≥ D (25(OH)D, dental check; "≤ 6 m old"
  as in A6, so for a dose on 2025-08-31 a result of 2025-02-28 is too old). The alert starts on the
  first day a result could count (D − 30 d) or the day the last result stopped counting; an overdue
  dose is taken as due on `as_of`. Doses come from the planner's tasks, from planned BMA courses
  and from started IV/SC courses with no dose yet.
- ALERT-VITD looks at the first dose of each IV BP or denosumab course (a restart is a first dose
  again), as the §7 row says; the §4.6 "before each IV dose" 25(OH)D check is not an alert here.
  ALERT-DENTAL looks at her first BMA dose ever; once it was given without a check in the 6 months
  before, the warning stands (while on a BMA) until a dental check is recorded.
- The 30-day creatinine check is for ZOL 5 mg only (§7 row); ALERT-DMAB-CKD reads eGFR only.
- A BMA plan counts (as planned) until the course starts or is stopped; plans do not expire.
- Undated evidence (A1c) dates from the patient's earliest dated fact, else her birth date.
- Acute renal impairment counts until a creatinine or CrCl result dated after the note.
- A planned dental procedure counts until a later dental check.
- ALERT-HYPOCA (low value) also covers an oral bisphosphonate start or a sequential BP that is due.
- ALERT-AFF-SYMPTOM counts cumulative days on a BP course up to the note (a holiday does not count).
- ALERT-IBN-DOSE: a 150 mg ibandronate course whose interval is not the monthly one, or, among
  150 mg doses, a dispense of fewer days than policy.alerts.ibandronate_min_spacing_days, or two
  doses closer than that when the first carried no longer supply (an early refill is no error).
- ALERT-DUAL-ANTIRESORPTIVE: a BP started once the sequential window after the last denosumab
  dose opened, with no denosumab since, is the transition (N3), not dual therapy.
- ALERT-TREATMENT-GAP: the tier is MODERATE or HIGH exactly when H1 holds, a usable T is below
  normal, or the AI is planned or current (§2.2), so the run of such days is computed from those
  facts without calling risk.assess per date. It is a gap unless a BMA course ran on some day of
  that run; it starts on run start + gap days + 1 (day 91).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from monitor.core.dates import add_days, add_months, age_on
from monitor.core.domain import (
    AIStatus,
    Alert,
    Assessment,
    Dose,
    Drug,
    FractureSite,
    Lab,
    LabAnalyte,
    Mechanism,
    Note,
    NoteKind,
    PatientFacts,
    Route,
    Severity,
    Task,
    TaskKind,
    TherapyCourse,
    Tier,
)
from monitor.core.policy import Policy
from monitor.core.risk import H1_SITES, round_t, tiering_rois
from monitor.core.vocab import LAB_UNITS, default_route

# Cockcroft-Gault formula constants (not clinical thresholds).
CG_AGE_BASE = 140
CG_DIVISOR = 72
CG_FEMALE = 0.85
UMOL_L_PER_MG_DL = LAB_UNITS["creatinine"][1]["mg/dl"]
ONE_DAY = timedelta(days=1)

DMAB, ZOL5, ZOL4, ALN, RIS, IBN_ORAL, IBN_IV = (
    "denosumab", "zol5", "zol4", "alendronate", "risedronate", "ibandronate_oral", "ibandronate_iv")
IV_BP = (ZOL5, ZOL4, IBN_IV)
ORAL_BP = (ALN, RIS, IBN_ORAL)
METASTATIC_EXITS = {"BONE_METASTASIS", "DENOSUMAB_120", "ZOL_METASTATIC_REGIMEN", "PATHOLOGICAL_FRACTURE"}
SCOPE_EXITS = {"PREMENOPAUSAL", "OFS"}
HOLD = "no further anti-resorptive (bisphosphonate or denosumab) until specialist review"
ONJ_RISK = "jaw osteonecrosis risk"


def _rounded(value: float, places: int) -> float:
    """Half away from zero at `places` decimals, as labs report (Decimal, so 2.675 → 2.68)."""
    return float(Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _n(value: float) -> str:
    return f"{value:g}"


def _earliest_fact(facts: PatientFacts, as_of: date) -> date:
    """The patient's earliest dated fact up to as_of, else her birth date: `since` for undated evidence."""
    days = [c.start for c in facts.courses if c.start is not None]
    for seq in (facts.doses, facts.dxa, facts.markers, facts.fractures, facts.frax, facts.labs, facts.vitals):
        days += [x.date for x in seq]
    days += [n.date for n in facts.notes if n.date is not None]
    return min((x for x in days if x <= as_of), default=facts.patient.birth_date)


def _first_fact_after(facts: PatientFacts, as_of: date) -> date | None:
    """A fact dated after as_of is invisible today and changes the alerts on its date."""
    found = [x for c in facts.courses for x in (c.start, c.stop) if x is not None and x > as_of]
    for seq in (facts.doses, facts.dxa, facts.fractures, facts.frax, facts.labs, facts.vitals):
        found += [x.date for x in seq if x.date > as_of]
    found += [n.date for n in facts.notes if n.date is not None and n.date > as_of]
    return min(found, default=None)


# --------------------------------------------------------------------------- pre-dose windows


@dataclass(frozen=True, slots=True)
class Span:
    """How close before a dose a result must be: `days` exact days or `months` calendar months."""

    days: int = 0
    months: int = 0

    def last_day(self, result: date) -> date:
        """The last dose day a result of this date still counts for."""
        return add_months(result, self.months) if self.months else result + timedelta(days=self.days)

    def opens(self, dose: date) -> date:
        """The first day a result can be drawn that still counts for a dose on `dose`."""
        if not self.months:
            return dose - timedelta(days=self.days)
        day = add_months(dose, -self.months)
        while self.last_day(day - ONE_DAY) >= dose:
            day -= ONE_DAY
        while self.last_day(day) < dose:
            day += ONE_DAY
        return day


@dataclass(frozen=True, slots=True)
class PreDose:
    """A pre-dose check: `missing_since` when no result counts, else the `result` that does."""

    missing_since: date | None
    result: date | None
    next_change: date | None


def pre_dose(dose: date, results: Sequence[date], as_of: date, span: Span) -> PreDose:
    """Is there a result that counts for a dose due on `dose` (an overdue dose is due on as_of)?
    A result r counts for the dose when span.last_day(r) ≥ dose, i.e. when r ≥ span.opens(dose)."""
    if span.last_day(as_of) < dose:
        return PreDose(None, None, span.opens(dose))
    latest = max((r for r in results if r <= as_of), default=None)
    if latest is None or span.last_day(latest) < dose:
        return PreDose(span.opens(dose), None, None)
    until = span.last_day(latest)
    if as_of <= until:
        return PreDose(None, latest, until + ONE_DAY)
    return PreDose(until + ONE_DAY, None, None)


# --------------------------------------------------------------------------- what she is on


def all_courses(facts: PatientFacts) -> list[TherapyCourse]:
    """therapy.effective_courses (recorded courses, plus one implied course per drug from its first dose
    outside every recorded course of that drug to the day before its next recorded start), in linear time:
    the shared one compares every dose with every course, and alerts run for the whole cohort."""
    by_drug: dict[Drug, list[TherapyCourse]] = {}
    for c in facts.courses:
        if c.start is not None:
            by_drug.setdefault(c.drug, []).append(c)
    first_outside: dict[Drug, date] = {}
    for x in facts.doses:
        if x.drug in first_outside and first_outside[x.drug] <= x.date:
            continue
        if not any(c.start <= x.date and (c.stop is None or x.date <= c.stop)  # type: ignore[operator]
                   for c in by_drug.get(x.drug, ())):
            first_outside[x.drug] = x.date
    found = list(facts.courses)
    for drug, first in first_outside.items():
        later = min((c.start for c in by_drug.get(drug, ()) if c.start > first), default=None)  # type: ignore[operator]
        found.append(TherapyCourse(drug=drug, start=first, stop=later - ONE_DAY if later else None,
                                   stop_reason="implied by doses" if later else None))
    return found


@dataclass(frozen=True, slots=True)
class _Bma:
    course: TherapyCourse
    regimen: str
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


def _regimen(course: TherapyCourse, doses: Sequence[Dose], policy: Policy) -> str | None:
    """The course's regimen from its latest dose, as monitor.core.regimen.bp_regimen reads a dose: the dose's
    route and strength first, then the course's strength, then its interval (ZOL: else 5 mg; ibandronate:
    3-monthly is IV, else oral); the strength through vocab.default_route for ibandronate."""
    bp, drug = policy.bp, course.drug
    latest = max(doses, key=lambda x: x.date, default=None)
    mg = latest.dose_mg if latest is not None and latest.dose_mg is not None else course.dose_mg
    if drug is Drug.DENOSUMAB:
        return DMAB
    if drug is Drug.ZOLEDRONIC_ACID:
        if mg is not None:
            return ZOL5 if mg >= bp.zol5_dose_mg else ZOL4
        return ZOL4 if course.interval_months == bp.zol4_interval_months else ZOL5
    if drug is Drug.IBANDRONATE:
        route = latest.route if latest is not None else None
        route = route or default_route(drug, mg, bp.ibandronate_iv_max_mg)
        if route is None:
            route = Route.IV if course.interval_months == bp.ibandronate_iv_interval_months else Route.ORAL
        return IBN_IV if route is Route.IV else IBN_ORAL
    return {Drug.ALENDRONATE: ALN, Drug.RISEDRONATE: RIS}.get(drug)


def _name(regimen: str | None, policy: Policy) -> str:
    bp = policy.bp
    return {
        DMAB: "denosumab", ZOL5: f"zoledronic acid {_n(bp.zol5_dose_mg)} mg",
        ZOL4: f"zoledronic acid {_n(bp.zol4_dose_mg)} mg", ALN: "alendronate", RIS: "risedronate",
        IBN_ORAL: "oral ibandronate", IBN_IV: "IV ibandronate",
    }.get(regimen or "", "bisphosphonate")


def _names(regimens: Sequence[str | None], policy: Policy, joiner: str = " and ") -> str:
    return joiner.join(sorted({_name(r, policy) for r in regimens}))


@dataclass(frozen=True, slots=True)
class _Renal:
    crcl: float
    day: date
    creatinine: float | None = None  # set when Cockcroft-Gault made it
    kg: float = 0.0
    age: int = 0

    @property
    def text(self) -> str:
        if self.creatinine is None:
            return f"CrCl {_n(self.crcl)} mL/min (recorded on {self.day})"
        return (f"CrCl {_n(self.crcl)} mL/min (Cockcroft-Gault from creatinine {_n(self.creatinine)} µmol/L on "
                f"{self.day}, weight {_n(self.kg)} kg, age {self.age})")


class _View:
    """The facts as known on as_of, indexed once."""

    def __init__(self, facts: PatientFacts, assessment: Assessment, tasks: Sequence[Task], as_of: date,
                 policy: Policy) -> None:
        self.facts, self.assessment, self.as_of, self.policy = facts, assessment, as_of, policy
        self.labs: dict[LabAnalyte, list[Lab]] = {}
        for lab in facts.labs:
            if lab.date <= as_of:
                self.labs.setdefault(lab.analyte, []).append(lab)
        self.notes: dict[NoteKind, list[Note]] = {}
        for note in facts.notes:
            if note.date is None or note.date <= as_of:
                self.notes.setdefault(note.kind, []).append(note)
        self.doses: dict[Drug, list[Dose]] = {}  # per drug, in the order given
        for x in facts.doses:
            if x.date <= as_of:
                self.doses.setdefault(x.drug, []).append(x)
        self.all_courses = all_courses(facts)
        self.started: list[TherapyCourse] = []  # started by as_of, running or stopped
        self.running: list[TherapyCourse] = []
        self.planned: list[TherapyCourse] = []
        for c in self.all_courses:
            stopped = c.stop is not None and c.stop <= as_of
            if c.start is not None and c.start <= as_of:
                self.started.append(c)
                if not stopped:
                    self.running.append(c)
            elif c.planned_start is not None and not stopped:
                self.planned.append(c)
        running = {c.drug for c in self.running}
        self.bma: list[_Bma] = []
        for c, start in [(c, c.start) for c in self.running] + [
                (c, None) for c in self.planned if c.drug not in running]:  # else a running course took over
            if c.drug.is_bma:
                own = [x for x in self.doses.get(c.drug, ()) if start is None or x.date >= start]
                regimen = _regimen(c, own, policy)
                if regimen is not None:
                    self.bma.append(_Bma(c, regimen, start, bool(own)))
        self.tasks = [t for t in tasks if t.done_on is None or t.done_on > as_of]
        self._fallback: date | None = None

    def fallback(self) -> date:
        if self._fallback is None:
            self._fallback = _earliest_fact(self.facts, self.as_of)
        return self._fallback

    def note_day(self, note: Note) -> date:
        return note.date if note.date is not None else self.fallback()

    def on(self, test: Callable[[Drug], bool]) -> list[TherapyCourse]:
        return [c for c in self.running if test(c.drug)]

    def latest(self, *analytes: LabAnalyte) -> Lab | None:
        return max((x for a in analytes for x in self.labs.get(a, ())), key=lambda x: x.date, default=None)

    def dates(self, *analytes: LabAnalyte) -> list[date]:
        return [x.date for a in analytes for x in self.labs.get(a, ())]

    def due_doses(self) -> dict[str | None, date]:
        """Regimen → the day its next dose (or oral start) is due; None: a bisphosphonate not chosen yet."""
        due: dict[str | None, date] = {}
        for t in self.tasks:
            if t.kind is TaskKind.DENOSUMAB_DOSE:
                regimen = DMAB
            elif t.kind is TaskKind.BP_DOSE:
                regimen = self._pick(IV_BP, planned_only=False)
            elif t.kind is TaskKind.SEQUENTIAL_BP:
                regimen = self._pick(IV_BP + ORAL_BP, planned_only=True)
            else:
                continue
            due[regimen] = min(due.get(regimen, t.target), t.target)
        for b in self.bma:
            if b.regimen not in due and (b.planned or (b.first_pending and b.regimen not in ORAL_BP)):
                due[b.regimen] = b.first_day
        return due

    def _pick(self, regimens: tuple[str, ...], *, planned_only: bool) -> str | None:
        ranked = sorted((b.planned, b.first_day, b.regimen) for b in self.bma
                        if b.regimen in regimens and (b.planned or not planned_only))
        return ranked[0][2] if ranked else None

    def renal(self) -> _Renal | None:
        crcl, creat = self.latest(LabAnalyte.CRCL), self.latest(LabAnalyte.CREATININE)
        if creat is not None and (crcl is None or creat.date > crcl.date):
            weighed = max((v for v in self.facts.vitals if v.date <= self.as_of and v.weight_kg),
                          key=lambda v: v.date, default=None)
            if weighed is not None:
                kg, age = weighed.weight_kg, age_on(self.facts.patient.birth_date, creat.date)
                value = (CG_AGE_BASE - age) * kg / (CG_DIVISOR * creat.value / UMOL_L_PER_MG_DL) * CG_FEMALE
                return _Renal(_rounded(value, 1), creat.date, creat.value, kg, age)  # type: ignore[arg-type]
        return _Renal(_rounded(crcl.value, 1), crcl.date) if crcl is not None else None


class _Out:
    """Alerts found, merged to one per code (most severe, earliest since), and the change dates."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.found: dict[str, list[tuple[int, date, Severity, str]]] = {}
        self.changes: list[date] = []

    def add(self, code: str, severity: Severity, since: date, message: str) -> None:
        self.found.setdefault(code, []).append((severity.rank, since, severity, message))

    def change(self, day: date | None) -> None:
        if day is not None and day > self.as_of:
            self.changes.append(day)

    def result(self) -> tuple[tuple[Alert, ...], date | None]:
        alerts = []
        for code, parts in self.found.items():
            parts.sort(key=lambda p: p[:2])
            message = "; ".join(dict.fromkeys(p[3] for p in parts))
            alerts.append(Alert(code, parts[0][2], min(p[1] for p in parts), message))
        alerts.sort(key=lambda a: (a.severity.rank, a.code))
        return tuple(alerts), min(self.changes, default=None)


# --------------------------------------------------------------------------- exit


def exit_alert(facts: PatientFacts, assessment: Assessment) -> Alert | None:
    """ALERT-EXIT (critical) for bone metastasis, a metastatic regimen, a pathological fracture,
    premenopause or OFS; None for men (OUT_OF_SCOPE only) and once she has died."""
    reasons = set(assessment.exit_reasons)
    if {"DECEASED", "MALE"} & reasons or not reasons & (METASTATIC_EXITS | SCOPE_EXITS):
        return None
    as_of = assessment.as_of
    fallback = _earliest_fact(facts, as_of)

    def first_note(kind: NoteKind) -> date:
        return min((n.date or fallback for n in facts.notes if n.kind is kind and (n.date or as_of) <= as_of),
                   default=fallback)

    found: list[tuple[date, str]] = []
    if "BONE_METASTASIS" in reasons:
        day = first_note(NoteKind.BONE_METASTASIS)
        found.append((day, f"Bone metastasis recorded ({day})"))
    if "PATHOLOGICAL_FRACTURE" in reasons:
        fx = min((f for f in facts.fractures if f.mechanism is Mechanism.PATHOLOGICAL and f.date <= as_of),
                 key=lambda f: f.date, default=None)
        where = f"of the {fx.site.value.replace('_', ' ')} on {fx.date}" if fx else ""
        found.append((fx.date if fx else fallback, f"Pathological (tumour) fracture {where}".strip()))
    if "DENOSUMAB_120" in reasons:
        found.append(_denosumab_metastatic(facts, as_of, fallback))
    if "ZOL_METASTATIC_REGIMEN" in reasons:
        zol = sorted(x.date for x in facts.doses if x.drug is Drug.ZOLEDRONIC_ACID and x.date <= as_of)
        pair = min(itertools.pairwise(zol), key=lambda p: ((p[1] - p[0]).days, p[1]), default=None)
        monthly = [c.first_day for c in facts.courses if c.drug is Drug.ZOLEDRONIC_ACID and c.interval_months == 1
                   and c.first_day is not None]
        if pair:
            found.append((pair[1], f"Zoledronic acid doses {(pair[1] - pair[0]).days} days apart ({pair[0]}, "
                                   f"{pair[1]}), the metastatic regimen"))
        elif monthly:
            found.append((min(monthly), f"Zoledronic acid ordered every month from {min(monthly)}, the metastatic "
                                        "regimen"))
        else:
            found.append((fallback, "Zoledronic acid at the metastatic interval"))
    action = "metastatic bone care" if found else "premenopausal bone care with Z-scores"
    if "PREMENOPAUSAL" in reasons:
        found.append((fallback, "Recorded as premenopausal"))
    if "OFS" in reasons:
        day = first_note(NoteKind.OFS)
        found.append((day, f"Ovarian function suppression recorded ({day})"))
    return Alert("ALERT-EXIT", Severity.CRITICAL, min(x for x, _ in found),
                 f"{'; '.join(t for _, t in found)}: {action}, leave the AI bone-health pathway")


def _denosumab_metastatic(facts: PatientFacts, as_of: date, fallback: date) -> tuple[date, str]:
    """risk.exit_reasons found the metastatic strength (exit_alert has no policy): date it by the earliest
    dose or course at the highest denosumab strength on record; a course only planned dates from `fallback`."""
    doses = [x for x in facts.doses if x.drug is Drug.DENOSUMAB and x.date <= as_of and x.dose_mg is not None]
    courses = [c for c in facts.courses if c.drug is Drug.DENOSUMAB and c.dose_mg is not None]
    top = max([x.dose_mg for x in doses] + [c.dose_mg for c in courses], default=None)  # type: ignore[type-var]
    days = [x.date for x in doses if x.dose_mg == top] + [
        c.start if c.start is not None and c.start <= as_of else fallback for c in courses if c.dose_mg == top]
    day = min(days, default=fallback)
    return day, f"Denosumab{f' {_n(top)} mg' if top else ''} (the metastatic regimen) from {day}"


# --------------------------------------------------------------------------- safety alerts


def safety_alerts(
    facts: PatientFacts, assessment: Assessment, tasks: Sequence[Task], *, as_of: date, policy: Policy,
) -> tuple[tuple[Alert, ...], date | None]:
    """Every §7 alert active on as_of except the planner's four, and the next date they could change."""
    if not assessment.in_pathway:
        return (), None
    out = _Out(as_of)
    v = _View(facts, assessment, tasks, as_of, policy)
    if v.bma or v.tasks:
        due = v.due_doses()
        _renal_alerts(v, due, out)
        _calcium_alerts(v, due, out)
        _vitamin_d_alerts(v, due, out)
        _dental_alerts(v, due, out)
        _oral_bp_alerts(v, out)
    _jaw_and_femur_alerts(v, out)
    _interaction_alerts(v, out)
    _treatment_gap_alert(v, out)
    out.change(facts.patient.deceased_date)
    out.change(_first_fact_after(facts, as_of))
    return out.result()


def _renal_alerts(v: _View, due: dict[str | None, date], out: _Out) -> None:
    a = v.policy.alerts
    renal = v.renal() if any(b.regimen != DMAB for b in v.bma) else None
    for b in v.bma:
        if b.regimen == DMAB:
            _denosumab_ckd(v, b, out)
            continue
        name = _name(b.regimen, v.policy)
        if b.regimen == ZOL5:
            latest = v.latest(LabAnalyte.CREATININE, LabAnalyte.CRCL)
            for note in v.notes.get(NoteKind.ACUTE_RENAL_IMPAIRMENT, ()):
                if note.date is None or latest is None or note.date >= latest.date:
                    out.add("ALERT-RENAL-ZOL5", Severity.BLOCK, v.note_day(note),
                            f"Acute renal impairment recorded ({v.note_day(note)}): do not give {name} "
                            "until renal function has recovered")
        if renal is None:
            continue
        since = max(renal.day, b.start or renal.day)
        if b.regimen == ZOL5 and renal.crcl < a.crcl_zol5_block:
            out.add("ALERT-RENAL-ZOL5", Severity.BLOCK, since,
                    f"{renal.text} is below {_n(a.crcl_zol5_block)}: do not give {name}")
        elif b.regimen == ZOL4 and renal.crcl < a.crcl_zol4_block:
            out.add("ALERT-RENAL-ZOL4", Severity.BLOCK, since,
                    f"{renal.text} is below {_n(a.crcl_zol4_block)}: {name} is not recommended")
        elif b.regimen == ZOL4 and renal.crcl <= a.crcl_zol4_reduce:
            out.add("ALERT-RENAL-ZOL4", Severity.WARN, since,
                    f"{renal.text} is {_n(a.crcl_zol4_reduce)} or less: reduce the {name} dose as labelled")
        elif b.regimen == ALN and renal.crcl < a.crcl_alendronate_block:
            out.add("ALERT-RENAL-ALN", Severity.BLOCK, since,
                    f"{renal.text} is below {_n(a.crcl_alendronate_block)}: do not give {name}")
        elif b.regimen in (RIS, IBN_ORAL, IBN_IV) and renal.crcl < a.crcl_ris_ibn_block:
            out.add("ALERT-RENAL-RIS" if b.regimen == RIS else "ALERT-RENAL-IBN", Severity.BLOCK, since,
                    f"{renal.text} is below {_n(a.crcl_ris_ibn_block)}: do not give {name}")
    if ZOL5 in due:
        target = due[ZOL5]
        check = pre_dose(target, v.dates(LabAnalyte.CREATININE, LabAnalyte.CRCL), v.as_of,
                         Span(days=a.creatinine_check_days))
        out.change(check.next_change)
        if check.missing_since is not None:
            out.add("ALERT-RENAL-ZOL5", Severity.BLOCK, check.missing_since,
                    f"No creatinine result in the {a.creatinine_check_days} days before the "
                    f"{_name(ZOL5, v.policy)} dose due {target}: check creatinine and CrCl before giving it")


def _denosumab_ckd(v: _View, b: _Bma, out: _Out) -> None:
    limit = v.policy.alerts.egfr_denosumab_warn
    advice = ("risk of severe hypocalcaemia on denosumab; evaluate CKD-mineral and bone disorder and give it only "
              "under specialist supervision")
    egfr = v.latest(LabAnalyte.EGFR)
    if egfr is not None and _rounded(egfr.value, 1) < limit:
        out.add("ALERT-DMAB-CKD", Severity.HIGH, max(egfr.date, b.start or egfr.date),
                f"eGFR {_n(_rounded(egfr.value, 1))} mL/min/1.73m² on {egfr.date} is below {_n(limit)}: {advice}")
    for note in v.notes.get(NoteKind.DIALYSIS, ()):
        out.add("ALERT-DMAB-CKD", Severity.HIGH, v.note_day(note), f"On dialysis ({v.note_day(note)}): {advice}")


def _calcium_alerts(v: _View, due: dict[str | None, date], out: _Out) -> None:
    a = v.policy.alerts
    by_day: dict[date, tuple[float, bool]] = {}  # the albumin-corrected result wins its day
    for corrected, analyte in ((False, LabAnalyte.CALCIUM), (True, LabAnalyte.CALCIUM_CORRECTED)):
        for lab in v.labs.get(analyte, ()):
            by_day[lab.date] = (lab.value, corrected)
    days = sorted(by_day)
    span = Span(days=a.calcium_check_days)
    for regimen, target in due.items():
        check = pre_dose(target, days, v.as_of, span)
        out.change(check.next_change)
        if check.missing_since is not None:
            what = "start" if regimen in ORAL_BP else "dose"
            out.add("ALERT-HYPOCA", Severity.BLOCK, check.missing_since,
                    f"No calcium result in the {a.calcium_check_days} days before the {_name(regimen, v.policy)} "
                    f"{what} due {target}: check albumin-corrected calcium before giving it")
    agents = [b for b in v.bma if b.regimen == DMAB or b.regimen in IV_BP]
    if not days or not (agents or due):
        return

    def low(day: date) -> bool:
        return _rounded(by_day[day][0], 2) < a.calcium_lower_mmol_l

    run = len(days) - 1
    if not low(days[run]):
        return
    while run > 0 and low(days[run - 1]):
        run -= 1
    value, corrected = by_day[days[-1]]
    since = max([days[run]] + [b.start for b in agents if b.start is not None])
    out.add("ALERT-HYPOCA", Severity.BLOCK, since,
            f"{'Albumin-corrected calcium' if corrected else 'Calcium'} {_rounded(value, 2):.2f} mmol/L on "
            f"{days[-1]} is below {a.calcium_lower_mmol_l:.2f}: correct hypocalcaemia before "
            f"{_names([b.regimen for b in agents] + list(due), v.policy, ' or ')}")


def _vitamin_d_alerts(v: _View, due: dict[str | None, date], out: _Out) -> None:
    a = v.policy.alerts
    results = v.labs.get(LabAnalyte.VITAMIN_D, [])
    for b in v.bma:
        if not b.first_pending or not (b.regimen == DMAB or b.regimen in IV_BP):
            continue
        dose, name = due.get(b.regimen, b.first_day), _name(b.regimen, v.policy)
        check = pre_dose(dose, [r.date for r in results], v.as_of, Span(months=a.vitamin_d_max_age_months))
        out.change(check.next_change)
        if check.missing_since is not None:
            out.add("ALERT-VITD", Severity.BLOCK, check.missing_since,
                    f"No 25(OH)D result in the {a.vitamin_d_max_age_months} months before the first {name} dose "
                    f"due {dose}: check vitamin D before giving it")
            continue
        if check.result is None:
            continue
        lab = [r for r in results if r.date == check.result][-1]
        value = _rounded(lab.value, 1)
        if value < a.vitamin_d_block_ng_ml:
            out.add("ALERT-VITD", Severity.BLOCK, lab.date,
                    f"25(OH)D {_n(value)} ng/mL on {lab.date} is below {_n(a.vitamin_d_block_ng_ml)}: "
                    f"replete vitamin D before the first {name} dose")
        elif value < a.vitamin_d_warn_ng_ml:
            out.add("ALERT-VITD", Severity.WARN, lab.date,
                    f"25(OH)D {_n(value)} ng/mL on {lab.date} is below {_n(a.vitamin_d_warn_ng_ml)} (insufficient): "
                    f"supplement vitamin D around the first {name} dose")


def _dental_alerts(v: _View, due: dict[str | None, date], out: _Out) -> None:
    a = v.policy.alerts
    checks = v.notes.get(NoteKind.DENTAL_CHECK, [])
    check_days = [n.date for n in checks if n.date is not None]
    span = Span(months=a.dental_months)
    first = min((x.date for drug, xs in v.doses.items() if drug.is_bma for x in xs), default=None)
    if any(n.date is None for n in checks):
        pass  # an undated dental check counts on every date (A1c)
    elif first is not None:
        if v.bma and not any(span.last_day(c) >= first for c in check_days):  # none before the dose, none since
            out.add("ALERT-DENTAL", Severity.WARN, first,
                    f"No dental check in the {a.dental_months} months before the first bone-modifying dose on "
                    f"{first}: arrange a dental assessment ({ONJ_RISK})")
    elif v.bma or due:
        dose = min(list(due.values()) + [b.first_day for b in v.bma])
        check = pre_dose(dose, check_days, v.as_of, span)
        out.change(check.next_change)
        if check.missing_since is not None:
            out.add("ALERT-DENTAL", Severity.WARN, check.missing_since,
                    f"No dental check in the {a.dental_months} months before the first bone-modifying dose due "
                    f"{dose}: arrange a dental assessment first ({ONJ_RISK})")
    for note in v.notes.get(NoteKind.DENTAL_PROCEDURE_PLANNED, ()) if v.bma else ():
        if note.date is None or not any(c > note.date for c in check_days):
            out.add("ALERT-DENTAL", Severity.WARN, v.note_day(note),
                    f"Invasive dental procedure planned ({v.note_day(note)}) on "
                    f"{_names([b.regimen for b in v.bma], v.policy)}: agree its timing with the dentist and the "
                    f"prescriber ({ONJ_RISK})")


def _oral_bp_alerts(v: _View, out: _Out) -> None:
    """ALERT-ORAL-BP-ADMIN, ALERT-IBN-DOSE and ALERT-DUAL-ANTIRESORPTIVE."""
    a, bp = v.policy.alerts, v.policy.bp
    oral = [b for b in v.bma if b.regimen in ORAL_BP]
    for note in v.notes.get(NoteKind.ORAL_BP_ADMIN_PROBLEM, ()) if oral else ():
        since = max([v.note_day(note)] + [b.start for b in oral if b.start is not None])
        out.add("ALERT-ORAL-BP-ADMIN", Severity.BLOCK, since,
                f"Cannot take an oral bisphosphonate as instructed (recorded {v.note_day(note)}): do not give "
                f"{_names([b.regimen for b in oral], v.policy)}; switch to IV zoledronic acid or SC denosumab")
    monthly_mg, gap = bp.ibandronate_oral_monthly_mg, a.ibandronate_min_spacing_days
    if any(b.course.drug is Drug.IBANDRONATE for b in v.bma):
        for b in v.bma:
            c = b.course
            if c.drug is Drug.IBANDRONATE and c.dose_mg == monthly_mg and c.interval_months not in (
                    None, a.ibandronate_oral_interval_months):
                out.add("ALERT-IBN-DOSE", Severity.BLOCK, b.start or v.fallback(),
                        f"Ibandronate {_n(monthly_mg)} mg ordered every {c.interval_months} months: {_n(monthly_mg)} "
                        "mg is given once a month only; correct the order")
        tablets = sorted((x for x in v.doses.get(Drug.IBANDRONATE, ()) if x.dose_mg == monthly_mg),
                         key=lambda x: x.date)

        def too_often(i: int) -> bool:
            this, prev = tablets[i], tablets[i - 1] if i else None
            short = this.days_supply is not None and this.days_supply < gap
            return short or (prev is not None and (this.date - prev.date).days < gap
                             and (prev.days_supply is None or prev.days_supply < gap))

        if tablets and too_often(len(tablets) - 1):
            i = len(tablets) - 1
            while i > 0 and too_often(i - 1):
                i -= 1
            last = tablets[-1]
            apart = (last.date - tablets[-2].date).days if len(tablets) > 1 else gap
            how = f"{apart} days after the one before" if apart < gap else f"for {last.days_supply} days"
            out.add("ALERT-IBN-DOSE", Severity.BLOCK, tablets[i].date,
                    f"Ibandronate {_n(monthly_mg)} mg on {last.date} {how}: {_n(monthly_mg)} mg is given once a "
                    "month only; correct the dose")
    dmab = [b for b in v.bma if b.regimen == DMAB and not b.planned]
    if not dmab:
        return
    dm, shots = v.policy.denosumab, [x.date for x in v.doses.get(Drug.DENOSUMAB, ())]
    for b in v.bma:
        if b.regimen == DMAB or b.start is None:
            continue
        last = max((x for x in shots if x <= b.start), default=None)
        if last is not None and not any(x > b.start for x in shots) and b.start >= add_days(
                add_months(last, dm.sequential_bp_months), -dm.sequential_window_days):
            continue  # the sequential bisphosphonate of a denosumab stop (N3)
        out.add("ALERT-DUAL-ANTIRESORPTIVE", Severity.WARN, max(b.start, dmab[0].start),  # type: ignore[type-var]
                f"Denosumab (since {dmab[0].start}) and {_name(b.regimen, v.policy)} (since {b.start}) are both "
                "running outside a denosumab-to-bisphosphonate switch: stop one anti-resorptive")


def _jaw_and_femur_alerts(v: _View, out: _Out) -> None:
    for note in v.notes.get(NoteKind.ONJ, ()):
        out.add("ALERT-ONJ", Severity.BLOCK, v.note_day(note),
                f"Osteonecrosis of the jaw recorded ({v.note_day(note)}): {HOLD}")
    for fx in v.facts.fractures:
        if fx.mechanism is Mechanism.ATYPICAL and fx.date <= v.as_of:
            out.add("ALERT-AFF", Severity.BLOCK, fx.date, f"Atypical femoral fracture on {fx.date}: {HOLD}")
    bps = [c for c in v.started if c.drug.is_bp]
    years = v.policy.alerts.aff_symptom_bp_years
    for note in v.notes.get(NoteKind.THIGH_PAIN, ()) if bps else ():
        on = note.date or v.as_of
        spans = sorted((c.start, min(c.stop or on, on)) for c in bps if c.start <= on)  # type: ignore[operator]
        days, reach = 0, date.min
        for start, stop in spans:
            start = max(start, reach)
            if stop > start:
                days, reach = days + (stop - start).days, stop
        if spans and days >= (add_months(spans[0][0], 12 * years) - spans[0][0]).days:
            out.add("ALERT-AFF-SYMPTOM", Severity.WARN, v.note_day(note),
                    f"Thigh or groin pain recorded ({v.note_day(note)}) after {days / 365.25:.1f} years on a "
                    "bisphosphonate: image both femurs for an atypical fracture")


def _interaction_alerts(v: _View, out: _Out) -> None:
    """ALERT-RLX-AI and ALERT-HRT."""
    ai_plus = v.assessment.ai_status in (AIStatus.CURRENT, AIStatus.PLANNED)
    for rlx in v.on(lambda d: d is Drug.RALOXIFENE):
        partners = v.on(lambda d: d is Drug.TAMOXIFEN)
        if ai_plus:
            partners += v.on(lambda d: d.is_ai) or [c for c in v.planned if c.drug.is_ai]
        if partners:
            since = max([rlx.start] + [c.start for c in partners if c.start is not None])  # type: ignore[type-var]
            out.add("ALERT-RLX-AI", Severity.BLOCK, since,
                    f"Raloxifene (since {rlx.start}) with {' and '.join(sorted({c.drug.value for c in partners}))}: "
                    "stop raloxifene; a SERM is not given with an aromatase inhibitor or tamoxifen")
    for c in v.on(lambda d: d is Drug.OESTROGEN):
        out.add("ALERT-HRT", Severity.BLOCK, c.start,  # type: ignore[arg-type]
                f"Systemic oestrogen (since {c.start}) in hormone-receptor-positive breast cancer: stop it")


# --------------------------------------------------------------------------- treatment gap


def raised_spans(facts: PatientFacts, as_of: date, policy: Policy,
                 known: Sequence[TherapyCourse] | None = None) -> list[tuple[date, date | None]]:
    """Half-open [from, to) spans up to as_of on which the tier is MODERATE or HIGH (SPEC §2.2): a hip
    or vertebral fragility fracture (H1), a usable T below normal, or an AI planned or current (A4)."""
    r = policy.risk
    spans: list[tuple[date, date | None]] = [
        (f.date, None) for f in facts.fractures
        if f.date <= as_of and f.is_fragility and f.site in H1_SITES
        and not (f.site is FractureSite.VERTEBRA and f.genant_grade == 1)
    ]
    rois = tiering_rois(facts, as_of, policy)
    exams = sorted({x.date for x in rois})
    normal = Decimal(str(r.normal_t_min))
    for i, exam in enumerate(exams):
        lo = exam - timedelta(days=r.assessment_window_days)
        if min(round_t(x.t_score) for x in rois if lo <= x.date <= exam) < normal:  # type: ignore[arg-type]
            end = add_months(exam, r.bmd_stale_months) + ONE_DAY
            spans.append((exam, min(end, exams[i + 1]) if i + 1 < len(exams) else end))
    for c in known if known is not None else all_courses(facts):
        if c.drug.is_ai:
            spans += _ai_spans(c, facts.doses, policy)
    return spans


def _ai_spans(c: TherapyCourse, doses: Sequence[Dose], policy: Policy) -> list[tuple[date, date | None]]:
    """therapy.ai_state as spans: PLANNED around the planned start; CURRENT from start to stop, except
    from the day the supply has run out by more than the grace days until the next dispense."""
    r = policy.risk
    spans: list[tuple[date, date | None]] = []
    if c.planned_start is not None:
        end = min([c.planned_start + timedelta(days=r.ai_plan_expiry_days)] + [x for x in (c.start, c.stop) if x])
        spans.append((c.planned_start - timedelta(days=r.ai_plan_lookahead_days), end))
    if c.start is None:
        return spans
    fills = sorted((x.date, x.days_supply) for x in doses
                   if x.drug is c.drug and x.days_supply and x.days_supply > 0 and x.date >= c.start)
    current: list[tuple[date, date | None]] = []
    begin: date | None = c.start
    free: date | None = None
    for i, (day, supply) in enumerate(fills):  # shifted coverage as in therapy.shifted_coverage
        last = (day if free is None or day >= free else free) + timedelta(days=supply - 1)
        free = last + ONE_DAY
        nxt = fills[i + 1][0] if i + 1 < len(fills) else None
        gap_from = last + timedelta(days=r.ai_supply_grace_days + 1)
        if nxt != day and (nxt is None or gap_from < nxt):
            current.append((begin, gap_from))  # type: ignore[arg-type]
            begin = nxt
    if begin is not None:
        current.append((begin, None))
    stop = c.stop
    return spans + [(a, b if stop is None else stop if b is None else min(b, stop)) for a, b in current]


def raised_since(spans: Sequence[tuple[date, date | None]], as_of: date) -> date | None:
    """Start of the unbroken run of spans that covers as_of, or None when as_of is not covered."""
    start: date | None = None
    reach: date | None = None
    for a, b in sorted(spans, key=lambda s: s[0]):
        if b is not None and b <= a:
            continue
        if a > as_of:
            break
        if start is None or (reach is not None and a > reach):
            start, reach = a, b
        elif reach is not None:
            reach = None if b is None else max(reach, b)
    return start if start is not None and (reach is None or reach > as_of) else None


def _treatment_gap_alert(v: _View, out: _Out) -> None:
    if v.assessment.tier not in (Tier.MODERATE, Tier.HIGH):
        return
    if v.notes.get(NoteKind.BMA_DECLINED) or v.notes.get(NoteKind.BMA_CONTRAINDICATED):
        return
    bma = [c for c in v.started if c.drug.is_bma]
    if any(c.stop is None or c.stop > v.as_of for c in bma):
        return
    since = raised_since(raised_spans(v.facts, v.as_of, v.policy, v.all_courses), v.as_of)
    if since is None or any(c.stop > since for c in bma):  # type: ignore[operator]
        return  # (None cannot happen while raised_spans mirrors risk.assess: never guess an alert)
    gap = v.policy.alerts.treatment_gap_days
    starts = since + timedelta(days=gap + 1)
    if v.as_of < starts:
        out.change(starts)
        return
    out.add("ALERT-TREATMENT-GAP", Severity.WARN, starts,
            f"Fracture-risk tier moderate or high since {since} (now {v.assessment.tier.value}: "
            f"{', '.join(v.assessment.reasons)}) and no bone-modifying agent for more than {gap} days: start a "
            "bisphosphonate or denosumab, or record bma_declined or bma_contraindicated")
