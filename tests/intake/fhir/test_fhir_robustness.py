"""FHIR import never crashes: every element of typical resources replaced by a value of the wrong shape."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from monitor.intake.fhir import read_fhir
from monitor.intake.fhir.fields import MapConfig
from monitor.intake.fhir.mapping import map_resource
from monitor.settings import load_settings

SETTINGS = load_settings()
SUBJECT = {"reference": "Patient/p1"}
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
WRONG: list[Any] = [None, 7, "x", True, [], {}, [1, "a"], {"a": {"b": 1}}, [{"reference": 5}]]

SAMPLES: list[dict] = [
    {
        "resourceType": "Patient",
        "id": "p1",
        "gender": "female",
        "birthDate": "1950-01-01",
        "deceasedDateTime": "2020-01-01",
        "identifier": [{"system": "urn:a", "value": "A1", "type": {"coding": [{"code": "MR"}]}}],
        "name": [{"use": "usual", "family": "Doe", "given": ["Ann"], "period": {"end": "2019"}}],
        "extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "F"}],
    },
    {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "80946-7"}]},
        "subject": SUBJECT,
        "effectiveDateTime": "2021-11-10T19:14:41-08:00",
        "valueQuantity": {"value": -1.62, "unit": "T-Score", "code": "1"},
        "bodySite": {"coding": [{"system": "http://snomed.info/sct", "code": "71341001:272741003=7771000"}]},
        "component": [{"code": {"coding": [{"system": "urn:bonemon:frax", "code": "hip"}]}, "valueQuantity": {}}],
    },
    {
        "resourceType": "Condition",
        "id": "c1",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "S72.001A"}]},
        "subject": SUBJECT,
        "onsetDateTime": "2022-01-01",
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "evidence": [{"code": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "W19.XXXA"}]}]}],
        "bodySite": [{"coding": [{"system": "http://snomed.info/sct", "code": "272673000"}]}],
        "extension": [{"url": "urn:bonemon:fracture-mechanism", "valueCode": "fragility"}],
    },
    {
        "resourceType": "MedicationRequest",
        "id": "m1",
        "status": "stopped",
        "intent": "order",
        "subject": SUBJECT,
        "authoredOn": "2020-01-01",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "199224"}]},
        "dosageInstruction": [
            {
                "timing": {
                    "repeat": {
                        "boundsPeriod": {"start": "2020-01-02", "end": "2021-01-01"},
                        "period": 6,
                        "periodUnit": "mo",
                    }
                },
                "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}],
                "route": {"coding": [{"system": "http://snomed.info/sct", "code": "26643006"}]},
            }
        ],
    },
    {
        "resourceType": "MedicationDispense",
        "id": "d1",
        "status": "completed",
        "subject": SUBJECT,
        "whenHandedOver": "2020-02-01",
        "daysSupply": {"value": 30},
        "medicationReference": {"reference": "#med"},
        "contained": [
            {"resourceType": "Medication", "id": "med", "code": {"coding": [{"system": RXNORM, "code": "904419"}]}}
        ],
    },
    {
        "resourceType": "MedicationAdministration",
        "id": "a1",
        "status": "completed",
        "subject": SUBJECT,
        "effectivePeriod": {"start": "2020-03-01"},
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "993452"}]},
        "dosage": {"dose": {"value": 60, "unit": "mg"}},
    },
    {
        "resourceType": "MedicationStatement",
        "id": "s1",
        "status": "completed",
        "subject": SUBJECT,
        "effectivePeriod": {"start": "2019-01-01", "end": "2020-01-01"},
        "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "L02BG06"}]},
    },
    {
        "resourceType": "Procedure",
        "id": "pr1",
        "status": "completed",
        "subject": SUBJECT,
        "performedPeriod": {"start": "2010-01-01"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "29827000"}]},
    },
]


def _paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    if path:
        yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def _mutations(sample: dict) -> Iterator[tuple[str, dict]]:
    for path in _paths(sample):
        if path == ("resourceType",):
            continue
        for wrong in WRONG:
            r = copy.deepcopy(sample)
            target = r
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = wrong
            yield f"{'.'.join(map(str, path))} = {json.dumps(wrong)}", r


def test_every_sample_maps_cleanly_before_it_is_broken():
    outcomes = [map_resource(r, None, MapConfig()).status for r in SAMPLES]
    assert outcomes == ["patient", "facts", "facts", "facts", "facts", "facts", "facts", "facts"]


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["resourceType"] for s in SAMPLES])
def test_an_element_of_the_wrong_shape_never_raises_and_is_named_when_refused(sample):
    for name, resource in _mutations(sample):
        out = map_resource(resource, None, MapConfig())
        assert out.status in ("patient", "facts", "medref", "ignored", "rejected", "medication"), name
        assert out.status != "rejected" or out.reason, name
        assert "malformed element" not in out.reason, f"{name}: {out.reason}"


def test_a_file_of_broken_resources_is_read_to_the_end(tmp_path):
    broken = [r for sample in SAMPLES for _, r in _mutations(sample)]
    path = tmp_path / "broken.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in [SAMPLES[0], *broken]) + "\n")
    imp = read_fhir([path], fhir=SETTINGS.fhir, policy=SETTINGS.policy, today=date(2026, 11, 25))
    report = imp.files[0]
    assert not report.fatal
    assert report.read == 1 + len(broken) == report.imported + report.ignored + report.rejected
