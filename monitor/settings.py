"""config.toml → frozen Settings (edge: reads files and the environment, nothing else).

The packaged `config.toml` holds every value; a user file given by `--config`, `BONEMON_CONFIG`
or `./config.toml` overrides any subset of it. An unknown section or key, or a value of the
wrong type, is a ConfigError naming the key, the value and the file.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.core.errors import ConfigError
from monitor.core.policy import POLICY_SECTIONS, Policy, key

PACKAGED_CONFIG = Path(__file__).with_name("config.toml")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = key(
        "URL", "database URL; SQLite file by default, postgresql+psycopg://… for shared use", "docs/config.md")
    busy_timeout_ms: int = key("ms", "how long SQLite waits for a lock before reporting it", "docs/cli.md")


@dataclass(frozen=True)
class ClinicSettings:
    timezone: str = key("IANA zone", "the clinic's calendar day comes from this zone", "docs/config.md")
    default_clinic: str = key("name", "clinic given to patients added without --clinic", "docs/cli.md")


@dataclass(frozen=True)
class SchedulerSettings:
    daily_at: str = key("HH:MM", "local time of the daily run (avoid 01:00–03:59 for DST)", "docs/cli.md")
    catch_up: str = key("mode", "missed business dates to run on start", "docs/cli.md", ("all", "latest"))
    misfire_grace_seconds: int = key("seconds", "APScheduler misfire grace time", "docs/cli.md")
    lease_seconds: int = key("seconds", "how long a scheduler's lease lasts without renewal", "docs/cli.md")
    batch_size: int = key("patients", "patients replanned per batch", "docs/cli.md")


@dataclass(frozen=True)
class TaskSettings:
    snooze_max_days: int = key("days", "a snooze may last at most this long", "STATUS")


@dataclass(frozen=True)
class ReminderSettings:
    escalate_high_after_days: int = key("days", "an overdue task this long is escalated to high", "STATUS")
    escalate_critical_after_days: int = key("days", "an overdue task this long is escalated to critical", "STATUS")


@dataclass(frozen=True)
class FhirSettings:
    mrn_system: str = key("URI", "Patient.identifier system used as MRN; empty = first identifier", "docs/formats.md")
    frax_system: str = key("URI", "local code system of FRAX Observations", "docs/formats.md")
    max_resource_mb: int = key(
        "MB", "a FHIR resource (NDJSON line, Bundle entry) over this is refused", "docs/formats.md")
    validate_r4b: bool = key(
        "bool", "also validate mapped resources with fhir.resources R4B (strict, slow)", "docs/formats.md")


@dataclass(frozen=True)
class Settings:
    policy: Policy
    database: DatabaseSettings
    clinic: ClinicSettings
    scheduler: SchedulerSettings
    tasks: TaskSettings
    reminders: ReminderSettings
    fhir: FhirSettings
    source: str = "packaged defaults"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.clinic.timezone)


OTHER_SECTIONS: dict[str, type] = {
    "database": DatabaseSettings,
    "clinic": ClinicSettings,
    "scheduler": SchedulerSettings,
    "tasks": TaskSettings,
    "reminders": ReminderSettings,
    "fhir": FhirSettings,
}
ALL_SECTIONS: dict[str, type] = {**POLICY_SECTIONS, **OTHER_SECTIONS}


def registry() -> list[tuple[str, str, dataclasses.Field]]:
    """Every config key as (section, key, field); docs/config.md's table is generated from it."""
    return [(name, f.name, f) for name, cls in ALL_SECTIONS.items() for f in dataclasses.fields(cls)]


def _type_ok(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_type_ok(v, item) for v in value)
    if origin is dict:
        k, v = typing.get_args(hint)
        return isinstance(value, dict) and all(_type_ok(a, k) and _type_ok(b, v) for a, b in value.items())
    if isinstance(hint, types.UnionType):
        return any(_type_ok(value, h) for h in typing.get_args(hint))
    raise TypeError(f"unsupported config type {hint!r}")


def _type_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)


