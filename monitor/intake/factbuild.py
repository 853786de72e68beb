"""Build a fact from named text values: the one parser behind `bonemon record …` and the CSV importer.

Keys are the CSV column names (the CLI's option names with `_` for `-`). Every value is parsed and
checked against the vocabularies here; dates against the patient are checked by monitor.intake.validate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from monitor.core.domain import (
    Dose,
    DxaRoi,
    Fracture,
    Frax,
    Lab,
    Marker,
    Note,
    Side,
    Vitals,
)
from monitor.core.errors import DataError
from monitor.core.policy import Policy
from monitor.core.vocab import (
    LAB_UNITS,
    MARKER_EXTRA_UNITS,
    MARKER_UNITS,
    choose,
    default_route,
    normalise_unit,
    parse_drug,
    parse_dxa_site,
    parse_fracture_site,
    parse_lab,
    parse_marker,
    parse_mechanism,
    parse_note_kind,
    parse_route,
)
from monitor.intake.parsing import as_bool, as_date, as_decimal, as_float, as_int

Cells = Mapping[str, str | None]
# A built fact and the extra column values stored beside it (the value and unit as reported).
Built = tuple[Any, dict[str, Any]]


def _need(cells: Cells, key: str) -> str:
    value = cells.get(key)
    if value is None or not str(value).strip():
        raise DataError(key.replace("_", "-"), "missing", "a value is required")
    return str(value).strip()


def _opt(cells: Cells, key: str) -> str | None:
    value = cells.get(key)
    if value is None or not str(value).strip():
        return None
    return str(value).strip()


def build_dose(cells: Cells, policy: Policy) -> Built:
    drug = parse_drug(_need(cells, "drug"))
    mg = as_float(_opt(cells, "dose_mg"), "dose-mg")
    route_text = _opt(cells, "route")
    supply = as_int(_opt(cells, "days_supply"), "days-supply")
    route = parse_route(route_text) if route_text else default_route(drug, mg, policy.bp.ibandronate_iv_max_mg,
                                                                     supply)
    return Dose(drug=drug, date=as_date(_need(cells, "date")), dose_mg=mg, days_supply=supply, route=route), {}


def build_dxa(cells: Cells, policy: Policy) -> Built:
    side = _opt(cells, "side")
    return DxaRoi(
        date=as_date(_need(cells, "date")), site=parse_dxa_site(_need(cells, "site")),
        t_score=as_decimal(_opt(cells, "t_score"), "t-score"),
        side=choose(Side, side, "side") if side else Side.NONE,
        z_score=as_decimal(_opt(cells, "z_score"), "z-score"), bmd=as_float(_opt(cells, "bmd"), "bmd"),
        scanner=_opt(cells, "scanner"), vertebrae=as_int(_opt(cells, "vertebrae"), "vertebrae"),
        valid=not as_bool(_opt(cells, "invalid"), "invalid"),
    ), {}


def _measurement(cells: Cells, kind: str) -> tuple[Any, float, str, float, str]:
    unit = _need(cells, "unit")
    raw = as_float(_need(cells, "value"), "value")
    if kind == "marker":
        analyte = parse_marker(_need(cells, "analyte"))
        value, canonical = normalise_unit(MARKER_UNITS, analyte.value, raw, unit, MARKER_EXTRA_UNITS)
    else:
        analyte = parse_lab(_need(cells, "analyte"))
        value, canonical = normalise_unit(LAB_UNITS, analyte.value, raw, unit)
    return analyte, round(value, 6), canonical, raw, unit


def build_marker(cells: Cells, policy: Policy) -> Built:
    analyte, value, unit, raw, reported = _measurement(cells, "marker")
    fact = Marker(date=as_date(_need(cells, "date")), analyte=analyte, value=value, unit=unit)
    return fact, {"value_reported": raw, "unit_reported": reported}


def build_lab(cells: Cells, policy: Policy) -> Built:
    analyte, value, unit, raw, reported = _measurement(cells, "lab")
    fact = Lab(date=as_date(_need(cells, "date")), analyte=analyte, value=value, unit=unit)
    return fact, {"value_reported": raw, "unit_reported": reported}


def build_fracture(cells: Cells, policy: Policy) -> Built:
    return Fracture(
        date=as_date(_need(cells, "date")), site=parse_fracture_site(_need(cells, "site")),
        mechanism=parse_mechanism(_opt(cells, "mechanism") or "unknown"),
        genant_grade=as_int(_opt(cells, "genant_grade"), "genant-grade"),
    ), {}


def build_frax(cells: Cells, policy: Policy) -> Built:
    with_bmd = _opt(cells, "with_bmd")
    return Frax(
        date=as_date(_need(cells, "date")), hip=as_float(_opt(cells, "hip"), "hip"),
        mof=as_float(_opt(cells, "mof"), "mof"), with_bmd=as_bool(with_bmd, "with-bmd") if with_bmd else None,
        model=_opt(cells, "model"),
    ), {}


def build_vitals(cells: Cells, policy: Policy) -> Built:
    return Vitals(
        date=as_date(_need(cells, "date")), weight_kg=as_float(_opt(cells, "weight_kg"), "weight-kg"),
        height_cm=as_float(_opt(cells, "height_cm"), "height-cm"), bmi=as_float(_opt(cells, "bmi"), "bmi"),
        waist_cm=as_float(_opt(cells, "waist_cm"), "waist-cm"),
    ), {}


def build_note(cells: Cells, policy: Policy) -> Built:
    day = _need(cells, "date")
    return Note(kind=parse_note_kind(_need(cells, "kind")),
                date=None if day.lower() == "undated" else as_date(day), text=_opt(cells, "text")), {}


BUILDERS: dict[str, Callable[[Cells, Policy], Built]] = {
    "dose": build_dose,
    "dxa": build_dxa,
    "marker": build_marker,
    "lab": build_lab,
    "fracture": build_fracture,
    "frax": build_frax,
    "vitals": build_vitals,
    "note": build_note,
}

# Columns each CSV record type may fill (besides mrn, clinic and record); docs/formats.md documents them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "patient": ("birth_date", "name", "phone", "sex", "menopause", "deceased_date"),
    "therapy_start": ("drug", "date", "planned", "dose_mg", "interval_months"),
    "therapy_stop": ("drug", "date", "stop_reason"),
    "dose": ("drug", "date", "dose_mg", "days_supply", "route"),
    "dxa": ("date", "site", "t_score", "bmd", "z_score", "side", "scanner", "vertebrae", "invalid"),
    "marker": ("date", "analyte", "value", "unit"),
    "lab": ("date", "analyte", "value", "unit"),
    "fracture": ("date", "site", "mechanism", "genant_grade"),
    "frax": ("date", "hip", "mof", "with_bmd", "model"),
    "vitals": ("date", "weight_kg", "height_cm", "bmi", "waist_cm"),
    "note": ("date", "kind", "text"),
}
