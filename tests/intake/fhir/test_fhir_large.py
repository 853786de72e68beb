"""FHIR import of large files: memory follows the facts kept, not the file size.

The NDJSON file is ~50 MB, like one Observation file of a bulk export; the Bundle is ~10 MB. Both
are written to tmp_path by the test. Marked `slow` (about 10 s together on a laptop).
"""

from __future__ import annotations

import json
import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from monitor.core.domain import DxaSite
from monitor.intake.fhir import read_fhir
from monitor.settings import load_settings

pytestmark = pytest.mark.slow

TODAY = date(2026, 11, 25)
SETTINGS = load_settings()
NARRATIVE = "narrative " * 320  # real exports often carry a generated text.div
OBSERVATIONS_PER_PATIENT = 100
# (LOINC, value, unit) by observation number modulo 20: three kinds are facts, the rest is noise
KINDS = {0: ("29463-7", "61.5", "kg"), 1: ("38265-5", "-2.65", "{T-score}"), 2: ("38483-4", "0.9", "mg/dL")}
NOISE = ("8867-4", "72", "/min")


def _patient(n: int) -> dict:
    return {
        "resourceType": "Patient",
        "id": f"p{n}",
        "gender": "female",
        "birthDate": "1950-01-01",
        "identifier": [{"system": "urn:oid:1.2.3", "value": f"M{n}"}],
    }


def _observation(n: int, j: int) -> dict:
    code, value, unit = KINDS.get(j % 20, NOISE)
    day = f"20{10 + j % 12}-{1 + j % 12:02d}-{1 + j % 28:02d}"
    return {
        "resourceType": "Observation",
        "id": f"o{n}-{j}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/p{n}"},
        "effectiveDateTime": f"{day}T10:00:00+00:00",
        "valueQuantity": {"value": float(value), "unit": unit, "system": "http://unitsofmeasure.org", "code": unit},
        "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{NARRATIVE}</div>'},
    }


def _resources(target_bytes: int):
    size, n = 0, 0
    while size < target_bytes:
        n += 1
        for r in [_patient(n)] + [_observation(n, j) for j in range(OBSERVATIONS_PER_PATIENT)]:
            text = json.dumps(r)
            size += len(text) + 1
            yield text


def _measure(path: Path):
    tracemalloc.start()
    try:
        imp = read_fhir([path], fhir=SETTINGS.fhir, policy=SETTINGS.policy, today=TODAY)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return imp, peak


def test_a_50_mb_ndjson_export_is_streamed_with_memory_well_below_its_size(tmp_path):
    path = tmp_path / "Observation.000.ndjson"
    with path.open("w") as fh:
        for line in _resources(50_000_000):
            fh.write(line + "\n")
    size = path.stat().st_size
    imp, peak = _measure(path)
    report = imp.files[0]
    patients = len(imp.patients)
    assert report.rejected == 0 and not report.fatal
    assert report.read == patients * (1 + OBSERVATIONS_PER_PATIENT)
    assert report.imported == patients * (1 + 3 * OBSERVATIONS_PER_PATIENT // 20)
    assert report.ignored_by == {"Observation 8867-4": patients * 85}
    facts = imp.patients[0]
    assert len(facts.dxa) == 5 and all(r.site is DxaSite.UNSPECIFIED for r in facts.dxa)
    assert peak < size / 5, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"


def test_a_large_bundle_is_decoded_entry_by_entry(tmp_path):
    path = tmp_path / "bundle.json"
    with path.open("w") as fh:
        fh.write('{"resourceType": "Bundle", "type": "collection", "entry": [\n')
        for i, text in enumerate(_resources(10_000_000)):
            fh.write(("," if i else "") + '{"resource": ' + text + "}\n")
        fh.write("]}\n")
    size = path.stat().st_size
    imp, peak = _measure(path)
    report = imp.files[0]
    assert report.rejected == 0 and report.read == len(imp.patients) * (1 + OBSERVATIONS_PER_PATIENT)
    assert peak < size / 3, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"
