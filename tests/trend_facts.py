"""One patient with every kind of trend data: two scanners, a switch of drugs, markers, a fracture."""

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
    Marker,
    MarkerAnalyte,
    Mechanism,
    Menopause,
    Patient,
    PatientFacts,
    Side,
    TherapyCourse,
)

AS_OF = date(2025, 6, 1)
SPINE, HIP, NECK = DxaSite.LUMBAR_SPINE, DxaSite.TOTAL_HIP, DxaSite.FEMORAL_NECK


def roi(day: date, site: DxaSite, bmd: float, t: str, scanner: str = "S1", side: Side = Side.NONE) -> DxaRoi:
    return DxaRoi(day, site, Decimal(t), side=side, bmd=bmd, scanner=scanner, vertebrae=4 if site is SPINE else None)


FACTS = PatientFacts(
    Patient("P1", date(1955, 3, 1), menopause=Menopause.POST),
    courses=(TherapyCourse(Drug.LETROZOLE, start=date(2020, 1, 15), stop=date(2025, 1, 15)),
             TherapyCourse(Drug.DENOSUMAB, start=date(2021, 3, 1), stop=date(2023, 9, 1)),
             TherapyCourse(Drug.ZOLEDRONIC_ACID, start=date(2024, 3, 1))),
    doses=(Dose(Drug.DENOSUMAB, date(2021, 3, 1), dose_mg=60), Dose(Drug.DENOSUMAB, date(2021, 9, 1), dose_mg=60),
           Dose(Drug.ZOLEDRONIC_ACID, date(2024, 3, 1), dose_mg=5)),
    dxa=(roi(date(2020, 1, 10), SPINE, 1.000, "-1.2"), roi(date(2021, 1, 10), SPINE, 0.940, "-1.7"),
         roi(date(2023, 1, 10), SPINE, 0.950, "-1.6"),
         roi(date(2020, 1, 10), HIP, 0.800, "-1.5", side=Side.LEFT),
         roi(date(2021, 1, 10), HIP, 0.790, "-1.6", side=Side.LEFT),
         roi(date(2023, 1, 10), HIP, 0.845, "-1.2", side=Side.LEFT),
         roi(date(2021, 1, 10), NECK, 0.700, "-2.0", side=Side.LEFT),
         roi(date(2023, 1, 10), NECK, 0.600, "-2.6", scanner="S2", side=Side.LEFT),
         roi(date(2026, 1, 1), SPINE, 0.900, "-2.0")),  # after the as-of date: not shown
    markers=(Marker(date(2021, 2, 1), MarkerAnalyte.CTX, 550, "ng/L"), Marker(date(2021, 6, 1), MarkerAnalyte.CTX,
                                                                             150, "ng/L"),
             Marker(date(2021, 2, 1), MarkerAnalyte.P1NP, 60, "ug/L")),
    fractures=(Fracture(date(2022, 5, 1), FractureSite.VERTEBRA, Mechanism.FRAGILITY),),
)
