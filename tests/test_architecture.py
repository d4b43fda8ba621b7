"""The shape of the house: no import cycle in the core, a bounded number of levels, small
modules, one atomic-write sequence, and the CLI's two kinds of error."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import galaxyzoo

CORE = Path(galaxyzoo.__file__).parent
REPO = CORE.parent
MAX_MODULE_LINES = 400
MAX_LEVELS = 8  # the core's import graph, longest chain of modules (7 when this was written)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """galaxyzoo module → galaxyzoo modules it imports anywhere (functions included; blocks
    under ``if TYPE_CHECKING`` excluded, they never run). A submodule's import of its own
    package ``__init__`` is not an edge."""
    paths = {_module_name(p): p for p in CORE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
                node.body = []
        deps: set[str] = set()
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in paths else module for a in node.names]
            deps |= {t for t in targets if t in paths}
        graph[name] = {d for d in deps if d != name and not name.startswith(d + ".")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def levels(graph: dict[str, set[str]]) -> dict[str, int]:
    """1 for a module importing no other core module, else 1 + the highest level it imports.
    The CLI, the Python API of the jobs (``galaxyzoo.api``, the CLI's twin) and the package
    ``__init__`` (the public re-exports) sit above the core."""
    core = {m for m in graph if m not in ("galaxyzoo", "galaxyzoo.api") and not m.startswith("galaxyzoo.cli")}
    memo: dict[str, int] = {}

    def level(m: str) -> int:
        if m not in memo:
            memo[m] = 1 + max((level(d) for d in graph[m] if d in core), default=0)
        return memo[m]

    return {m: level(m) for m in core}


def test_the_core_has_no_import_cycle():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_core_stands_on_few_levels():
    depth = levels(import_graph())
    assert max(depth.values()) <= MAX_LEVELS, sorted(depth.items(), key=lambda kv: -kv[1])[:5]
    # The contract and the helpers below it never import the jobs.
    for low in ("galaxyzoo.specs", "galaxyzoo.errors", "galaxyzoo.atomic", "galaxyzoo.gz2.tree"):
        assert depth[low] == 1, low


def test_folders_by_role_import_downwards_only():
    """Data and the domain never import the workflows; nothing but the CLI imports the CLI."""
    for module, deps in import_graph().items():
        if module.startswith(("galaxyzoo.data", "galaxyzoo.gz2")) or module in (
                "galaxyzoo.specs", "galaxyzoo.registry", "galaxyzoo.hookspecs", "galaxyzoo.plugin_loading"):
            assert not {d for d in deps if d.startswith("galaxyzoo.workflows")}, module
        if not module.startswith("galaxyzoo.cli"):
            assert not {d for d in deps if d.startswith("galaxyzoo.cli")}, module


def test_no_module_is_over_the_size_limit():
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines())
             for root in (CORE, REPO / "plugins") for p in root.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_only_the_atomic_module_writes_through_temporary_files():
    """The temp-file, fsync, rename sequence is written once, in galaxyzoo/atomic.py."""
    pattern = re.compile(r"\b(tempfile\.mkstemp|os\.fsync|os\.replace)\b")
    offenders = [str(p.relative_to(REPO)) for root in (CORE, REPO / "plugins") for p in root.rglob("*.py")
                 if p != CORE / "atomic.py" and pattern.search(p.read_text())]
    assert offenders == []


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "galaxyzoo.cli", *args], capture_output=True, text=True,
                          timeout=120)


def test_a_user_error_is_one_line_and_exit_2(tmp_path):
    done = _cli("evaluate", str(tmp_path / "no-such-checkpoint"))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("galaxyzoo evaluate: error:") and "Traceback" not in done.stderr


def test_an_internal_error_shows_its_traceback_and_its_own_exit_code(tmp_path):
    """A bug (here: an exception no user input explains) is never dressed up as a user error."""
    script = tmp_path / "bug.py"
    script.write_text(
        "import sys\n"
        "import galaxyzoo.cli.list_cmd as list_cmd\n"
        "def broken(args):\n"
        "    raise ValueError('an internal bug')\n"
        "list_cmd.run = broken\n"
        "from galaxyzoo.cli import main\n"
        "sys.exit(main(['list']))\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    from galaxyzoo.errors import INTERNAL_ERROR_EXIT

    assert done.returncode == INTERNAL_ERROR_EXIT != 2
    assert "Traceback" in done.stderr and "ValueError: an internal bug" in done.stderr
    assert "galaxyzoo list: internal error" in done.stderr
