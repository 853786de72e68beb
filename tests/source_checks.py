"""Static checks of bonemon's sources for tests/test_architecture.py: read with `ast`, never imported.

`Source` resolves what each name stands for (imports and their aliases, relative imports against the
module's package, plain re-assignments, subclasses, `getattr` with a literal) so that each rule below
sees `_dt.now` as `datetime.datetime.now` and `from .. import app` as `monitor.app`.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import re
import sys
from pathlib import Path

from tests.paths import ROOT

CORE = "monitor.core"
CLOCK_PY = ROOT / "monitor" / "clock.py"
MAX_LINES = 500
MAX_LOOSE_MODULES = 15
CODE_TABLE_MARKER = "# code table: exempt from the module size limit"

# Standard-library modules the pure core has no business with: they reach the process and its
# environment, files, the network, the clock and time zones, threads and global state, randomness,
# logging, or load code at run time. The rest (datetime, decimal, dataclasses, enum, re, ...) is pure.
CORE_FORBIDDEN_STDLIB = frozenset({
    "os", "sys", "subprocess", "signal", "platform", "getpass", "pwd", "grp", "resource", "ctypes", "atexit",
    "gc", "sysconfig", "site",
    "io", "pathlib", "shutil", "tempfile", "glob", "fileinput", "linecache", "mmap", "sqlite3", "dbm", "shelve",
    "pickle", "marshal", "csv", "json", "tomllib", "configparser", "zipfile", "tarfile", "gzip", "bz2", "lzma",
    "zlib",
    "socket", "ssl", "select", "selectors", "socketserver", "http", "urllib", "email", "smtplib", "ftplib",
    "imaplib", "poplib", "xmlrpc", "webbrowser", "wsgiref",
    "time", "zoneinfo", "sched",
    "threading", "multiprocessing", "concurrent", "asyncio", "queue", "contextvars", "locale",
    "random", "secrets", "uuid",
    "logging", "warnings", "traceback", "faulthandler", "pdb", "trace", "tracemalloc", "cProfile", "profile",
    "timeit",
    "importlib", "pkgutil", "runpy", "inspect", "code", "codeop", "builtins",
})
WALL_CLOCK = frozenset({
    *(f"datetime.{cls}.{m}" for cls in ("datetime", "date") for m in ("now", "utcnow", "today")),
    *(f"time.{f}" for f in ("time", "time_ns", "localtime", "gmtime", "ctime", "asctime", "strftime",
                            "clock_gettime", "clock_gettime_ns")),
    *(f"pandas.Timestamp.{m}" for m in ("now", "utcnow", "today")),
    *(f"sqlalchemy.{f}" for f in ("func.now", "func.current_timestamp", "func.current_date", "func.localtimestamp")),
})
# Outside the core a timeout or a progress line may measure a duration; inside it nothing reads any clock.
DURATION_CLOCK = frozenset(f"time.{f}" for f in (
    "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "process_time", "process_time_ns",
    "thread_time", "thread_time_ns", "sleep"))
CLOCK_STRINGS = {"pandas.Timestamp", "pandas.to_datetime", "numpy.datetime64"}  # ("now") and ("today")
DYNAMIC_IMPORT = {"importlib.import_module", "importlib.__import__", "builtins.__import__"}
CORE_FORBIDDEN_BUILTINS = {f"builtins.{n}": why for why, names in (
    ("reads or writes outside its arguments", ("open", "input", "print", "breakpoint")),
    ("runs code it was not written with", ("exec", "eval", "compile")),
) for n in names}
MUTATORS = frozenset({
    "append", "extend", "insert", "remove", "pop", "popitem", "clear", "update", "setdefault", "add", "discard",
    "sort", "reverse", "appendleft", "extendleft", "move_to_end", "difference_update", "intersection_update",
    "symmetric_difference_update", "__setitem__", "__delitem__", "__setattr__"})
MUTABLE_CALLS = {"builtins.dict", "builtins.list", "builtins.set", "builtins.bytearray", "collections.defaultdict",
                 "collections.deque", "collections.OrderedDict", "collections.Counter"}
MEMOISE = {"functools.cache", "functools.lru_cache"}
CONSTANT_NAME = re.compile(r"_*[A-Z][A-Z0-9_]*")
STORAGE_AND_USE_CASES = ("db", "sqlalchemy", "sqlmodel", "alembic", "monitor.app", "monitor.cli", "monitor.scheduler",
         "monitor.demo")
# package -> what it must never import. core < intake, export, reports, db < app < scheduler, demo < cli.
# Intake parses and validates; a use case that opens sessions and writes belongs in monitor.app.
LAYERS = {
    "reports": (*STORAGE_AND_USE_CASES, "monitor.intake"),
    "monitor.export": (*STORAGE_AND_USE_CASES, "monitor.intake", "reports"),
    "monitor.intake": (*STORAGE_AND_USE_CASES, "monitor.export", "reports"),
    "db": ("monitor.app", "monitor.cli", "monitor.scheduler", "monitor.demo", "monitor.intake", "monitor.export",
           "reports"),
    "monitor.app": ("monitor.cli", "monitor.scheduler", "monitor.demo"),
    "monitor.scheduler": ("monitor.cli", "monitor.demo"),
    "monitor.demo": ("monitor.cli",),
}
# (importer, imported): the exceptions docs/architecture.md names. Each closes a package cycle (app imports
# intake and export), so each is a candidate to move rather than to copy.
LAYER_EXCEPTIONS = {
    ("monitor.intake.pipeline", "db.queries"): "the import use case reads stored patients",
    ("monitor.intake.pipeline", "monitor.app.bulk_write"): "and writes through the app's import write path",
    ("monitor.export", "monitor.app.documents"): "the FHIR export renders the pure patient document",
}


# --------------------------------------------------------------------------- reading a module


def _public_names(module: str) -> list[str]:
    return [n for n in dir(importlib.import_module(module)) if not n.startswith("_")]


def _in_scope(nodes: list[ast.AST]):
    """Every node of these statements that belongs to their scope (not the insides of a def, lambda or class)."""
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack += reversed(list(ast.iter_child_nodes(node)))
        elif not isinstance(node, ast.Lambda):  # decorators, defaults and bases run in the enclosing scope
            stack += [*node.decorator_list, *getattr(node, "bases", ())]
            if not isinstance(node, ast.ClassDef):
                stack += [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]


def _bound(nodes) -> set[str]:
    names = set()
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.Assign, ast.Delete)):
        found = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr)):
        found = [node.target]
    else:
        return []
    flat = []
    while found:
        t = found.pop()
        if isinstance(t, (ast.Tuple, ast.List)):
            found += t.elts
        else:
            flat.append(t.value if isinstance(t, ast.Starred) else t)
    return flat


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class Source:
    """One module: its syntax tree, what it imports and what each name in it stands for."""

    def __init__(self, text: str, module: str, *, package: bool = False, path: str | None = None) -> None:
        self.tree = ast.parse(text)
        self.module, self.where = module, path or module
        self.package = module if package else module.rpartition(".")[0]
        self.assigned = _bound(ast.walk(self.tree))
        self.bindings: dict[str, set[str]] = {}
        self._bind()

    @classmethod
    def of(cls, path: Path) -> Source:
        parts = path.relative_to(ROOT).with_suffix("").parts
        package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if package else parts)
        return cls(path.read_text(encoding="utf-8"), module, package=package, path=str(path.relative_to(ROOT)))

    # names -------------------------------------------------------------------------

    def _relative(self, level: int, name: str | None) -> str:
        base = self.package.split(".") if self.package else []
        if level - 1 >= len(base):
            return "<relative import beyond the top-level package>"
        return ".".join([*base[:len(base) - level + 1], *([name] if name else [])])

    def _from(self, node: ast.ImportFrom) -> str:
        return self._relative(node.level, node.module) if node.level else node.module or ""

    def _bind(self) -> None:
        """Imports, then assignments, subclasses and walrus targets of anything already known, to a fixpoint."""
        b = self.bindings
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    b.setdefault(a.asname or a.name.split(".")[0], set()).add(a.name if a.asname else
                                                                               a.name.split(".")[0])
            elif isinstance(node, ast.ImportFrom):
                base = self._from(node)
                for a in node.names:
                    if a.name != "*":
                        b.setdefault(a.asname or a.name, set()).add(f"{base}.{a.name}")
                    elif base.split(".")[0] in sys.stdlib_module_names:
                        for n in _public_names(base):
                            b.setdefault(n, set()).add(f"{base}.{n}")
        pairs = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ClassDef):
                pairs += [(node.name, base) for base in node.bases]
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                pairs += [(t.id, node.value) for t in _targets(node) if isinstance(t, ast.Name)]
        changed = True
        while changed:
            changed = False
            for name, value in pairs:
                new = self.qualify(value) - b.get(name, set())
                if new:
                    b.setdefault(name, set()).update(new)
                    changed = True

    def qualify(self, node: ast.AST) -> set[str]:
        """The dotted names this expression may stand for ("datetime.datetime.now" for `_dt.now`)."""
        if isinstance(node, ast.Name):
            if node.id in self.bindings:
                return self.bindings[node.id]
            return {f"builtins.{node.id}"} if node.id not in self.assigned and hasattr(builtins, node.id) else set()
        if isinstance(node, ast.Attribute):
            return {f"{q}.{node.attr}" for q in self.qualify(node.value)}
        if (isinstance(node, ast.Call) and "builtins.getattr" in self.qualify(node.func) and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            return {f"{q}.{node.args[1].value}" for q in self.qualify(node.args[0])}
        return set()

    # what it imports and uses ------------------------------------------------------

    def imports(self) -> list[tuple[int, str]]:
        """(line, module or module.name) for every import statement anywhere, and every dynamic import call."""
        found = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                found += [(node.lineno, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = self._from(node)
                found += [(node.lineno, base if a.name == "*" else f"{base}.{a.name}") for a in node.names]
            elif isinstance(node, ast.Call) and self.qualify(node.func) & DYNAMIC_IMPORT:
                found.append((node.lineno, self._dynamic(node)))
        return found

    def _dynamic(self, call: ast.Call) -> str:
        args = [*call.args, *(k.value for k in call.keywords if k.arg in ("name", "package"))]
        if not args or not isinstance(args[0], ast.Constant) or not isinstance(args[0].value, str):
            return "<dynamic import of a computed name>"
        name = args[0].value
        if not name.startswith("."):
            return name
        level = len(name) - len(name.lstrip("."))
        if len(args) > 1 and isinstance(args[1], ast.Constant) and isinstance(args[1].value, str):
            return Source("", args[1].value, package=True)._relative(level, name[level:] or None)
        return self._relative(level, name[level:] or None)

    def uses(self, names: set[str] | frozenset[str]) -> list[tuple[int, str]]:
        """(line, name) wherever one of these dotted names is referenced, called or passed as a value."""
        found = set()
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Name, ast.Attribute, ast.Call)):
                found |= {(node.lineno, q) for q in self.qualify(node) & names}
        return sorted(found)

    def calls_with_text(self, names: set[str], texts: set[str]) -> list[tuple[int, str]]:
        """(line, call) for `name("text")` with one of these names and first arguments (`pd.Timestamp("now")`)."""
        return sorted((node.lineno, f"{q}({node.args[0].value!r})") for node in ast.walk(self.tree)
                      if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                      and node.args[0].value in texts for q in self.qualify(node.func) & names)


# --------------------------------------------------------------------------- the rules


def core_import_problems(src: Source) -> list[str]:
    bad = []
    for line, target in src.imports():
        top = target.split(".")[0]
        if target == CORE or target.startswith(CORE + "."):
            continue
        if top in sys.stdlib_module_names and top not in CORE_FORBIDDEN_STDLIB and (
                not top.startswith("_") or top == "__future__"):
            continue
        bad.append(f"{src.where}:{line}: imports {target}")
    return bad


def clock_problems(src: Source, *, core: bool) -> list[str]:
    reads = src.uses(WALL_CLOCK | (DURATION_CLOCK if core else frozenset()))
    reads += src.calls_with_text(CLOCK_STRINGS, {"now", "today"})
    return [f"{src.where}:{line}: reads the clock ({name})" for line, name in reads]


def core_builtin_problems(src: Source) -> list[str]:
    return [f"{src.where}:{line}: calls {name.split('.')[1]} ({CORE_FORBIDDEN_BUILTINS[name]})"
            for line, name in src.uses(set(CORE_FORBIDDEN_BUILTINS))]


def _mutable(src: Source, value: ast.AST | None) -> bool:
    return isinstance(value, (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)) or (
        isinstance(value, ast.Call) and bool(src.qualify(value.func) & MUTABLE_CALLS))


def state_problems(src: Source) -> list[str]:
    """State kept between calls, so that a result could depend on what was asked before.

    A function must not rebind (`global`, `globals()`) or change (item or attribute assignment, a mutating
    method, `setattr`) anything module-level, memoise itself, or take a mutable default. A module-level or
    class-level mutable value is allowed only under an ALL_CAPS name: a constant table (vocab, explain),
    which functions read and the first rule keeps unchanged. Mutating an argument or a local is not state.
    """
    bad: list[tuple[int, str]] = []
    module_scope = list(_in_scope(src.tree.body))
    module_names = _bound(module_scope)

    def mutable_bindings(nodes, kind: str) -> None:
        for node in nodes:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and _mutable(src, node.value):
                for t in _targets(node):
                    if isinstance(t, ast.Name) and not CONSTANT_NAME.fullmatch(t.id) and t.id != "__all__":
                        bad.append((node.lineno, f"{kind}{t.id} is a mutable value"))

    def function(fn: ast.AST, enclosing: set[str]) -> None:
        body = fn.body if isinstance(fn.body, list) else [fn.body]
        nodes = list(_in_scope(body))
        declared = {n for node in nodes if isinstance(node, ast.Global) for n in node.names}
        local = (_bound(nodes) | _bound(ast.walk(fn.args)) | enclosing) - declared
        shared = module_names - local
        for d in [*fn.args.defaults, *fn.args.kw_defaults]:
            if _mutable(src, d):
                bad.append((d.lineno, f"{getattr(fn, 'name', 'lambda')} has a mutable default argument"))
        for d in getattr(fn, "decorator_list", ()):
            if src.qualify(d.func if isinstance(d, ast.Call) else d) & MEMOISE:
                bad.append((d.lineno, f"{fn.name} is memoised (a cache kept between calls)"))
        for node in nodes:
            if isinstance(node, ast.Global):
                bad.append((node.lineno, f"global {', '.join(node.names)}"))
            for t in _targets(node):
                if isinstance(t, (ast.Attribute, ast.Subscript)) and _root(t) in shared:
                    bad.append((node.lineno, f"a function changes module-level {_root(t)}"))
            if isinstance(node, ast.Call):
                f = node.func
                if src.qualify(f) & {"builtins.globals", "builtins.vars"} and not node.args:
                    bad.append((node.lineno, "a function reaches module state through globals()/vars()"))
                if isinstance(f, ast.Attribute) and f.attr in MUTATORS and _root(f.value) in shared:
                    bad.append((node.lineno, f"a function changes module-level {_root(f.value)} (.{f.attr})"))
                if ({"builtins.setattr", "builtins.object.__setattr__"} & src.qualify(f) and node.args
                        and _root(node.args[0]) in shared):
                    bad.append((node.lineno, f"a function sets an attribute of module-level {_root(node.args[0])}"))
            if node is not fn and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                function(node, local)
            elif isinstance(node, ast.ClassDef):
                klass(node)

    def klass(node: ast.ClassDef) -> None:
        nodes = list(_in_scope(node.body))
        mutable_bindings(nodes, f"class attribute {node.name}.")
        for child in nodes:
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                function(child, set())
            elif isinstance(child, ast.ClassDef) and child is not node:
                klass(child)

    mutable_bindings(module_scope, "module-level ")
    for node in module_scope:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            function(node, set())
        elif isinstance(node, ast.ClassDef):
            klass(node)
        elif isinstance(node, ast.Global):
            bad.append((node.lineno, f"global {', '.join(node.names)}"))
    return [f"{src.where}:{line}: {what}" for line, what in sorted(set(bad))]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_problems(src: Source, exceptions=LAYER_EXCEPTIONS) -> list[str]:
    bad = []
    for package, forbidden in LAYERS.items():
        if _under(src.module, package):
            bad += [f"{src.where}:{line}: {package} imports {target}" for line, target in src.imports()
                    if any(_under(target, f) for f in forbidden)
                    and not any(_under(src.module, a) and _under(target, b) for a, b in exceptions)]
    return bad


def layer_exceptions_used(sources: list[Source]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in LAYER_EXCEPTIONS for src in sources if _under(src.module, a)
            for _, target in src.imports() if _under(target, b)}


def too_long(text: str) -> bool:
    lines = text.splitlines()
    return len(lines) > MAX_LINES and CODE_TABLE_MARKER not in lines[:5]


def files(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py") if "__pycache__" not in p.parts)
