"""config.toml: the packaged file matches the registry; a site file overrides any subset; every mistake
is one `Error:` line naming the key (or section) and the file, exit 1, before anything is written.

Configuration does not depend on the backend, so the CLI runs here on SQLite only.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.dbfixtures")
from tests.dbfixtures import Cli, error_line, write_config  # noqa: E402

pytest_plugins = ["tests.dbfixtures"]

SQLITE_ONLY = pytest.mark.parametrize("backend_name", ["sqlite"], indirect=True)


def _keys(data: dict) -> set[tuple[str, str]]:
    return {(section, key) for section, body in data.items() for key in body}


def test_the_packaged_config_has_exactly_the_registrys_keys():
    from monitor.settings import PACKAGED_CONFIG, registry

    with PACKAGED_CONFIG.open("rb") as fh:
        packaged = tomllib.load(fh)

    assert _keys(packaged) == {(section, key) for section, key, _ in registry()}


def test_every_registry_key_declares_a_unit_and_a_help_line():
    from monitor.settings import registry

    missing = [f"[{s}] {k}" for s, k, f in registry() if not f.metadata.get("unit") or not f.metadata.get("help")]
    assert missing == []


def test_the_packaged_config_loads_without_a_site_file():
    from monitor.settings import PACKAGED_CONFIG, load_settings

    settings = load_settings()
    assert settings.source == str(PACKAGED_CONFIG)
    assert settings.tasks.snooze_max_days == 90 and settings.policy.risk.profile == "paper"


def test_a_site_file_overrides_one_key_and_keeps_the_rest(tmp_path: Path):
    from monitor.settings import load_settings

    path = write_config(tmp_path, "[tasks]\nsnooze_max_days = 14\n\n[risk]\nprofile = \"asco2019\"\n")
    settings = load_settings(path)
    assert (settings.tasks.snooze_max_days, settings.policy.risk.profile) == (14, "asco2019")
    assert settings.clinic.timezone == "Europe/London" and settings.policy.risk.normal_t_min == -1.0
    assert settings.source == str(path)


def test_an_integer_is_accepted_for_a_float_key(tmp_path: Path):
    from monitor.settings import load_settings

    settings = load_settings(write_config(tmp_path, "[risk]\nfrax_hip_threshold = 3\n"))
    assert settings.policy.risk.frax_hip_threshold == 3.0
    assert isinstance(settings.policy.risk.frax_hip_threshold, float)


@SQLITE_ONLY
def test_the_site_file_is_used_by_the_cli(cli: Cli, today, tmp_path: Path):
    config = write_config(tmp_path, "[clinic]\ndefault_clinic = \"north\"\n")
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01", config=config)
    assert cli.fetch("patient")[0]["clinic"] == "north"


@SQLITE_ONLY
def test_bonemon_config_in_the_environment_is_the_site_file(cli: Cli, today, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("BONEMON_CONFIG", str(write_config(tmp_path, "[clinic]\ndefault_clinic = \"east\"\n")))
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    assert cli.fetch("patient")[0]["clinic"] == "east"


@SQLITE_ONLY
def test_a_config_toml_in_the_working_directory_is_the_site_file(cli: Cli, today):
    write_config(cli.workdir, "[clinic]\ndefault_clinic = \"west\"\n", name="config.toml")
    cli.ok("patient", "add", "P1", "--birth-date", "1950-01-01")
    assert cli.fetch("patient")[0]["clinic"] == "west"


@SQLITE_ONLY
def test_the_database_url_comes_from_the_config_without_db(cli: Cli, tmp_path: Path):
    target = tmp_path / "from-config.db"
    config = write_config(tmp_path, f"[database]\nurl = \"sqlite:///{target}\"\n")
    result = cli.raw("--config", str(config), "init")
    assert result.exit_code == 0, result.stderr
    assert target.is_file()


BAD_CONFIG = [
    ("unknown-section", "[colour]\nscheme = \"dark\"\n", ["unknown section [colour]"]),
    ("unknown-key", "[tasks]\nsnooze_max = 10\n", ["unknown key [tasks] snooze_max", "snooze_max_days"]),
    ("string-for-int", "[tasks]\nsnooze_max_days = \"90\"\n", ["[tasks] snooze_max_days", "'90'", "int"]),
    ("bool-for-int", "[tasks]\nsnooze_max_days = true\n", ["[tasks] snooze_max_days", "True", "int"]),
    ("float-for-int", "[tasks]\nsnooze_max_days = 9.5\n", ["[tasks] snooze_max_days", "9.5", "int"]),
    ("int-for-str", "[clinic]\ntimezone = 5\n", ["[clinic] timezone", "5", "str"]),
    ("string-for-float", "[risk]\nfrax_hip_threshold = \"3%\"\n", ["[risk] frax_hip_threshold", "'3%'", "float"]),
    ("string-for-list", "[btm]\npanel = \"ctx\"\n", ["[btm] panel", "'ctx'", "list"]),
    ("bad-choice", "[risk]\nprofile = \"foo\"\n", ["[risk] profile", "'foo'", "paper, hadji2017, asco2019"]),
    ("bad-catch-up-choice", "[scheduler]\ncatch_up = \"some\"\n", ["[scheduler] catch_up", "'some'", "all"]),
    ("unknown-analyte-in-a-list", "[btm]\npanel = [\"ctx\", \"osteocalcin\"]\n",
     ["[btm] panel", "'osteocalcin'", "p1np"]),
    ("bad-timezone", "[clinic]\ntimezone = \"Mars/Olympus_Mons\"\n", ["[clinic] timezone", "Mars/Olympus_Mons"]),
    ("empty-timezone", "[clinic]\ntimezone = \"\"\n", ["[clinic] timezone", "''"]),
    ("daily-at-25-00", "[scheduler]\ndaily_at = \"25:00\"\n", ["[scheduler] daily_at", "'25:00'", "HH:MM"]),
    ("daily-at-a-word", "[scheduler]\ndaily_at = \"morning\"\n", ["[scheduler] daily_at", "'morning'", "HH:MM"]),
    ("thresholds-crossed", "[risk]\nosteoporosis_t_max = -0.5\n", ["[risk] osteoporosis_t_max", "normal_t_min"]),
    ("a-section-that-is-not-a-table", "tasks = 5\n", ["[tasks]", "table"]),
    ("unreadable-toml", "[tasks\nsnooze_max_days = 5\n", ["not valid TOML"]),
    ("duplicate-key", "[tasks]\nsnooze_max_days = 5\nsnooze_max_days = 6\n", ["not valid TOML"]),
    ("batch-size-0", "[scheduler]\nbatch_size = 0\n", ["[scheduler] batch_size", "0"]),
    ("negative-snooze-max-days", "[tasks]\nsnooze_max_days = -5\n", ["[tasks] snooze_max_days", "-5"]),
]


@SQLITE_ONLY
@pytest.mark.parametrize(("text", "words"), [pytest.param(t, w, id=i) for i, t, w in BAD_CONFIG])
def test_a_bad_site_file_is_one_error_line_naming_the_key_and_the_file(cli: Cli, tmp_path: Path, text, words):
    config = write_config(tmp_path, text)
    before = cli.snapshot()

    line = error_line(cli("patient", "add", "P1", "--birth-date", "1950-01-01", config=config))

    assert line.startswith(f"Error: {config}: "), line
    for word in words:
        assert word in line, f"{word!r} missing from: {line}"
    assert cli.snapshot() == before


@SQLITE_ONLY
def test_a_site_file_that_is_not_utf8_is_one_error_line_naming_the_file(cli: Cli, tmp_path: Path):
    config = tmp_path / "latin1.toml"
    config.write_bytes("[clinic]\ndefault_clinic = \"Renée\"\n".encode("latin-1"))
    line = error_line(cli("patient", "list", config=config))
    assert str(config) in line


@SQLITE_ONLY
def test_a_missing_site_file_is_named(cli: Cli, tmp_path: Path):
    line = error_line(cli("patient", "list", config=tmp_path / "nothere.toml"))
    assert line == f"Error: config file not found: {tmp_path / 'nothere.toml'}"


@SQLITE_ONLY
def test_a_directory_given_as_the_site_file_is_named(cli: Cli, tmp_path: Path):
    line = error_line(cli("patient", "list", config=tmp_path))
    assert str(tmp_path) in line


@SQLITE_ONLY
def test_init_with_a_bad_site_file_creates_no_database(blank_cli: Cli, tmp_path: Path):
    from tests.dbfixtures import table_names

    config = write_config(tmp_path, "[tasks]\nsnooze_max = 10\n")
    error_line(blank_cli("init", config=config))
    assert table_names(blank_cli.url) == []
