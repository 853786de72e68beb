"""docs/rules.md is the project's statement of its clinical rules: every rule id and alert code the
core emits has a heading there, and every config key it names is a real key with its packaged value."""

from __future__ import annotations

import ast
import re
import tomllib
from collections import Counter
from pathlib import Path

import pytest

from monitor.settings import PACKAGED_CONFIG, registry

ROOT = Path(__file__).resolve().parent.parent
RULES = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
CORE = ROOT / "monitor" / "core"

# Rule ids as the core spells them: H1, H3a, B2-dmab, MX, UX, BP-IV, H-REVIEW, A4-GAP, ALERT-RENAL-ZOL5.
RULE_ID = re.compile(r"[A-Z]{1,2}\d{1,2}[a-z]?(?:-[a-z]+)?|[A-Z]X|[A-Z]+\d*(?:-[A-Z0-9]+)+")
KEY = re.compile(r"`\[([a-z_]+)\] ([a-z0-9_]+)`")
KEY_WITH_DEFAULT = re.compile(r"`\[([a-z_]+)\] ([a-z0-9_]+)` \(([-−]?\d+(?:\.\d+)?)")


def _headings() -> list[str]:
    return re.findall(r"^###\s+(\S+)\s*$", RULES, flags=re.MULTILINE)


def _row_ids() -> set[str]:
    return {m.strip().strip("`") for m in re.findall(r"^\|([^|\n]+)\|", RULES, flags=re.MULTILINE)}


def _core_rule_ids() -> list[str]:
    """Every string literal in monitor/core that is shaped like a rule id or an alert code."""
    found: set[str] = set()
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and RULE_ID.fullmatch(node.value):
                found.add(node.value)
    return sorted(found)


def _packaged() -> dict:
    with PACKAGED_CONFIG.open("rb") as fh:
        return tomllib.load(fh)


def test_the_core_emits_the_rule_ids_this_test_looks_for():
    ids = _core_rule_ids()
    for expected in ("H1", "UX", "D3", "B2-dmab", "N1", "BP-IV", "H-REVIEW", "S1", "ALERT-EXIT"):
        assert expected in ids


@pytest.mark.parametrize("rule", _core_rule_ids())
def test_every_rule_id_and_alert_code_of_the_core_has_a_heading_or_row(rule):
    assert rule in _headings() or rule in _row_ids(), f"docs/rules.md has no heading or row for {rule}"


def test_every_heading_is_unique_so_its_anchor_is_the_id():
    twice = [h for h, n in Counter(_headings()).items() if n > 1]
    assert twice == [], f"duplicate headings in docs/rules.md (GitHub would suffix their anchors): {twice}"


def test_every_config_key_named_in_the_rules_exists():
    known = {(s, k) for s, k, _ in registry()}
    named = set(KEY.findall(RULES))
    assert named, "docs/rules.md names no config keys"
    assert sorted(named - known) == [], "docs/rules.md names keys that are not in the config registry"


def test_every_default_quoted_after_a_key_is_the_packaged_value():
    data = _packaged()
    wrong = [
        f"[{s}] {k} ({v}) but config.toml has {data.get(s, {}).get(k)!r}"
        for s, k, v in KEY_WITH_DEFAULT.findall(RULES)
        if float(v.replace("−", "-")) != data.get(s, {}).get(k)
    ]
    assert wrong == []
