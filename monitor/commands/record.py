"""`bonemon record dose|dxa|marker|fracture|frax|lab|vitals|note`: one clinical fact per command."""

from __future__ import annotations

from typing import Any

import click

from monitor.commands.values import as_date, as_decimal, as_float, as_int, clinic_option

DATE_HELP = "Date of the event, YYYY-MM-DD (not in the future)."


@click.group()
def record() -> None:
    """Record a dose, DXA, marker, fracture, FRAX, lab, vitals or note."""


def _store(state, mrn: str, clinic: str | None, fact: Any, extra: dict | None = None) -> None:
    from monitor import service

    with state.write() as session:
        service.record_fact(session, state.context(), mrn, fact, clinic=clinic, extra=extra)


@record.command("dose")
@click.argument("mrn")
@click.option("--drug", required=True, metavar="DRUG", help="anastrozole … raloxifene; brands and RxNorm codes map.")
@click.option("--date", "day", required=True, metavar="D", help=DATE_HELP)
@click.option("--dose-mg", metavar="X")
@click.option("--days-supply", metavar="N", help="Days a dispense covers (oral drugs).")
@click.option("--route", metavar="oral|iv|sc", help="Default: from the drug and strength.")
@clinic_option
@click.pass_obj
def dose(state, mrn, drug, day, dose_mg, days_supply, route, clinic) -> None:
    """A dose, infusion, injection or dispense."""
    from monitor.domain import Dose
    from monitor.vocab import default_route, parse_drug, parse_route

    d = parse_drug(drug)
    mg = as_float(dose_mg, "dose-mg")
    r = parse_route(route) if route else default_route(d, mg, state.settings.policy.bp.ibandronate_iv_max_mg)
    fact = Dose(drug=d, date=as_date(day), dose_mg=mg, days_supply=as_int(days_supply, "days-supply"), route=r)
    _store(state, mrn, clinic, fact)
    click.echo(f"Recorded {d} dose on {fact.date} for {mrn}.")


@record.command("dxa")
@click.argument("mrn")
@click.option("--date", "day", required=True, metavar="D", help=DATE_HELP)
@click.option("--site", required=True, metavar="SITE",
              help="lumbar_spine femoral_neck total_hip radius_33 unspecified (others are stored, not tiered).")
@click.option("--t-score", metavar="T", help="Reported T-score (−8…+6).")
@click.option("--bmd", metavar="G", help="BMD in g/cm².")
@click.option("--z-score", metavar="Z")
@click.option("--side", metavar="left|right", help="Side of a hip or forearm ROI.")
@click.option("--scanner", metavar="ID", help="Scanner id: change (LSC) is judged on the same scanner only.")
@click.option("--vertebrae", metavar="N", help="Evaluable vertebrae in a lumbar ROI (≥ 2 to count).")
@click.option("--invalid", is_flag=True, help="The ROI was judged invalid (artefact): stored, never used.")
@clinic_option
@click.pass_obj
def dxa(state, mrn, day, site, t_score, bmd, z_score, side, scanner, vertebrae, invalid, clinic) -> None:
    """One region of one DXA exam."""
    from monitor.domain import DxaRoi, Side
    from monitor.vocab import choose, parse_dxa_site

    fact = DxaRoi(
        date=as_date(day), site=parse_dxa_site(site), t_score=as_decimal(t_score, "t-score"),
        side=choose(Side, side, "side") if side else Side.NONE, z_score=as_decimal(z_score, "z-score"),
        bmd=as_float(bmd, "bmd"), scanner=(scanner or None), vertebrae=as_int(vertebrae, "vertebrae"),
        valid=not invalid,
    )
    _store(state, mrn, clinic, fact)
    click.echo(f"Recorded DXA {fact.site} on {fact.date} for {mrn}.")


def _measure(kind: str, analyte: str, value: str, unit: str) -> tuple[Any, float, str, float]:
    from monitor.errors import DataError
    from monitor.vocab import LAB_UNITS, MARKER_EXTRA_UNITS, MARKER_UNITS, normalise_unit, parse_lab, parse_marker

    if not unit or not unit.strip():
        raise DataError("unit", repr(unit), "the unit of the result, e.g. ng/L")
    raw = as_float(value, "value")
    if kind == "marker":
        a = parse_marker(analyte)
        v, u = normalise_unit(MARKER_UNITS, a.value, raw, unit, MARKER_EXTRA_UNITS)
    else:
        a = parse_lab(analyte)
        v, u = normalise_unit(LAB_UNITS, a.value, raw, unit)
    return a, v, u, raw


@record.command("marker")
@click.argument("mrn")
@click.option("--date", "day", required=True, metavar="D", help=DATE_HELP)
@click.option("--analyte", required=True, metavar="ctx|p1np|balp|ntx")
@click.option("--value", required=True, metavar="V")
@click.option("--unit", required=True, metavar="U", help="e.g. ng/L or pg/mL (CTX), ug/L or ng/mL (P1NP).")
@clinic_option
@click.pass_obj
def marker(state, mrn, day, analyte, value, unit, clinic) -> None:
    """A bone turnover marker result."""
    from monitor.domain import Marker

    a, v, u, raw = _measure("marker", analyte, value, unit)
    fact = Marker(date=as_date(day), analyte=a, value=round(v, 6), unit=u)
    _store(state, mrn, clinic, fact, {"value_reported": raw, "unit_reported": unit.strip()})
    click.echo(f"Recorded {a} {fact.value:g} {u} on {fact.date} for {mrn}.")


