"""The small error hierarchy; the CLI maps every MonitorError to one `Error: ...` line and exit 1."""

from __future__ import annotations


class MonitorError(Exception):
    """A problem the user can fix; its message is shown as is."""


class ConfigError(MonitorError):
    """config.toml is wrong: unknown key, wrong type, impossible value."""


class DataError(MonitorError):
    """A value that is not allowed. Names the field, the value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str, *, where: str | None = None):
        self.field = field
        self.value = value
        self.allowed = allowed
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{field}: {value!s} is not allowed; {allowed}")


class NotFound(MonitorError):
    """An unknown patient, task or course."""


class Conflict(MonitorError):
    """The request contradicts what is stored (duplicate MRN, second open course, ...)."""
