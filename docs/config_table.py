"""The configuration table of docs/config.md, generated from the registry (monitor/core/policy.py, monitor/settings.py).

    python docs/config_table.py           # print the table
    python docs/config_table.py --write   # replace the table in docs/config.md (between its markers)
    python docs/config_table.py --check   # exit 1 when docs/config.md is out of date

tests/test_docs.py fails when docs/config.md's table differs from what this prints.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from monitor.settings import PACKAGED_CONFIG, registry

CONFIG_MD = Path(__file__).with_name("config.md")
BEGIN = "<!-- BEGIN config table (python docs/config_table.py --write) -->"
END = "<!-- END config table -->"

# A rule id of docs/rules.md: D1, B2-dmab, A1c, ALERT-IBN-DOSE. The registry also names topic ids (WINDOW,
# PDC) and, for operational keys, a docs/ page (docs/cli.md); this pattern leaves those unlinked.
RULE_ID = re.compile(r"^(ALERT-[A-Z0-9-]+|[A-Z]\d+[a-z]?(-[A-Za-z]+)?)$")


def rule_ids(spec: str) -> list[str]:
    """The rule ids of a registry reference: 'WINDOW, D2, D3' → ['D2', 'D3']."""
    return list(dict.fromkeys(token for token in re.split(r"[\s,]+", spec) if RULE_ID.match(token)))


def rule_links(spec: str) -> str:
    """Links to the rules' headings in docs/rules.md (each `###` heading is one id: #d3, #b2-dmab)."""
    return ", ".join(f"[{rule}](rules.md#{rule.lower()})" for rule in rule_ids(spec))


def _shown(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{}"
    return str(value)


def table() -> str:
    with PACKAGED_CONFIG.open("rb") as fh:
        data = tomllib.load(fh)
    lines = ["| key | default | unit | meaning | rule |", "|---|---|---|---|---|"]
    for section, key, field in registry():
        meta = field.metadata
        lines.append(f"| `[{section}] {key}` | `{_shown(data[section][key])}` | {meta['unit']} | {meta['help']} "
                     f"| {rule_links(meta['spec'])} |")
    return "\n".join(lines) + "\n"


def documented_table(text: str) -> str:
    """The table between the markers of docs/config.md's text."""
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    return text[start:end].strip("\n") + "\n"


def write() -> None:
    text = CONFIG_MD.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    CONFIG_MD.write_text(text[:start] + "\n" + table() + text[end:], encoding="utf-8")


def main(argv: list[str]) -> int:
    if argv == ["--write"]:
        write()
    elif argv == ["--check"]:
        if documented_table(CONFIG_MD.read_text(encoding="utf-8")) != table():
            print("docs/config.md is out of date: run python docs/config_table.py --write", file=sys.stderr)
            return 1
    elif not argv:
        sys.stdout.write(table())
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
