"""Who is who in one import: patient records grouped by identifier, unique MRNs, and references.

A patient found in several files is one patient when the identifier the MRN comes from is the same
and birth date and sex agree (an unknown sex agrees with any). The same identifier with another
birth date or sex is kept apart under a suffixed MRN (value~birth-date, value~birth-date~sex,
value~resource-id), with a warning: identifiers are not unique across sources (CMS249's test
cases all use 999999995; both mCODE TrialMatching patients use a123).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qs, unquote

from monitor.core.domain import Patient, Sex
from monitor.intake.fhir.fields import Ref
from monitor.intake.fhir.patients import PatientRecord
from monitor.intake.validate import MAX_MRN


@dataclass(slots=True)
class PatientRec:
    record: PatientRecord
    file: int
    where: str
    group: PatientGroup | None = None


@dataclass(slots=True)
class PatientGroup:
    recs: list[PatientRec]
    birth_date: date
    sex: Sex
    mrn: str = ""
    patient: Patient | None = None
    refused: str | None = None
    facts: dict[str, list[tuple[Any, Any]]] = field(default_factory=dict)


def group_patients(records: list[PatientRec]) -> tuple[list[PatientGroup], list[tuple[PatientRec, str]]]:
    """Patients of one import grouped by identifier; the same identifier with another birth date or
    sex starts a new group. Each group gets a unique MRN. Returns the groups and the notes to report
    (merged, kept apart, MRN suffixed)."""
    notes: list[tuple[PatientRec, str]] = []
    groups: list[PatientGroup] = []
    by_key: dict[tuple[str, str], list[PatientGroup]] = {}
    for rec in records:
        r = rec.record
        same_key = by_key.setdefault(r.id_key, [])
        group = next((g for g in same_key if g.birth_date == r.birth_date and _sex_fits(g.sex, r.sex)), None)
        if group is None:
            group = PatientGroup([rec], r.birth_date, r.sex)
            if same_key:
                first = same_key[0].recs[0]
                what = "birth date" if first.record.birth_date != r.birth_date else "sex"
                notes.append(
                    (
                        rec,
                        f"identifier {_ident(r.id_key)} is also used by {first.where} with another {what}"
                        f" ({_person(first.record)} vs {_person(r)}): kept apart as a different patient",
                    )
                )
            same_key.append(group)
            groups.append(group)
            continue
        first = group.recs[0]
        if r.rid != first.record.rid or r.source != first.record.source:
            notes.append((rec, f"merged with {first.where} (same identifier {_ident(r.id_key)}, birth date and sex)"))
        if group.sex is Sex.UNKNOWN:
            group.sex = r.sex
        group.recs.append(rec)
    used: set[str] = set()
    births: dict[str, set[date]] = {}
    for g in groups:
        g.mrn = _unique_mrn(g, used, births.setdefault(g.recs[0].record.mrn, set()))
        used.add(g.mrn)
        births[g.recs[0].record.mrn].add(g.birth_date)
        base = g.recs[0].record.mrn
        if g.mrn != base:
            notes.append((g.recs[0], f"MRN {base!r} is already taken in this import: stored as {g.mrn!r}"))
    for g in groups:
        for rec in g.recs:
            rec.group = g
    return groups, notes


class PatientIndex:
    """Where a subject reference can point: per-file fullUrl and id, global id, identifiers."""

    def __init__(self, records: list[PatientRec]):
        self.by_url: dict[tuple[int, str], PatientRec] = {}
        self.by_local_id: dict[tuple[int, str], PatientRec] = {}
        self.by_id: dict[str, list[PatientRec]] = {}
        self.by_ident: dict[str, list[tuple[str, PatientRec]]] = {}
        for rec in records:
            r = rec.record
            if r.full_url:
                self.by_url.setdefault((rec.file, r.full_url), rec)
            if r.rid:
                self.by_local_id.setdefault((rec.file, r.rid), rec)
                self.by_id.setdefault(r.rid, []).append(rec)
            for system, value, _mr in r.identifiers:
                self.by_ident.setdefault(value, []).append((system, rec))

    def find(self, ref: Ref | None, file: int) -> tuple[PatientRec | None, str]:
        if ref is None:
            return None, "no subject"
        text = ref.reference
        if text:
            if text.startswith("#"):
                return None, f"subject {text!r} is a contained resource, not a Patient in this import"
            if (file, text) in self.by_url:
                return self.by_url[(file, text)], ""
            if text.startswith(("urn:uuid:", "urn:oid:")):
                rid = text.split(":", 2)[2]
                return self._by_id(rid, file, text)
            if "?" in text:
                rtype, _, query = text.partition("?")
                if rtype.rsplit("/", 1)[-1] != "Patient":
                    return None, f"subject {text!r} does not point to a Patient"
                params = parse_qs(query)
                if "identifier" in params:
                    system, _, value = unquote(params["identifier"][0]).rpartition("|")
                    return self._by_identifier(system, value, text)
                if "_id" in params:
                    return self._by_id(params["_id"][0], file, text)
                return None, f"subject {text!r}: only identifier= and _id= conditional references are understood"
            parts = [p for p in re.sub(r"/_history/[^/]+$", "", text).split("/") if p]
            if len(parts) >= 2:
                if parts[-2] != "Patient":
                    return None, f"subject {text!r} is a {parts[-2]}, not a Patient"
                return self._by_id(parts[-1], file, text)
            return None, f"subject {text!r} is not a reference this importer understands"
        if ref.identifier:
            return self._by_identifier(ref.identifier[0], ref.identifier[1], str(ref))
        return None, "empty subject reference"

    def _by_id(self, rid: str, file: int, text: str) -> tuple[PatientRec | None, str]:
        if (file, rid) in self.by_local_id:
            return self.by_local_id[(file, rid)], ""
        return self._one(self.by_id.get(rid, []), text)

    def _by_identifier(self, system: str, value: str, text: str) -> tuple[PatientRec | None, str]:
        found = [rec for s, rec in self.by_ident.get(value, []) if not system or s == system]
        return self._one(found, text)

    @staticmethod
    def _one(found: list[PatientRec], text: str) -> tuple[PatientRec | None, str]:
        groups = {id(rec.group) for rec in found}
        if not found:
            return None, (
                f"subject {text!r} is not in this import: no Patient with that id, fullUrl or identifier"
                " was read (import the patient's file too)"
            )
        if len(groups) > 1:
            return None, f"subject {text!r} is ambiguous: it matches {len(groups)} different patients in this import"
        return found[0], ""


def type_id(ref: str) -> str | None:
    parts = [p for p in re.sub(r"/_history/[^/]+$", "", ref).split("/") if p]
    return f"{parts[-2]}/{parts[-1]}" if len(parts) >= 2 else None


def _sex_fits(a: Sex, b: Sex) -> bool:
    return a is b or Sex.UNKNOWN in (a, b)


def _ident(key: tuple[str, str]) -> str:
    system, value = key
    return value if system in ("", "#id") else f"{system}|{value}"


def _person(r: PatientRecord) -> str:
    return f"born {r.birth_date}, {r.sex.value}"


def _unique_mrn(g: PatientGroup, used: set[str], taken_births: set[date]) -> str:
    """The identifier's value; when another patient of this import has it: value~birth-date (value~birth~sex
    when the birth date is shared too), then value~resource-id, then value~N."""
    for candidate in _mrn_candidates(g, taken_births):
        mrn = candidate
        if len(mrn) > MAX_MRN:
            mrn = f"{mrn[: MAX_MRN - 13]}~{hashlib.sha1(mrn.encode()).hexdigest()[:12]}"
        if mrn not in used:
            return mrn
    raise AssertionError("unreachable: the numbered candidates never end")


def _mrn_candidates(g: PatientGroup, taken_births: set[date]) -> Iterator[str]:
    base = g.recs[0].record.mrn
    yield base
    if g.birth_date not in taken_births:
        yield f"{base}~{g.birth_date}"
    yield f"{base}~{g.birth_date}~{g.sex.value}"
    if g.recs[0].record.rid:
        yield f"{base}~{g.recs[0].record.rid}"
    for n in itertools.count(2):
        yield f"{base}~{n}"
