"""`bonemon record dose|dxa|marker|fracture|frax|lab|vitals|note`: one clinical fact per command."""

from __future__ import annotations

from typing import Any

import click

from monitor.cli.options import clinic_option

DATE_HELP = "Date of the event, YYYY-MM-DD (not in the future)."


@click.group()
def record() -> None:
    """Record a dose, DXA, marker, fracture, FRAX, lab, vitals or note."""


def _store(state, mrn: str, clinic: str | None, record_type: str, **cells: Any) -> Any:
    """Parse the options with the same builder the CSV importer uses, then store the fact."""
    from monitor.app import facts
    from monitor.intake.factbuild import BUILDERS

    texts = {k: (None if v is None else str(v)) for k, v in cells.items() if not isinstance(v, bool)}
    texts.update({k: ("true" if v else "false") for k, v in cells.items() if isinstance(v, bool)})
    fact, extra = BUILDERS[record_type](texts, state.settings.policy)
    with state.write() as session:
        facts.record_fact(session, state.context(), mrn, fact, clinic=clinic, extra=extra)
    return fact


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
    fact = _store(state, mrn, clinic, "dose", drug=drug, date=day, dose_mg=dose_mg, days_supply=days_supply,
                  route=route)
    click.echo(f"Recorded {fact.drug} dose on {fact.date} for {mrn}.")



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
    fact = _store(state, mrn, clinic, "dxa", date=day, site=site, t_score=t_score, bmd=bmd, z_score=z_score,
                  side=side, scanner=scanner, vertebrae=vertebrae, invalid=invalid)
    click.echo(f"Recorded DXA {fact.site} on {fact.date} for {mrn}.")



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
    fact = _store(state, mrn, clinic, "marker", date=day, analyte=analyte, value=value, unit=unit)
    click.echo(f"Recorded {fact.analyte} {fact.value:g} {fact.unit} on {fact.date} for {mrn}.")



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
    fact = _store(state, mrn, clinic, "lab", date=day, analyte=analyte, value=value, unit=unit)
    click.echo(f"Recorded {fact.analyte} {fact.value:g} {fact.unit} on {fact.date} for {mrn}.")



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
    fact = _store(state, mrn, clinic, "fracture", date=day, site=site, mechanism=mechanism,
                  genant_grade=genant_grade)
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
    cells = {"date": day, "hip": hip, "mof": mof, "model": model}
    if with_bmd is not None:
        cells["with_bmd"] = with_bmd
    fact = _store(state, mrn, clinic, "frax", **cells)
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
    fact = _store(state, mrn, clinic, "vitals", date=day, weight_kg=weight_kg, height_cm=height_cm, bmi=bmi,
                  waist_cm=waist_cm)
    click.echo(f"Recorded vitals on {fact.date} for {mrn}.")



@record.command("note")
@click.argument("mrn")
@click.option("--date", "day", required=True, metavar="D",
              help="Date of the note; `undated` for evidence with no date (counts on every date).")
@click.option("--kind", required=True, metavar="KIND",
              help="dental_check, bone_metastasis, ofs, risk_review, holiday_review, bma_declined, … (docs/cli.md).")
@click.option("--text", metavar="TEXT")
@clinic_option
@click.pass_obj
def note(state, mrn, day, kind, text, clinic) -> None:
    """A clinical note of a known kind."""
    fact = _store(state, mrn, clinic, "note", date=day, kind=kind, text=text)
    when = "(undated)" if fact.date is None else f"on {fact.date}"
    click.echo(f"Recorded {fact.kind} note {when} for {mrn}.")
