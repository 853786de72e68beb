"""One patient → one FHIR R4 transaction Bundle (`bonemon export fhir`): her record, her plan, her alerts.

Pure: PatientFacts + the Assessment and Plan as of a date (+ what staff did to the stored tasks) in,
a JSON-ready dict out; no database, no clock. The importer (monitor.intake.fhir.reader) reads the facts
back: every code written here is one it maps, or a bonemon local code (`urn:bonemon:...`) that it
lists as unknown and ignores rather than guesses.

Shape (docs/formats.md "FHIR R4 export" has the table):

- Bundle.type `transaction`; every entry is `PUT Type/id`, so loading the same export into a FHIR
  server twice updates the resources instead of duplicating them. fullUrl is `urn:uuid:` (a UUIDv5
  of Type/id) and references inside the Bundle use it.
- Resource ids are deterministic and database-independent: a tag and a SHA-1 of clinic, MRN and
  the fact's natural key (DXA: date, site, side; lab: date, analyte; task: rule, anchor; ...), with
  an ordinal when two facts share one. The same facts export byte for byte the same; a corrected
  value keeps its id; nothing depends on row ids except the Task's `urn:bonemon:task-id` identifier.
- Patient; the facts as Observation (DXA ROI with T/Z/BMD components, marker, lab, vitals, FRAX,
  notes), Condition (fracture, bone metastasis), MedicationStatement (course or plan),
  MedicationAdministration / MedicationDispense (dose; a dispense when it has a days supply);
  one CarePlan (tier, reasons, flags, valid_until); per task a ServiceRequest (what is due, code,
  target date) and a Task (businessStatus = bonemon status, restriction.period = earliest..latest,
  focus → the ServiceRequest); per alert a Flag (code, severity, since).

Modules: `bundle` (patient_bundle: the order of the entries), `writer` (ids, entries, datatypes,
ExportOptions), `codes` (code system URLs), and one per resource group: `patient`, `medications`,
`observations`, `conditions`, `careplan` (CarePlan, ServiceRequest, Task), `flags`. Each resource
module holds the code tables it writes.
"""
