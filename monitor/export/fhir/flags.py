"""Alerts as Flags: bonemon's alert code, its severity (and the matching flag-priority), since when."""

from __future__ import annotations

from monitor.core.domain import Alert, Severity
from monitor.export.fhir.codes import ALERT_SYSTEM, FLAG_CATEGORY, FLAG_PRIORITY, FLAG_PRIORITY_EXT, SEVERITY_EXT
from monitor.export.fhir.writer import BundleWriter, coding, concept

FLAG_PRIORITY_CODES = {Severity.BLOCK: ("PH", "High priority"), Severity.CRITICAL: ("PH", "High priority"),
                       Severity.HIGH: ("PM", "Medium priority"), Severity.WARN: ("PL", "Low priority")}


def flag(w: BundleWriter, alert: Alert) -> None:
    priority, display = FLAG_PRIORITY_CODES[alert.severity]
    w.add({
        "resourceType": "Flag", "id": w.ids.make("flag", alert.code, alert.since),
        "extension": [
            {"url": FLAG_PRIORITY_EXT, "valueCodeableConcept": concept(coding(FLAG_PRIORITY, priority, display))},
            {"url": SEVERITY_EXT, "valueCode": alert.severity.value},
        ],
        "status": "active",
        "category": [concept(coding(FLAG_CATEGORY, "clinical", "Clinical"))],
        "code": concept(coding(ALERT_SYSTEM, alert.code), text=alert.message),
        "subject": w.patient_ref, "period": {"start": alert.since.isoformat()},
    })
