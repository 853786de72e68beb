"""The small error hierarchy; the CLI maps every MonitorError to one `Error: ...` line and exit 1."""

from __future__ import annotations


class MonitorError(Exception):
    """A problem the user can fix; its message is shown as is. `field` names the input it concerns."""

    def __init__(self, message: str = "", *, field: str | None = None):
        super().__init__(message)
        self.field = field


class ConfigError(MonitorError):
    """config.toml is wrong: unknown key, wrong type, impossible value."""


MAX_SHOWN = 60  # characters of a bad value quoted back to the user


class DataError(MonitorError):
    """A value that is not allowed. Names the field, the value and what is allowed."""

    def __init__(self, field: str, value: object, allowed: str, *, where: str | None = None):
        self.value = value
        self.allowed = allowed
        self.where = where
        prefix = f"{where}: " if where else ""
        shown = str(value)
        if len(shown) > MAX_SHOWN:
            shown = shown[:MAX_SHOWN] + f"… ({len(shown)} characters)"
        shown = shown.replace("\n", " ").replace("\r", " ")
        super().__init__(f"{prefix}{field}: {shown} is not allowed; {allowed}", field=field)


class NotFound(MonitorError):
    """An unknown patient, task or course."""


class Conflict(MonitorError):
    """The request contradicts what is stored (duplicate MRN, second open course, ...)."""
