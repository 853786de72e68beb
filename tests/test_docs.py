"""README.md is the operator's manual; docs/ is the reference. These checks keep both true.

Every command has a section in docs/cli.md that names each of its options, every config key has
its row in docs/config.md's generated table, every CSV column is in docs/formats.md, every relative
link and every source path named in the docs exists, and README stays a short manual whose first
bash block is the two set-up commands (`.ci/run` runs the second one).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import click
import pytest

from monitor.cli.main import SUBCOMMANDS, main
from monitor.intake.csv_reader import ALL_COLUMNS
from monitor.settings import registry
from tests.paths import ROOT

README_PATH = ROOT / "README.md"
DOCS = ROOT / "docs"
MARKDOWN = [README_PATH, *sorted(DOCS.glob("*.md"))]
SETUP_COMMANDS = ["pip install . && bonemon demo", "pip install '.[test]' && pytest -n 2"]
README_MAX_BYTES = 25_000


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _without_code_blocks(text: str) -> str:
    """The text with fenced code blocks blanked to spaces, offsets kept (a `#` there is a comment)."""
    return re.sub(r"^```.*?^```[^\n]*$", lambda m: re.sub(r"[^\n]", " ", m[0]), text, flags=re.M | re.S)


def _headings(text: str) -> list[tuple[int, str, int]]:
    """(level, title, offset) of every markdown heading outside code blocks."""
    text = _without_code_blocks(text)
    return [(len(m[1]), m[2].strip(), m.start()) for m in re.finditer(r"^(#{1,6})\s+(.+)$", text, flags=re.M)]


def _slug(title: str) -> str:
    """GitHub's heading anchor: link text kept, punctuation dropped, spaces to hyphens, lower case."""
    title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title).replace("`", "")
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, title, _ in _headings(text):
        slug = _slug(title)
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _section(text: str, heading: re.Pattern[str]) -> str | None:
    """The text from the first heading matching `heading` up to the next heading of its level or higher."""
    heads = _headings(text)
    for i, (level, title, start) in enumerate(heads):
        if heading.fullmatch(title):
            end = next((s for lvl, _, s in heads[i + 1:] if lvl <= level), len(text))
            return text[start:end]
    return None


def _commands() -> list[tuple[str, click.Command]]:
    ctx = click.Context(main)
    out = []
    for name in main.list_commands(ctx):
        cmd = main.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            out += [(f"{name} {sub}", cmd.get_command(ctx, sub)) for sub in cmd.list_commands(ctx)]
        else:
            out.append((name, cmd))
    return out


COMMANDS = _commands()
CLI_DOC = _read(DOCS / "cli.md")


def _command_section(command: str) -> str | None:
    return _section(CLI_DOC, re.compile(rf"`?bonemon {re.escape(command)}`?"))


def _group_intro(group: str) -> str:
    """A group's text before its first subcommand: options every subcommand shares are named there."""
    section = _section(CLI_DOC, re.compile(rf"`?(bonemon )?{re.escape(group)}`?")) or ""
    return re.split(r"^###\s", _without_code_blocks(section), maxsplit=1, flags=re.M)[0]


def test_every_planned_subcommand_module_exists():
    missing = [name for name, (module, _) in SUBCOMMANDS.items() if importlib.util.find_spec(module) is None]
    assert missing == [], f"commands declared in monitor/cli/main.py without a module: {missing}"


@pytest.mark.parametrize("command", [c for c, _ in COMMANDS])
def test_every_command_has_a_section_in_cli_md(command):
    assert _command_section(command) is not None, f"docs/cli.md has no heading `bonemon {command}`"


@pytest.mark.parametrize(("command", "cmd"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_every_option_is_named_in_its_command_section(command, cmd):
    section = (_command_section(command) or "") + (_group_intro(command.split()[0]) if " " in command else "")
    names = [o for p in cmd.params if isinstance(p, click.Option) for o in (*p.opts, *p.secondary_opts)
             if o.startswith("--") and o != "--help"]
    missing = [o for o in names if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", section)]
    assert missing == [], f"docs/cli.md section `bonemon {command}` does not name {missing}"


def test_the_global_options_are_documented():
    conventions = _section(CLI_DOC, re.compile("Conventions")) or ""
    for option in ("--db", "--config", "--user", "--version"):
        assert f"`{option}" in conventions, f"docs/cli.md Conventions lacks {option}"


CONFIG_DOC = _read(DOCS / "config.md")


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, k, _ in registry()])
def test_every_config_key_has_a_row_in_docs_config(section, key):
    assert re.search(rf"^\|\s*`\[{section}\] {key}`\s*\|", CONFIG_DOC, flags=re.M), \
        f"docs/config.md lacks a row for [{section}] {key}"


def test_the_config_table_is_what_the_generator_prints():
    spec = importlib.util.spec_from_file_location("config_table", DOCS / "config_table.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.documented_table(CONFIG_DOC) == generator.table(), \
        "docs/config.md is out of date: run `python docs/config_table.py --write`"


def test_rule_ids_are_extracted_from_registry_references():
    spec = importlib.util.spec_from_file_location("config_table", DOCS / "config_table.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    assert generator.rule_ids("§4.5 N1, §11 q8") == ["N1"]
    assert generator.rule_ids("§4.3 B2-dmab") == ["B2-dmab"]
    assert generator.rule_ids("§3, §7 ALERT-IBN-DOSE") == ["ALERT-IBN-DOSE"]
    assert generator.rule_ids("§2.1, A3") == ["A3"]
    assert generator.rule_ids("docs/cli.md") == generator.rule_ids("issue 3") == []


CSV_SECTION = _section(_read(DOCS / "formats.md"), re.compile("CSV import")) or ""


@pytest.mark.parametrize("column", ALL_COLUMNS)
def test_every_csv_column_is_documented_in_docs_formats(column):
    assert f"`{column}`" in CSV_SECTION, f"docs/formats.md's CSV import section does not document column {column}"


def test_readme_is_an_operators_manual_of_at_most_25000_bytes():
    size = len(README_PATH.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move reference material to docs/"


def test_readmes_first_bash_block_is_the_two_setup_commands():
    block = re.search(r"^```bash\n(.*?)^```", _read(README_PATH), flags=re.M | re.S)
    assert block is not None, "README.md has no ```bash block"
    commands = [line.split("#")[0].strip() for line in block[1].splitlines() if line.split("#")[0].strip()]
    assert commands == SETUP_COMMANDS


def _links(path: Path) -> list[str]:
    text = re.sub(r"`[^`\n]*`", "", _without_code_blocks(_read(path)))
    return re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", text)


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file_and_heading(path):
    broken = []
    for link in _links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", link):  # http:, https:, mailto:
            continue
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path
        if not file.exists():
            broken.append(f"{link} (no file {target})")
        elif anchor and file.suffix == ".md" and anchor not in _anchors(_read(file)):
            broken.append(f"{link} (no heading #{anchor} in {file.name})")
    assert broken == [], f"{path.name}: broken links {broken}"


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_source_path_named_in_the_docs_exists(path):
    named = re.findall(r"`((?:monitor|db|reports|tests|bench|docs)/[\w./-]*)`", _read(path))
    missing = sorted({p for p in named if not (ROOT / p.rstrip(".")).exists()})
    assert missing == [], f"{path.name} names paths that do not exist: {missing}"
