"""FHIR R4 import (and, later, export).

`monitor.intake.fhir.reader.read_fhir` turns FHIR R4 JSON files (Bundles of any type, a bare resource,
a JSON array of resources, NDJSON bulk exports) into `PatientFacts` plus a per-file report.
`looks_like_fhir` is the cheap sniff the CLI uses to tell FHIR from CSV.

Modules: `containers` reads the file shapes (streaming); `codes` holds the code tables;
`mapping` dispatches one resource to `patients`, `observations`, `conditions` or `medications`
(helpers in `fields`), which return draft facts; `identity` groups patients and resolves
references; `merge` joins the parts of one measurement or therapy; `reader` runs the two passes,
validates (monitor.intake.validate) and reports. Nothing here imports a database or reads the clock;
fhir.resources (R4B) is imported only when `[fhir] validate_r4b` asks for it.
"""

from __future__ import annotations

__all__ = ["FhirImport", "FileReport", "Problem", "looks_like_fhir", "read_fhir"]


def __getattr__(name: str):  # lazy: `import monitor.intake.fhir` stays cheap for `bonemon --help`
    if name in __all__:
        from monitor.intake.fhir import reader

        return getattr(reader, name)
    raise AttributeError(name)
