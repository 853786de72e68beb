"""What an import tells its user, per file (the `import --json` shape of docs/cli.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ERROR = "error"  # the record or file was refused
WARNING = "warning"  # imported, but worth reading (patients merged or kept apart, partial dates)


@dataclass
class Problem:
    where: str  # "file:line" (CSV) or "file#ResourceType/id" (FHIR)
    message: str
    severity: str = ERROR


@dataclass
class FileReport:
    path: str
    read: int = 0
    imported: int = 0
    ignored: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    ignored_by: dict[str, int] = field(default_factory=dict)
    unknown_codes: list[str] = field(default_factory=list)
    fatal: bool = False  # the whole file was refused (not CSV or FHIR, unreadable, truncated)

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path, "read": self.read, "imported": self.imported, "ignored": self.ignored,
            "rejected": self.rejected,
            "problems": [{"where": p.where, "message": p.message, "severity": p.severity} for p in self.problems],
            "ignored_by": dict(sorted(self.ignored_by.items())), "unknown_codes": sorted(set(self.unknown_codes)),
            "fatal": self.fatal,
        }