@record.command("lab")
@click.argument("mrn")
@click.option("--date", "day", required=True, metavar="D", help=DATE_HELP)
@click.option("--analyte", required=True, metavar="egfr|crcl|calcium|calcium_corrected|albumin|vitamin_d|creatinine")
@click.option("--value", required=True, metavar="V")
@click.option("--unit", required=True, metavar="U", help="e.g. mmol/L or mg/dL (calcium), ng/mL or nmol/L (25(OH)D).")
@clinic_option
@click.pass_obj
def lab(state, mrn, day, analyte, value, unit, clinic) -> None:
    """A laboratory result."""
    from monitor.domain import Lab

    a, v, u, raw = _measure("lab", analyte, value, unit)
    fact = Lab(date=as_date(day), analyte=a, value=round(v, 6), unit=u)
    _store(state, mrn, clinic, fact, {"value_reported": raw, "unit_reported": unit.strip()})
    click.echo(f"Recorded {a} {fact.value:g} {u} on {fact.date} for {mrn}.")


@record.command("fracture")
@click.argument("mrn")
@click.option("--date", "day", required=True, metavar="D", help=DATE_HELP)
@click.option("--site", required=True, metavar="hip|vertebra|proximal_humerus|pelvis|distal_forearm|other")
@click.option("--mechanism", default="unknown", show_default=True,
              metavar="fragility|trauma|pathological|atypical|unknown",
              help="pathological = tumour (leaves the pathway); an osteoporotic fracture is fragility.")
@click.option("--genant-grade", metavar="1|2|3", help="Vertebral deformity grade; grade 1 is a review flag only.")
@clinic_option
@click.pass_obj
def fracture(state, mrn, day, site, mechanism, genant_grade, clinic) -> None:
    """A fracture with its site and mechanism."""
    from monitor.domain import Fracture
    from monitor.vocab import parse_fracture_site, parse_mechanism

    fact = Fracture(date=as_date(day), site=parse_fracture_site(site), mechanism=parse_mechanism(mechanism),
                    genant_grade=as_int(genant_grade, "genant-grade"))
    _store(state, mrn, clinic, fact)
    click.echo(f"Recorded {fact.mechanism} fracture ({fact.site}) on {fact.date} for {mrn}.")


@record.command("frax")
@click.argument("mrn")
@click.option("--date", "day", required=True, metavar="D", help=DATE_HELP)
@click.option("--hip", metavar="P", help="10-year hip fracture probability, %.")
@click.option("--mof", metavar="P", help="10-year major osteoporotic fracture probability, %.")
@click.option("--with-bmd/--without-bmd", default=None, help="Whether BMD was entered into FRAX.")
@click.option("--model", metavar="TEXT", help="Country model, e.g. China, UK, US.")
@clinic_option
@click.pass_obj
def frax(state, mrn, day, hip, mof, with_bmd, model, clinic) -> None:
    """A FRAX result."""
    from monitor.domain import Frax

    fact = Frax(date=as_date(day), hip=as_float(hip, "hip"), mof=as_float(mof, "mof"), with_bmd=with_bmd,
                model=model)
    _store(state, mrn, clinic, fact)
    click.echo(f"Recorded FRAX on {fact.date} for {mrn}.")


@record.command("vitals")
@click.argument("mrn")
@click.option("--date", "day", required=True, metavar="D", help=DATE_HELP)
@click.option("--weight-kg", metavar="X")
@click.option("--height-cm", metavar="X")
@click.option("--bmi", metavar="X")
@click.option("--waist-cm", metavar="X")
@clinic_option
@click.pass_obj
def vitals(state, mrn, day, weight_kg, height_cm, bmi, waist_cm, clinic) -> None:
    """Weight, height, BMI and waist circumference."""
    from monitor.domain import Vitals

    fact = Vitals(date=as_date(day), weight_kg=as_float(weight_kg, "weight-kg"),
                  height_cm=as_float(height_cm, "height-cm"), bmi=as_float(bmi, "bmi"),
                  waist_cm=as_float(waist_cm, "waist-cm"))
    _store(state, mrn, clinic, fact)
    click.echo(f"Recorded vitals on {fact.date} for {mrn}.")


@record.command("note")
@click.argument("mrn")
@click.option("--date", "day", required=True, metavar="D",
              help="Date of the note; `undated` for evidence with no date (counts on every date).")
@click.option("--kind", required=True, metavar="KIND",
              help="dental_check, bone_metastasis, ofs, risk_review, holiday_review, bma_declined, … (see README).")
@click.option("--text", metavar="TEXT")
@clinic_option
@click.pass_obj
def note(state, mrn, day, kind, text, clinic) -> None:
    """A clinical note of a known kind."""
    from monitor.domain import Note
    from monitor.vocab import parse_note_kind

    when = None if day.strip().lower() == "undated" else as_date(day)
    fact = Note(kind=parse_note_kind(kind), date=when, text=text)
    _store(state, mrn, clinic, fact)
    click.echo(f"Recorded {fact.kind} note {'(undated)' if when is None else 'on ' + str(when)} for {mrn}.")
