"""Domain values of docs/rules.md AS-OF: the facts the planner reads and what it returns.

Everything here is a frozen dataclass or a StrEnum, imports only the standard library, and knows
nothing of storage or the clock. Dates are `datetime.date`; T- and Z-scores are `Decimal` so the
rounding of A3 is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    UNKNOWN = "unknown"


class Menopause(StrEnum):
    POST = "post"
    PRE = "pre"
    UNKNOWN = "unknown"


class Tier(StrEnum):
    LOW = "low"
    MODERATE = "moderate"
    HIGH = "high"
    UNKNOWN = "unknown"


class AIStatus(StrEnum):
    PLANNED = "planned"
    CURRENT = "current"
    PAST = "past"
    NONE = "none"


class BmdStatus(StrEnum):
    FRESH = "fresh"
    AGING = "aging"
    STALE = "stale"
    NONE = "none"


class DrugClass(StrEnum):
    AI = "ai"
    TAMOXIFEN = "tamoxifen"
    BISPHOSPHONATE = "bisphosphonate"
    DENOSUMAB = "denosumab"
    RALOXIFENE = "raloxifene"
    OESTROGEN = "oestrogen"
    GLUCOCORTICOID = "glucocorticoid"


class Drug(StrEnum):
    ANASTROZOLE = "anastrozole"
    LETROZOLE = "letrozole"
    EXEMESTANE = "exemestane"
    TAMOXIFEN = "tamoxifen"
    ALENDRONATE = "alendronate"
    RISEDRONATE = "risedronate"
    IBANDRONATE = "ibandronate"
    ZOLEDRONIC_ACID = "zoledronic_acid"
    DENOSUMAB = "denosumab"
    RALOXIFENE = "raloxifene"
    OESTROGEN = "oestrogen"
    GLUCOCORTICOID = "glucocorticoid"

    @property
    def drug_class(self) -> DrugClass:
        return DRUG_CLASS[self]

    @property
    def is_ai(self) -> bool:
        return DRUG_CLASS[self] is DrugClass.AI

    @property
    def is_bp(self) -> bool:
        return DRUG_CLASS[self] is DrugClass.BISPHOSPHONATE

    @property
    def is_bma(self) -> bool:
        """Bone-modifying agent: a bisphosphonate or denosumab."""
        return DRUG_CLASS[self] in (DrugClass.BISPHOSPHONATE, DrugClass.DENOSUMAB)


DRUG_CLASS: dict[Drug, DrugClass] = {
    Drug.ANASTROZOLE: DrugClass.AI,
    Drug.LETROZOLE: DrugClass.AI,
    Drug.EXEMESTANE: DrugClass.AI,
    Drug.TAMOXIFEN: DrugClass.TAMOXIFEN,
    Drug.ALENDRONATE: DrugClass.BISPHOSPHONATE,
    Drug.RISEDRONATE: DrugClass.BISPHOSPHONATE,
    Drug.IBANDRONATE: DrugClass.BISPHOSPHONATE,
    Drug.ZOLEDRONIC_ACID: DrugClass.BISPHOSPHONATE,
    Drug.DENOSUMAB: DrugClass.DENOSUMAB,
    Drug.RALOXIFENE: DrugClass.RALOXIFENE,
    Drug.OESTROGEN: DrugClass.OESTROGEN,
    Drug.GLUCOCORTICOID: DrugClass.GLUCOCORTICOID,
}


class Route(StrEnum):
    ORAL = "oral"
    IV = "iv"
    SC = "sc"


class DxaSite(StrEnum):
    LUMBAR_SPINE = "lumbar_spine"
    FEMORAL_NECK = "femoral_neck"
    TOTAL_HIP = "total_hip"
    RADIUS_33 = "radius_33"
    UNSPECIFIED = "unspecified"
    # Stored but never used for tiering (A1).
    TROCHANTER = "trochanter"
    WARDS = "wards"
    SINGLE_VERTEBRA = "single_vertebra"
    ULTRADISTAL_RADIUS = "ultradistal_radius"
    TOTAL_FOREARM = "total_forearm"
    CALCANEUS = "calcaneus"
    OTHER = "other"


TIERING_SITES = frozenset(
    {DxaSite.LUMBAR_SPINE, DxaSite.FEMORAL_NECK, DxaSite.TOTAL_HIP, DxaSite.RADIUS_33, DxaSite.UNSPECIFIED}
)


class Side(StrEnum):
    LEFT = "left"
    RIGHT = "right"
    NONE = "none"


class FractureSite(StrEnum):
    HIP = "hip"
    VERTEBRA = "vertebra"
    PROXIMAL_HUMERUS = "proximal_humerus"
    PELVIS = "pelvis"
    DISTAL_FOREARM = "distal_forearm"
    OTHER = "other"


class Mechanism(StrEnum):
    FRAGILITY = "fragility"
    TRAUMA = "trauma"
    PATHOLOGICAL = "pathological"
    ATYPICAL = "atypical"
    UNKNOWN = "unknown"


class MarkerAnalyte(StrEnum):
    CTX = "ctx"
    P1NP = "p1np"
    BALP = "balp"
    NTX = "ntx"


class LabAnalyte(StrEnum):
    EGFR = "egfr"
    CRCL = "crcl"
    CALCIUM = "calcium"
    CALCIUM_CORRECTED = "calcium_corrected"
    ALBUMIN = "albumin"
    VITAMIN_D = "vitamin_d"
    CREATININE = "creatinine"


class NoteKind(StrEnum):
    DENTAL_CHECK = "dental_check"
    DENTAL_PROCEDURE_PLANNED = "dental_procedure_planned"
    BONE_METASTASIS = "bone_metastasis"
    OFS = "ofs"
    RISK_REVIEW = "risk_review"
    HOLIDAY_REVIEW = "holiday_review"
    HOLIDAY_START = "holiday_start"
    BMA_DECLINED = "bma_declined"
    BMA_CONTRAINDICATED = "bma_contraindicated"
    ENDOCRINE_REVIEW = "endocrine_review"
    ENDOCRINE_EXTEND = "endocrine_extend"
    ENDOCRINE_STOP = "endocrine_stop"
    TRANSITION_PLAN = "transition_plan"
    ORAL_BP_INTOLERANCE = "oral_bp_intolerance"
    ORAL_BP_ADMIN_PROBLEM = "oral_bp_admin_problem"
    ONJ = "onj"
    THIGH_PAIN = "thigh_pain"
    ACUTE_RENAL_IMPAIRMENT = "acute_renal_impairment"
    DIALYSIS = "dialysis"
    SMOKER = "smoker"
    ALCOHOL = "alcohol"
    FAMILY_HIP_FRACTURE = "family_hip_fracture"
    LIFESTYLE_COUNSELLING = "lifestyle_counselling"
    OTHER = "other"


class TaskKind(StrEnum):
    DXA = "dxa"
    BTM = "btm"
    RISK_REVIEW = "risk_review"
    DENOSUMAB_DOSE = "denosumab_dose"
    BP_DOSE = "bp_dose"
    SEQUENTIAL_BP = "sequential_bp"
    BP_HOLIDAY_REVIEW = "bp_holiday_review"
    ENDOCRINE_REVIEW = "endocrine_review"
    ADHERENCE_SWITCH = "adherence_switch"
    LIFESTYLE = "lifestyle"
    TRANSITION_PLAN = "transition_plan"


class TaskStatus(StrEnum):
    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    DONE = "done"
    DONE_LATE = "done_late"
    SNOOZED = "snoozed"


class Severity(StrEnum):
    BLOCK = "block"
    CRITICAL = "critical"
    HIGH = "high"
    WARN = "warn"

    @property
    def rank(self) -> int:
        """0 is the most severe; reminders sort by it."""
        return SEVERITY_ORDER.index(self)


SEVERITY_ORDER = (Severity.BLOCK, Severity.CRITICAL, Severity.HIGH, Severity.WARN)


# --------------------------------------------------------------------------- facts (AS-OF)


@dataclass(frozen=True, slots=True)
class Patient:
    mrn: str
    birth_date: date
    sex: Sex = Sex.FEMALE
    menopause: Menopause = Menopause.UNKNOWN
    clinic: str = "main"
    name: str | None = None
    deceased_date: date | None = None
    country: str | None = None
    phone: str | None = None
    id: int | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TherapyCourse:
    """An AI, tamoxifen, BMA, raloxifene, oestrogen or glucocorticoid course (not a dose).

    `planned_start` is set when the course was recorded as a plan; `start` once it really began.
    """

    drug: Drug
    start: date | None = None
    planned_start: date | None = None
    stop: date | None = None
    stop_reason: str | None = None
    dose_mg: float | None = None
    interval_months: int | None = None
    id: int | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False)

    @property
    def first_day(self) -> date | None:
        return self.start or self.planned_start


@dataclass(frozen=True, slots=True)
class Dose:
    """One administration, infusion, injection or dispense."""

    drug: Drug
    date: date
    dose_mg: float | None = None
    days_supply: int | None = None
    route: Route | None = None
    id: int | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class DxaRoi:
    """One region of interest of one DXA exam."""

    date: date
    site: DxaSite
    t_score: Decimal | None = None
    side: Side = Side.NONE
    z_score: Decimal | None = None
    bmd: float | None = None
    scanner: str | None = None
    vertebrae: int | None = None
    valid: bool = True
    id: int | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Marker:
    """A bone turnover marker; `value` is in the canonical unit of the analyte (vocab.MARKER_UNITS)."""

    date: date
    analyte: MarkerAnalyte
    value: float
    unit: str
    id: int | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Fracture:
    date: date
    site: FractureSite
    mechanism: Mechanism = Mechanism.UNKNOWN
    genant_grade: int | None = None
    id: int | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False)

    @property
    def is_fragility(self) -> bool:
        return self.mechanism is Mechanism.FRAGILITY


@dataclass(frozen=True, slots=True)
class Frax:
    date: date
    hip: float | None = None
    mof: float | None = None
    with_bmd: bool | None = None
    model: str | None = None
    id: int | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Lab:
    """A laboratory result; `value` is in the canonical unit of the analyte (vocab.LAB_UNITS)."""

    date: date
    analyte: LabAnalyte
    value: float
    unit: str
    id: int | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Vitals:
    date: date
    weight_kg: float | None = None
    height_cm: float | None = None
    bmi: float | None = None
    waist_cm: float | None = None
    id: int | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False)

    @property
    def bmi_value(self) -> float | None:
        """Recorded BMI, else weight / height² when both are there."""
        if self.bmi is not None:
            return self.bmi
        if self.weight_kg and self.height_cm:
            return self.weight_kg / (self.height_cm / 100) ** 2
        return None


@dataclass(frozen=True, slots=True)
class Note:
    """A dated (or undated, A1c) clinical note of a known kind."""

    kind: NoteKind
    date: date | None
    text: str | None = None
    id: int | None = field(default=None, compare=False)
    source: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """Everything the pure core knows of one patient. Sequences are sorted by date."""

    patient: Patient
    courses: tuple[TherapyCourse, ...] = ()
    doses: tuple[Dose, ...] = ()
    dxa: tuple[DxaRoi, ...] = ()
    markers: tuple[Marker, ...] = ()
    fractures: tuple[Fracture, ...] = ()
    frax: tuple[Frax, ...] = ()
    labs: tuple[Lab, ...] = ()
    vitals: tuple[Vitals, ...] = ()
    notes: tuple[Note, ...] = ()
    # What the rules derive from these very facts (therapy.effective_courses), kept with them so risk,
    # plan and alerts share one answer; never part of equality.
    derived: dict[str, object] = field(default_factory=dict, init=False, repr=False, compare=False)


FACT_GROUP: dict[type, str] = {
    TherapyCourse: "courses", Dose: "doses", DxaRoi: "dxa", Marker: "markers", Fracture: "fractures",
    Frax: "frax", Lab: "labs", Vitals: "vitals", Note: "notes",
}


def iter_facts(facts: PatientFacts):
    """Every fact of a patient, group by group."""
    for group in FACT_GROUP.values():
        yield from getattr(facts, group)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Assessment:
    """TIER, T-MIN and FLAGS: tier and why, as of one date."""

    as_of: date
    tier: Tier
    provisional: bool
    reasons: tuple[str, ...]
    flags: tuple[str, ...]
    t_min: Decimal | None
    t_min_site: DxaSite | None
    bmd_date: date | None
    bmd_status: BmdStatus
    ai_status: AIStatus
    bma_indicated: bool
    in_pathway: bool = True
    exit_reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Task:
    """One due window (WINDOW; its status: STATUS). `done_on` is the date of the fact that completed it, if any."""

    kind: TaskKind
    rule: str
    anchor: date
    earliest: date
    target: date
    latest: date
    reason: str
    done_on: date | None = None
    grace_days: int = 0

    @property
    def key(self) -> str:
        """Natural key: the same rule and anchor is the same task across replans."""
        return f"{self.rule}@{self.anchor.isoformat()}"


@dataclass(frozen=True, slots=True)
class Alert:
    code: str
    severity: Severity
    since: date
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    as_of: date
    tasks: tuple[Task, ...]
    alerts: tuple[Alert, ...]
    valid_until: date
    flags: tuple[str, ...] = field(default=())
