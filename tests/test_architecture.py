"""The import rules of docs/architecture.md as tests: the layering, a pure core, one clock, small modules.

The rules read the sources with tests/source_checks.py. Each checker is first run on small synthetic
sources, one per trick that would slip past a naive check (an alias, a relative or dynamic import, an
import inside a function, a cache kept in a global), so a rule that passes on the real tree can fail.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.paths import ROOT
from tests.source_checks import (
    CLOCK_PY,
    CODE_TABLE_MARKER,
    LAYER_EXCEPTIONS,
    MAX_LINES,
    MAX_LOOSE_MODULES,
    Source,
    clock_problems,
    core_builtin_problems,
    core_import_problems,
    files,
    layer_exceptions_used,
    layer_problems,
    state_problems,
    too_long,
)

# --------------------------------------------------------------------------- the tree


CORE_FILES = files("monitor/core")


def test_the_core_is_every_module_under_its_package():
    names = {Source.of(p).module for p in CORE_FILES}
    assert {"monitor.core", "monitor.core.plan", "monitor.core.schedule", "monitor.core.alerts"} <= names


def none(problems: list[str]) -> None:
    assert not problems, "\n" + "\n".join(problems)


def test_the_core_imports_only_the_standard_library_and_itself():
    none([p for f in CORE_FILES for p in core_import_problems(Source.of(f))])


def test_the_core_keeps_no_state_between_calls():
    none([p for f in CORE_FILES for p in state_problems(Source.of(f))])


def test_the_core_does_no_io_and_runs_no_generated_code():
    none([p for f in CORE_FILES for p in core_builtin_problems(Source.of(f))])


def test_only_monitor_clock_reads_the_wall_clock():
    none([p for f in files("monitor", "db", "reports") if f != CLOCK_PY
          for p in clock_problems(Source.of(f), core=f in CORE_FILES)])


def test_each_layer_imports_only_the_layers_below_it():
    none([p for f in files("monitor", "db", "reports") for p in layer_problems(Source.of(f))])


def test_every_layer_exception_is_still_needed():
    used = layer_exceptions_used([Source.of(f) for f in files("monitor")])
    none([f"{a} no longer imports {b}: drop the exception" for a, b in LAYER_EXCEPTIONS if (a, b) not in used])


def test_no_module_is_over_500_lines_except_code_tables():
    none([f"{p.relative_to(ROOT)}: {len(p.read_text(encoding='utf-8').splitlines())} lines"
          for p in files("monitor", "db", "reports") if too_long(p.read_text(encoding="utf-8"))])


def test_monitor_has_at_most_15_loose_modules():
    loose = sorted(p.name for p in (ROOT / "monitor").glob("*.py"))
    assert len(loose) <= MAX_LOOSE_MODULES, loose


def test_help_does_not_import_heavy_libraries():
    code = ("import sys; from monitor.cli.main import main\n"
            "try:\n    main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pandas', 'matplotlib', 'fhir', 'apscheduler', 'sqlalchemy', 'alembic') "
            "if any(k == m or k.startswith(m + '.') for k in sys.modules)]\nprint('HEAVY=' + ','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


# --------------------------------------------------------------------------- the checkers cannot be fooled

RISK = "monitor.core.risk"


@pytest.mark.parametrize(("text", "module", "package", "caught"), [
    ("from monitor import service", RISK, False, "monitor.service"),
    ("import sqlalchemy", "monitor.core.history", False, "sqlalchemy"),
    ("import sqlalchemy.orm as orm", RISK, False, "sqlalchemy.orm"),
    ("from os import path", RISK, False, "os.path"),
    ("import time", RISK, False, "time"),
    ("import monitor", RISK, False, "monitor"),
    ("from monitor import *", RISK, False, "monitor"),
    ("from monitor import clock", RISK, False, "monitor.clock"),
    ("from .. import app", RISK, False, "monitor.app"),
    ("from ..intake.parsing import as_date", RISK, False, "monitor.intake.parsing.as_date"),
    ("from ... import clock", "monitor.core.alerts", True, "monitor.clock"),
    ("from ... import db", RISK, False, "beyond the top-level package"),
    ("def f():\n    import requests\n    return requests", RISK, False, "requests"),
    ("class C:\n    def m(self):\n        from db.queries import load_facts", RISK, False, "db.queries.load_facts"),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from monitor.app.facts import Context", RISK, False,
     "monitor.app.facts.Context"),
    ("import importlib\nimportlib.import_module('monitor.app.facts')", RISK, False, "monitor.app.facts"),
    ("from importlib import import_module as load\nload('db.queries')", RISK, False, "db.queries"),
    ("import importlib as il\nil.import_module('..app', 'monitor.core')", RISK, False, "monitor.app"),
    ("m = __import__('sqlite3')", RISK, False, "sqlite3"),
    ("def f(name):\n    return __import__(name)", RISK, False, "computed name"),
    ("loader = __import__\nloader('socket')", RISK, False, "socket"),
])
def test_a_core_import_is_caught_in_every_form(text, module, package, caught):
    problems = core_import_problems(Source(text, module, package=package))
    assert any(caught in p for p in problems), problems


def test_a_core_module_importing_the_standard_library_and_the_core_passes():
    text = ("from __future__ import annotations\nimport itertools\nfrom datetime import date, timedelta\n"
            "from decimal import Decimal\nfrom types import MappingProxyType\nfrom monitor import core\n"
            "from monitor.core.domain import Task\nimport monitor.core.dates as d\nfrom . import domain\n"
            "from .schedule import dxa\nfrom .. import core as again\n")
    assert core_import_problems(Source(text, "monitor.core.plan")) == []
    assert core_import_problems(Source("from .. import plan\nfrom . import safety\n", "monitor.core.alerts",
                                       package=True)) == []


@pytest.mark.parametrize("text", [
    "from datetime import datetime as _dt\n_dt.now()",
    "import datetime as dt\ndt.datetime.now()",
    "import datetime\ndatetime.date.today()",
    "from datetime import date\nfrom dataclasses import field\nx = field(default_factory=date.today)",
    "from datetime import datetime\nnow = datetime.now\nnow()",
    "from datetime import datetime\nclass Clock(datetime):\n    pass\nClock.utcnow()",
    "import datetime\ngetattr(datetime.datetime, 'now')()",
    "from datetime import *\ndatetime.now()",
    "from datetime import datetime\ndef f(clock=datetime.now):\n    return clock()",
    "import datetime\nDT = datetime.datetime\ndef f():\n    return DT.today()",
    "from time import time as t\nt()",
    "import time as _t\n_t.time()",
    "import time\ntime.localtime()",
    "import pandas as pd\npd.Timestamp('now')",
    "import pandas as pd\npd.Timestamp.today()",
    "import sqlalchemy as sa\nsa.func.now()",
])
def test_a_wall_clock_read_is_caught_through_any_alias(text):
    assert clock_problems(Source(text, "monitor.app.facts"), core=False) != []
    assert clock_problems(Source(text, "monitor.core.alerts.renal"), core=True) != []


def test_durations_may_be_measured_outside_the_core_but_not_inside_it():
    text = "import time\nstarted = time.monotonic()\ntime.sleep(0.1)\nelapsed = time.perf_counter() - started"
    assert clock_problems(Source(text, "monitor.cli.state"), core=False) == []
    assert len(clock_problems(Source(text, RISK), core=True)) == 3


def test_code_that_only_handles_dates_it_was_given_passes_the_clock_check():
    text = ("from datetime import UTC, date, datetime, time, timedelta\nimport pandas as pd\n"
            "def f(state, s, now):\n    d = date(2025, 1, 1) + timedelta(days=1)\n"
            "    x = datetime.fromisoformat(s).astimezone(UTC)\n    t = time(6, 30)\n"
            "    return state.now(), state.today(), now.date(), pd.Timestamp(d), x, t\n"
            "class Context:\n    def today(self):\n        return self.now.date()\n")
    assert clock_problems(Source(text, "monitor.app.facts"), core=False) == []


@pytest.mark.parametrize(("text", "caught"), [
    ("_A = None\ndef f():\n    global _A\n    _A = 1", "global _A"),
    ("_LAST = (None, ())\ndef f(x):\n    globals()['_LAST'] = (x, 1)", "through globals()"),
    ("def f():\n    return vars()['TABLE']", "through globals()"),
    ("_cache = {}", "_cache is a mutable value"),
    ("_seen: list[int] = []", "_seen is a mutable value"),
    ("memo = dict()", "memo is a mutable value"),
    ("from collections import defaultdict\nby_id = defaultdict(list)", "by_id is a mutable value"),
    ("squares = {i: i * i for i in range(9)}", "squares is a mutable value"),
    ("TABLE = {}\ndef f(k):\n    TABLE[k] = 1", "changes module-level TABLE"),
    ("TABLE = {}\ndef f(k):\n    return TABLE.setdefault(k, [])", "changes module-level TABLE (.setdefault)"),
    ("ROWS = []\nclass C:\n    def add(self, x):\n        ROWS.append(x)", "changes module-level ROWS (.append)"),
    ("def f(x):\n    f.last = x\n    return x", "changes module-level f"),
    ("def f(x):\n    setattr(f, 'last', x)", "sets an attribute of module-level f"),
    ("import functools\n@functools.lru_cache(maxsize=None)\ndef f(x):\n    return x", "f is memoised"),
    ("from functools import cache as memo\n@memo\ndef f(x):\n    return x", "f is memoised"),
    ("def f(x, seen=[]):\n    seen.append(x)", "f has a mutable default argument"),
    ("class Registry:\n    known = {}", "class attribute Registry.known is a mutable value"),
    ("def outer():\n    def inner():\n        CACHE.clear()\n    return inner\nCACHE = {}", "module-level CACHE"),
])
def test_module_state_is_caught(text, caught):
    problems = state_problems(Source(text, RISK))
    assert any(caught in p for p in problems), problems


def test_constant_tables_and_local_or_argument_state_pass_the_state_check():
    text = ("from dataclasses import dataclass, field\nfrom types import MappingProxyType\n"
            "__all__ = ['f']\nTABLE = {'a': 1}\n_ORDER = [1, 2]\nKINDS = frozenset({1, 2})\n"
            "frozen = MappingProxyType({'a': 1})\n"
            "@dataclass(frozen=True)\nclass C:\n    items: list[int] = field(default_factory=list)\n"
            "    def __post_init__(self):\n        object.__setattr__(self, 'items', tuple(self.items))\n"
            "def f(out, k):\n    d = {}\n    d[k] = TABLE.get(k)\n    out.append(d)\n    acc = []\n"
            "    def g(x):\n        acc.append(x)\n    TABLE_copy = dict(TABLE)\n    TABLE_copy.update(d)\n"
            "    return [x for x in _ORDER], acc, g\n"
            "def h(TABLE):\n    TABLE.clear()\n")
    assert state_problems(Source(text, RISK)) == []
    assert core_builtin_problems(Source(text, RISK)) == []


@pytest.mark.parametrize("text", ["open('config.toml').read()", "def f(x):\n    print(x)", "eval('1 + 1')",
                                  "load = open\ndef f():\n    return load('x')"])
def test_io_and_generated_code_in_the_core_are_caught(text):
    assert core_builtin_problems(Source(text, RISK)) != []


@pytest.mark.parametrize(("text", "module"), [
    ("from db import queries", "reports.patient"),
    ("import sqlmodel", "reports.worklist"),
    ("def f():\n    import sqlalchemy as sa", "reports.figures"),
    ("from monitor import app", "db.queries"),
    ("from monitor.cli.state import State", "db.engine"),
    ("from ..app.bulk_write import write_patients", "monitor.intake.pipeline"),
    ("from db.queries import find_patient", "monitor.intake.pipeline"),
    ("from monitor.app.documents import task_document", "monitor.export.fhir.careplan"),
    ("from monitor.cli import main", "monitor.app.facts"),
])
def test_an_import_from_a_higher_layer_is_caught(text, module):
    assert layer_problems(Source(text, module), exceptions={}) != []


def test_a_layer_exception_admits_that_import_only():
    assert layer_problems(Source("from db.queries import find_patient", "monitor.intake.pipeline")) == []
    assert layer_problems(Source("from db.queries import find_patient", "monitor.intake.csv_reader")) != []
    assert layer_problems(Source("from db.engine import write_session", "monitor.intake.pipeline")) != []


def test_imports_from_lower_layers_pass_the_layer_check():
    assert layer_problems(Source("from monitor.core.domain import Task\nimport pandas", "reports.patient")) == []
    assert layer_problems(Source("from monitor.intake.validate import check_fact\nfrom db.queries import batched",
                                 "monitor.app.facts")) == []


def test_a_long_module_fails_unless_it_is_marked_a_code_table():
    assert not too_long("x = 1\n" * MAX_LINES)
    assert too_long("x = 1\n" * (MAX_LINES + 1))
    assert not too_long(f'{CODE_TABLE_MARKER}\n"""Codes."""\n' + "x = 1\n" * MAX_LINES)
    assert too_long('"""Codes."""\n' + "x = 1\n" * MAX_LINES + f"{CODE_TABLE_MARKER}\n")
