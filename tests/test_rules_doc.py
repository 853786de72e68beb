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


# --------------------------------------------------------------------------- citations in the code

# Code, tests and config.toml cite the project's own texts: SPEC.md and DESIGN.md are not in the repository.
CITING = [ROOT / "config.toml", ROOT / "docs" / "config_table.py",
          *(ROOT / top for top in ("monitor", "db", "reports", "tests", "bench"))]
OUTSIDE = ("SPEC §", "SPEC.md", "DESIGN §")
# The independent tester's vignettes are data that quote the specification they were written from.
QUOTED = ROOT / "tests" / "vignettes"
_ID = r"[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*"
CITATION = re.compile(rf"(?:docs/rules\.md|\brules:)[ ]+({_ID}(?:\s*(?:,|–|\band\b)\s*{_ID})*)")
ANCHOR = re.compile(r"rules\.md#([A-Za-z0-9-]+)")


def _texts() -> list[tuple[Path, str]]:
    """Every UTF-8 text file of CITING except this test and the quoted vignettes."""
    paths = [p for top in CITING for p in ([top] if top.is_file() else sorted(top.rglob("*")))]
    out = []
    for path in paths:
        if (not path.is_file() or "__pycache__" in path.parts or path == Path(__file__).resolve()
                or (QUOTED in path.parents and path.suffix == ".json")):
            continue
        try:
            out.append((path, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:  # gzip fixtures
            continue
    return out


def _anchors() -> set[str]:
    """GitHub's anchors of every heading of docs/rules.md (a `###` id's anchor is the id in lower case)."""
    titles = re.findall(r"^#{1,6}\s+(.+?)\s*$", RULES, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", t.replace("`", "").lower()).replace(" ", "-") for t in titles}


def _citations() -> list[tuple[str, str]]:
    """(file:line, id) of every `docs/rules.md ID, ID–ID and ID` and `rules: ID` citation."""
    out = []
    for path, text in _texts():
        for m in CITATION.finditer(text):
            where = f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
            out += [(where, rule) for rule in re.findall(_ID, m[1])]
    return out


def test_no_code_test_or_config_comment_cites_a_text_outside_the_repository():
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path, text in _texts() for n, line in enumerate(text.splitlines(), 1)
             if any(s in line for s in OUTSIDE)]
    assert found == [], "cite docs/rules.md ids or docs/*.md instead of SPEC/DESIGN sections:\n" + "\n".join(found)


def test_every_rules_md_citation_in_the_code_names_a_heading():
    citations = _citations()
    assert len({rule for _, rule in citations}) > 20, "expected the code to cite docs/rules.md by rule id"
    headings = set(_headings())
    unknown = [f"{where}: {rule}" for where, rule in citations if rule not in headings]
    assert unknown == [], "docs/rules.md has no heading for these cited ids:\n" + "\n".join(unknown)


def test_every_rules_md_anchor_in_the_code_exists():
    anchors = _anchors()
    assert {"d3", "b2-dmab", "alert-renal-zol5"} <= anchors
    broken = [f"{path.relative_to(ROOT)}: #{a}" for path, text in _texts() for a in ANCHOR.findall(text)
              if a not in anchors]
    assert broken == []


def test_every_registry_reference_is_a_rule_heading_or_a_docs_page():
    headings = set(_headings())
    wrong = [f"[{s}] {k}: {token}" for s, k, f in registry()
             for token in re.split(r"[\s,]+", f.metadata["spec"]) if token
             if token not in headings and not (token.startswith("docs/") and (ROOT / token).is_file())]
    assert wrong == []
