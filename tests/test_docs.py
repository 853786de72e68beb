"""README is the operator manual: every command, option group, config key and CSV column is in it."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from monitor.cli.main import SUBCOMMANDS, main
from monitor.intake.csv_reader import ALL_COLUMNS
from monitor.settings import registry

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    ctx = click.Context(main)
    out = []
    for name in main.list_commands(ctx):
        cmd = main.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            out += [f"{name} {sub}" for sub in cmd.list_commands(ctx)]
        else:
            out.append(name)
    return out


def test_every_planned_subcommand_module_exists():
    missing = [name for name, (module, _) in SUBCOMMANDS.items()
               if __import__("importlib").util.find_spec(module) is None]
    assert missing == [], f"commands declared in monitor/cli.py without a module: {missing}"


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_documented_in_readme(command):
    assert f"bonemon {command}" in README, f"README.md does not show `bonemon {command}`"


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, k, _ in registry()])
def test_every_config_key_is_in_the_readme_table(section, key):
    assert re.search(rf"\|\s*`\[{section}\] {key}`\s*\|", README), f"README lacks a row for [{section}] {key}"


@pytest.mark.parametrize("column", ALL_COLUMNS)
def test_every_csv_column_is_documented(column):
    assert f"`{column}`" in README, f"README's CSV section does not document column {column}"
