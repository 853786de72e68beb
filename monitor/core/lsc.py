"""Least significant change between DXA exams (docs/rules.md LSC, CHANGE).

Pure. A change is measured between consecutive exams of the same ROI (site and side) on the same
scanner, in g/cm² (never from T-scores). Only the lumbar spine, total hip and femoral neck are
compared: never the 33% radius or an `unspecified` site. A lumbar ROI is compared only with one of
the same number of vertebrae when both are recorded. An ROI with no scanner id is not compared
(sameness of the scanner cannot be shown).

LSC = the facility value for that scanner and site (`[lsc.facility]`, g/cm²), else the ISCD
fallback percentage of the previous BMD. Significant loss if Δ ≤ −LSC, gain if Δ ≥ +LSC; both are
rounded to 1e-9 g/cm² before comparing, so that equality counts exactly (BMD is reported to 3–4
decimals).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from monitor.core.domain import DxaRoi, DxaSite, Side
from monitor.core.policy import LscPolicy, Policy

CHANGE_SITES = (DxaSite.LUMBAR_SPINE, DxaSite.TOTAL_HIP, DxaSite.FEMORAL_NECK)
COMPARED = frozenset(CHANGE_SITES)
DAYS_PER_YEAR = 365.25
PLACES = 9  # g/cm² are compared after rounding to this many decimals


class Direction(StrEnum):
    LOSS = "loss"
    GAIN = "gain"
    STABLE = "stable"


@dataclass(frozen=True, slots=True)
class BmdChange:
    site: DxaSite
    side: Side
    scanner: str
    previous_date: date
    date: date
    previous_bmd: float
    bmd: float
    delta: float  # g/cm², new − previous
    lsc: float  # g/cm²
    lsc_from_facility: bool  # False: ISCD fallback percentage of the previous BMD
    percent: float  # Δ / previous × 100
    annual_percent: float  # percent per year of the interval between the exams
    direction: Direction

    @property
    def significant(self) -> bool:
        return self.direction is not Direction.STABLE


FALLBACK_KEY = {DxaSite.LUMBAR_SPINE: "fallback_pct_lumbar_spine", DxaSite.TOTAL_HIP: "fallback_pct_total_hip",
                DxaSite.FEMORAL_NECK: "fallback_pct_femoral_neck"}


def fallback_pct(site: DxaSite, policy: LscPolicy) -> float:
    return getattr(policy, FALLBACK_KEY[site])


def least_significant_change(site: DxaSite, scanner: str, previous_bmd: float,
                             policy: LscPolicy) -> tuple[float, bool]:
    """(LSC in g/cm², True if it is the facility value)."""
    facility = policy.facility.get(scanner, {}).get(site.value)
    if facility is not None:
        return float(facility), True
    return round(fallback_pct(site, policy) * previous_bmd / 100, PLACES), False


def bmd_changes(dxa_rois: Iterable[DxaRoi], policy: Policy | LscPolicy, *, after: date | None = None,
                last_only: bool = False) -> list[BmdChange]:
    """Every change between consecutive exams of one ROI on one scanner, oldest first.

    Several ROIs of one site, side and scanner on the same date count once (the last given).
    `after` keeps the changes measured on a later exam; `last_only` the last change of each ROI.
    """
    lsc_policy = policy.lsc if isinstance(policy, Policy) else policy
    series: dict[tuple[DxaSite, Side, str], dict[date, DxaRoi]] = {}
    for roi in dxa_rois:
        if roi.site in COMPARED and roi.bmd is not None and roi.scanner and roi.valid:
            series.setdefault((roi.site, roi.side, roi.scanner), {})[roi.date] = roi
    out: list[BmdChange] = []
    for (site, side, scanner), by_date in series.items():
        if len(by_date) < 2:
            continue
        days = sorted(by_date)
        exams = [by_date[d] for d in (days[-2:] if last_only else days)]
        for prev, cur in itertools.pairwise(exams):
            if after is not None and cur.date <= after:
                continue
            if (site is DxaSite.LUMBAR_SPINE and prev.vertebrae is not None and cur.vertebrae is not None
                    and prev.vertebrae != cur.vertebrae):
                continue
            out.append(_change(site, side, scanner, prev, cur, lsc_policy))
    out.sort(key=_order)
    return out


def latest_bmd_changes(dxa_rois: Iterable[DxaRoi], policy: Policy | LscPolicy) -> list[BmdChange]:
    """`latest_changes(bmd_changes(...))` in one pass: the changes measured on the most recent exam
    date that has any (the "latest exam that has any" of CHANGE-FLAGS)."""
    lsc_policy = policy.lsc if isinstance(policy, Policy) else policy
    pairs: dict[tuple[DxaSite, Side, str], list] = {}  # key → [previous exam, last exam]
    for roi in dxa_rois:
        if roi.site in COMPARED and roi.bmd is not None and roi.scanner and roi.valid:
            key = (roi.site, roi.side, roi.scanner)
            pair = pairs.get(key)
            if pair is None:
                pairs[key] = [None, roi]
            elif roi.date >= pair[1].date:
                if roi.date > pair[1].date:
                    pair[0] = pair[1]
                pair[1] = roi
            elif pair[0] is None or roi.date >= pair[0].date:
                pair[0] = roi
    ready = [(k, prev, cur) for k, (prev, cur) in pairs.items() if prev is not None and not (
        k[0] is DxaSite.LUMBAR_SPINE and prev.vertebrae is not None and cur.vertebrae is not None
        and prev.vertebrae != cur.vertebrae)]
    if not ready:
        return []
    last = max(cur.date for _, _, cur in ready)
    out = [_change(*k, prev, cur, lsc_policy) for k, prev, cur in ready if cur.date == last]
    out.sort(key=_order)
    return out


def _order(c: BmdChange) -> tuple:
    return (c.date, c.site, c.side, c.scanner)


def _change(site: DxaSite, side: Side, scanner: str, prev: DxaRoi, cur: DxaRoi, policy: LscPolicy) -> BmdChange:
    before, after = float(prev.bmd), float(cur.bmd)  # type: ignore[arg-type]
    delta = round(after - before, PLACES)
    lsc, facility = least_significant_change(site, scanner, before, policy)
    if delta < 0 and delta <= -lsc:
        direction = Direction.LOSS
    elif delta > 0 and delta >= lsc:
        direction = Direction.GAIN
    else:
        direction = Direction.STABLE
    percent = delta / before * 100 if before else 0.0
    days = (cur.date - prev.date).days
    annual = percent * DAYS_PER_YEAR / days if days else 0.0
    return BmdChange(site, side, scanner, prev.date, cur.date, before, after, delta, lsc, facility, percent, annual,
                     direction)


def latest_changes(changes: list[BmdChange]) -> list[BmdChange]:
    """The changes measured on the most recent exam date that has any (the "latest comparison").

    `latest_bmd_changes(rois, policy)` gives the same from the ROIs, faster."""
    if not changes:
        return []
    last = max(c.date for c in changes)
    return [c for c in changes if c.date == last]