def _build_section(name: str, cls: type, data: dict[str, Any], file: str) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for k in data:
        if k not in known:
            raise ConfigError(f"{file}: unknown key [{name}] {k}; known keys: {', '.join(sorted(known))}")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            raise ConfigError(f"{file}: missing key [{name}] {f.name} ({f.metadata['help']})")
        value = data[f.name]
        if not _type_ok(value, hints[f.name]):
            raise ConfigError(
                f"{file}: [{name}] {f.name} = {value!r} has the wrong type; expected {_type_name(hints[f.name])}"
                f" ({f.metadata['unit']})"
            )
        if hints[f.name] is float:
            value = float(value)
        choices = f.metadata["choices"]
        if choices and value not in choices:
            raise ConfigError(f"{file}: [{name}] {f.name} = {value!r}; allowed: {', '.join(choices)}")
        values[f.name] = value
    return cls(**values)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the config file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _merge(base: dict[str, Any], override: dict[str, Any], file: str) -> dict[str, Any]:
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, body in override.items():
        if section not in ALL_SECTIONS:
            raise ConfigError(f"{file}: unknown section [{section}]; known: {', '.join(ALL_SECTIONS)}")
        if not isinstance(body, dict):
            raise ConfigError(f"{file}: [{section}] must be a table of keys")
        merged.setdefault(section, {}).update(body)
    return merged


def _check_values(s: Settings, file: str) -> None:
    try:
        ZoneInfo(s.clinic.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{file}: [clinic] timezone = {s.clinic.timezone!r} is not an IANA zone name") from None
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", s.scheduler.daily_at):
        raise ConfigError(f"{file}: [scheduler] daily_at = {s.scheduler.daily_at!r}; expected HH:MM (24 h)")
    from monitor.core.vocab import MARKER_UNITS

    for k in ("panel", "accepted"):
        for analyte in getattr(s.policy.btm, k):
            if analyte not in MARKER_UNITS:
                raise ConfigError(f"{file}: [btm] {k} has {analyte!r}; allowed: {', '.join(MARKER_UNITS)}")
    for section_name, key_name, f in registry():
        section = getattr(s.policy, section_name, None) or getattr(s, section_name)
        value = getattr(section, key_name)
        if f.metadata["unit"] in NON_NEGATIVE_UNITS and isinstance(value, int | float) and value < 0:
            raise ConfigError(f"{file}: [{section_name}] {key_name} = {value!r}; must be 0 or more")
        if (section_name, key_name) in AT_LEAST_ONE and value < 1:
            raise ConfigError(f"{file}: [{section_name}] {key_name} = {value!r}; must be 1 or more")
    r = s.policy.risk
    if not r.osteoporosis_t_max < r.normal_t_min:
        raise ConfigError(f"{file}: [risk] osteoporosis_t_max must be below normal_t_min")


NON_NEGATIVE_UNITS = {"days", "months", "years", "seconds", "ms", "patients", "doses", "vertebrae", "factors",
                      "mg", "MB", "mL/min", "mL/min/1.73m²", "mmol/L", "ng/mL", "ng/L", "kg/m²", "cm", "%",
                      "%/year", "fraction"}
AT_LEAST_ONE = {("scheduler", "batch_size"), ("scheduler", "lease_seconds"), ("tasks", "snooze_max_days"),
                ("database", "busy_timeout_ms"), ("risk", "lumbar_min_vertebrae"), ("fhir", "max_resource_mb")}


def resolve_config_path(explicit: str | None) -> Path | None:
    """--config, else BONEMON_CONFIG, else ./config.toml when present, else only the packaged defaults."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("BONEMON_CONFIG")
    if env:
        return Path(env)
    local = Path("config.toml")
    return local if local.is_file() else None


def load_settings(path: str | Path | None = None) -> Settings:
    data = _read_toml(PACKAGED_CONFIG)
    file = str(PACKAGED_CONFIG)
    if path is not None:
        p = Path(path)
        if p.resolve() != PACKAGED_CONFIG.resolve():
            file = str(p)
            data = _merge(data, _read_toml(p), file)
    sections = {name: _build_section(name, cls, data.get(name, {}), file) for name, cls in ALL_SECTIONS.items()}
    policy = Policy(**{name: sections[name] for name in POLICY_SECTIONS})
    settings = Settings(policy=policy, source=file, **{name: sections[name] for name in OTHER_SECTIONS})
    _check_values(settings, file)
    return settings


def default_policy() -> Policy:
    return load_settings().policy
