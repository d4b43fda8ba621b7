"""The public surface: one complete ``__all__``, documented hooks, a core that never reaches
into its own built-in plugins."""
from __future__ import annotations

import ast
import importlib.metadata
import inspect
import types
from pathlib import Path

import galaxyzoo
from galaxyzoo import hookspecs
from galaxyzoo.plugin_loading import HOOK_KINDS, SPEC_TYPES

CORE = Path(galaxyzoo.__file__).parent


def test_all_is_complete_and_resolvable():
    public = {
        name for name, value in vars(galaxyzoo).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public == set(galaxyzoo.__all__)
    assert len(galaxyzoo.__all__) == len(set(galaxyzoo.__all__))
    assert list(galaxyzoo.__all__) == sorted(galaxyzoo.__all__)


def test_public_callables_are_documented():
    for name in galaxyzoo.__all__:
        obj = getattr(galaxyzoo, name)
        if callable(obj):
            assert inspect.getdoc(obj), f"galaxyzoo.{name} has no docstring"


def hook_names() -> list[str]:
    return [name for name, fn in vars(hookspecs).items()
            if inspect.isfunction(fn) and hasattr(fn, f"{hookspecs.PROJECT}_spec")]


def test_every_hook_is_documented_wired_and_used_by_a_builtin():
    names = hook_names()
    assert names, "hookspecs.py declares no hooks"
    assert set(names) == set(HOOK_KINDS), "hookspecs.py and plugin_loading.HOOK_KINDS disagree"
    implemented = set()
    for ep in importlib.metadata.entry_points(group="galaxyzoo"):
        if ep.dist and ep.dist.name == "galaxyzoo":
            implemented |= {n for n, fn in vars(ep.load()).items() if hasattr(fn, f"{hookspecs.PROJECT}_impl")}
    for name in names:
        fn = getattr(hookspecs, name)
        doc = inspect.getdoc(fn) or ""
        assert doc.startswith("Return the "), f"hook {name} needs a docstring saying what it returns"
        assert not inspect.signature(fn).parameters, f"hook {name} must take no arguments"
        spec_type = SPEC_TYPES[HOOK_KINDS[name]]
        assert spec_type.__name__ in str(inspect.signature(fn).return_annotation)
        assert name in implemented, f"no built-in plugin implements {name} (dogfooding)"


def imported_or_named_modules(path: Path) -> set[str]:
    """Modules a source file imports, plus every string constant that looks like a module path."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value.partition(":")[0])
    return names


def test_core_never_imports_builtin_plugins():
    """Built-ins reach the core only through entry points, exactly as third-party plugins do."""
    offenders = {}
    for path in sorted(CORE.rglob("*.py")):
        found = {m for m in imported_or_named_modules(path) if m.split(".")[0] == "galaxyzoo_builtin"}
        if found:
            offenders[str(path.relative_to(CORE.parent))] = sorted(found)
    assert not offenders, f"the core names built-in plugin modules directly: {offenders}"
    assert CORE.exists() and len(list(CORE.rglob("*.py"))) > 5
