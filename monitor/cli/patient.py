"""`bonemon patient add|update|show|list`."""

from __future__ import annotations

import click

from monitor.cli.options import as_date, clinic_option, emit_json, json_option


@click.group()
def patient() -> None:
    """Add, change, show and list patients."""


@patient.command("add")
@click.argument("mrn")
@click.option("--birth-date", required=True, metavar="D", help="Date of birth, YYYY-MM-DD.")
@click.option("--name", metavar="TEXT")
@click.option("--phone", metavar="TEXT", help="Contact for the worklist (phone or e-mail).")
@click.option("--sex", default="female", show_default=True, metavar="female|male")
@click.option("--clinic", metavar="TEXT", help="Clinic (default from config.toml).")
@click.option("--menopause", default="unknown", show_default=True, metavar="post|pre|unknown")
@click.pass_obj
def add(state, mrn, birth_date, name, phone, sex, clinic, menopause) -> None:
    """Add a patient. MRNs are unique per clinic."""
    from monitor.app import patients
    from monitor.core.domain import Menopause, Patient, Sex
    from monitor.core.vocab import choose
    from monitor.intake.validate import check_mrn

    p = Patient(
        mrn=check_mrn(mrn), birth_date=as_date(birth_date, "birth-date"),
        sex=choose(Sex, sex, "sex"), menopause=choose(Menopause, menopause, "menopause"),
        clinic=(clinic or state.settings.clinic.default_clinic).strip(), name=name, phone=phone,
    )
    with state.write() as session:
        patients.add_patient(session, state.context(), p)
    click.echo(f"Added patient {p.mrn} (clinic {p.clinic}).")


@patient.command("update")
@click.argument("mrn")
@click.option("--name", metavar="TEXT")
@click.option("--phone", metavar="TEXT")
@click.option("--new-clinic", "new_clinic", metavar="TEXT", help="Move the patient to this clinic.")
@clinic_option
@click.option("--menopause", metavar="post|pre|unknown")
@click.option("--sex", metavar="female|male")
@click.option("--birth-date", metavar="D")
@click.option("--deceased-date", metavar="D", help="Date of death: she leaves the pathway on that date.")
@click.pass_obj
def update(state, mrn, name, phone, new_clinic, clinic, menopause, sex, birth_date, deceased_date) -> None:
    """Change a patient's details. `--clinic` alone moves her when the MRN is in one clinic only."""
    from db.queries import find_patient
    from monitor.app import patients
    from monitor.core.domain import Menopause, Sex
    from monitor.core.errors import NotFound
    from monitor.core.vocab import choose

    changes = {
        "name": name,
        "phone": phone,
        "menopause": choose(Menopause, menopause, "menopause") if menopause else None,
        "sex": choose(Sex, sex, "sex") if sex else None,
        "birth_date": as_date(birth_date, "birth-date"),
        "deceased_date": as_date(deceased_date, "deceased-date"),
    }
    with state.write() as session:
        lookup_clinic = clinic
        if clinic and not new_clinic:
            # docs/cli.md: `patient update MRN --clinic TEXT` changes the clinic.
            try:
                find_patient(session, mrn, clinic)
            except NotFound:  # not in that clinic: it is the clinic to move her to
                lookup_clinic, changes["clinic"] = None, clinic
        if new_clinic:
            changes["clinic"] = new_clinic
        after = patients.update_patient(session, state.context(), mrn, lookup_clinic, **changes)
    click.echo(f"Updated patient {after.mrn} (clinic {after.clinic}).")


@patient.command("show")
@click.argument("mrn")
@click.option("--as-of", metavar="D", help="Evaluate as of this date (default: today in the clinic's zone).")
@clinic_option
@json_option
@click.pass_obj
def show(state, mrn, as_of, clinic, as_json) -> None:
    """Tier, reasons, flags, tasks and alerts of one patient as of a date."""
    from monitor.app.patients import patient_view

    with state.read() as session:
        ctx = state.context()
        doc = patient_view(session, ctx, mrn, clinic=clinic, as_of=as_date(as_of, "as-of") or ctx.today)
    if as_json:
        emit_json(doc)
    else:
        from monitor.cli.patient_text import render_patient

        click.echo(render_patient(doc))


@patient.command("list")
@clinic_option
@click.option("--tier", metavar="low|moderate|high|unknown")
@click.option("--as-of", metavar="D")
@json_option
@click.pass_obj
def list_(state, clinic, tier, as_of, as_json) -> None:
    """Patients with their tier and AI status as of a date."""
    from monitor.app.patients import patient_list
    from monitor.core.domain import Tier
    from monitor.core.vocab import choose

    wanted = choose(Tier, tier, "tier") if tier else None
    with state.read() as session:
        ctx = state.context()
        rows = patient_list(session, ctx, clinic=clinic, tier=wanted, as_of=as_date(as_of, "as-of") or ctx.today)
    if as_json:
        emit_json({"patients": rows})
        return
    from monitor.cli.patient_text import render_patient_list

    click.echo(render_patient_list(rows))
