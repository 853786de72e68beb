"""Code system and extension URLs of the export: the standard ones, and bonemon's own (`urn:bonemon:`).

The code tables themselves (which LOINC for which DXA site, ...) live with the resources that use them.
"""

from __future__ import annotations

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC_SYSTEM = "http://www.whocc.no/atc"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
UCUM = "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
FLAG_PRIORITY_EXT = "http://hl7.org/fhir/StructureDefinition/flag-priority"
FLAG_PRIORITY = "http://hl7.org/fhir/flag-priority-code"

# bonemon's local code systems and extensions (no standard code exists; docs/formats.md lists them); the importer
# (monitor.intake.fhir.codes) reads the fact ones back.
MRN_SYSTEM = "urn:bonemon:mrn"  # Patient.identifier system when [fhir] mrn_system is empty
NOTE_SYSTEM = "urn:bonemon:note-kind"  # a Note: code = NoteKind value
DXA_SITE_SYSTEM = "urn:bonemon:dxa-site"  # Observation.bodySite: code = DxaSite value
DXA_SCORE_SYSTEM = "urn:bonemon:dxa-score"  # component code t|z|bmd where LOINC has none for the site
DXA_VALID_EXT = "urn:bonemon:dxa-valid"  # valueBoolean false: the ROI was judged invalid
SCANNER_SYSTEM = "urn:bonemon:scanner"  # Observation.device.identifier: the scanner id
MARKER_SYSTEM = "urn:bonemon:marker"  # code = MarkerAnalyte value (NTX: no verified LOINC)
DRUG_SYSTEM = "urn:bonemon:drug"  # code = Drug value (oestrogen, glucocorticoid: a class, no ingredient)
MECHANISM_EXT = "urn:bonemon:fracture-mechanism"  # valueCode: Mechanism (read by the importer)
GENANT_EXT = "urn:bonemon:genant-grade"  # valueInteger 1..3
PLANNED_START_EXT = "urn:bonemon:planned-start"  # MedicationStatement: valueDate the course was planned for
MENOPAUSE_EXT = "urn:bonemon:menopause"  # Patient: valueCode post|pre
CLINIC_EXT = "urn:bonemon:clinic"  # Patient: valueString
FRAX_WITH_BMD = "with-bmd"  # component code in the [fhir] frax_system, valueBoolean
TASK_KIND_SYSTEM = "urn:bonemon:task-kind"  # code = TaskKind value
RULE_SYSTEM = "urn:bonemon:rule"  # code = the docs/rules.md id (D3, N1, ...)
TASK_STATUS_SYSTEM = "urn:bonemon:task-status"  # businessStatus: upcoming|due|overdue|done|done_late|snoozed
TASK_KEY_SYSTEM = "urn:bonemon:task"  # Task.identifier: rule@anchor (the task's identity across replans)
TASK_ID_SYSTEM = "urn:bonemon:task-id"  # Task.identifier: the stored task id (`bonemon task done ID`)
ALERT_SYSTEM = "urn:bonemon:alert"  # Flag.code: ALERT-... code
SEVERITY_EXT = "urn:bonemon:alert-severity"  # Flag: valueCode block|critical|high|warn
PLAN_EXT = "urn:bonemon:plan"  # CarePlan: complex extension (tier, provisional, reason, flag, ...)
