"""Import rules (docs/architecture.md): the pure core imports only the standard library and pure modules; one clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import ROOT

PURE = ["domain", "policy", "dates", "errors", "risk", "therapy", "plan", "adherence", "lsc", "alerts", "vocab",
        "validate", "explain", "parsing", "factbuild", "regimen", "timeline"]
STDLIB_OK = {"__future__", "calendar", "collections", "dataclasses", "datetime", "decimal", "enum", "functools",
             "itertools", "math", "re", "typing", "bisect", "statistics", "operator", "heapq", "fractions"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _pure_modules() -> list[Path]:
    files = []
    for name in PURE:
        files += sorted((ROOT / "monitor").glob(f"{name}.py")) + sorted((ROOT / "monitor").glob(f"{name}_*.py"))
    files += sorted((ROOT / "monitor").glob("schedule_*.py"))
    return files


@pytest.mark.parametrize("path", _pure_modules(), ids=lambda p: p.name)
def test_pure_core_imports_only_the_standard_library_and_pure_modules(path):
    pure_names = {f"monitor.{p.stem}" for p in _pure_modules()} | {"monitor"}
    bad = [n for n in _imports(path) if n.split(".")[0] not in STDLIB_OK and n not in pure_names]
    assert bad == [], f"{path.name} imports {bad}"


def test_only_clock_py_reads_the_wall_clock():
    offenders = []
    for folder in ("monitor", "db", "reports"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "clock.py":
                continue
            text = path.read_text(encoding="utf-8")
            for needle in ("datetime.now(", "date.today(", "time.time(", "datetime.utcnow("):
                if needle in text:
                    offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []


def test_reports_never_open_a_session():
    for path in (ROOT / "reports").rglob("*.py"):
        imports = _imports(path)
        assert not any(n.startswith(("db", "sqlalchemy", "sqlmodel")) for n in imports), path.name


def test_help_does_not_import_heavy_libraries():
    import subprocess
    import sys

    code = ("import sys; from monitor.cli.main import main\n"
            "try:\n    main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pandas', 'matplotlib', 'fhir', 'apscheduler', 'sqlalchemy', 'alembic') "
            "if any(k == m or k.startswith(m + '.') for k in sys.modules)]\nprint('HEAVY=' + ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="
