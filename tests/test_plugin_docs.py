"""docs/plugins.md cannot drift from the code: every hook, every spec field (type and default),
every switch, check helper and public name is documented as the code has it; the names a
recipe may use agree with the code that consumes them. (As datasette tests its hook docs.)

Regenerate the spec tables after changing a spec: ``python tests/test_plugin_docs.py``."""
from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from galaxyzoo import hookspecs, plugin_api, registry, specs, testing
from galaxyzoo.plugin_loading import DISABLE_ENV, HOOK_KINDS, SPEC_TYPES, TRACE_ENV

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
SPECS = (specs.ModelSpec, specs.DatasetSpec, specs.MetricSpec, specs.RecipeSpec, specs.Task)


def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text under a markdown heading, up to the next heading of the same or higher level."""
    match = re.search(rf"(?m)^(#+) {re.escape(heading)}\s*$", text)
    assert match, f"docs/plugins.md has no heading {heading!r}"
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf"(?m)^#{{1,{level}}} ", rest)
    return rest[: end.start()] if end else rest


def default_text(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return f"`{f.default!r}`"
    if f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return f"`{f.default_factory()!r}`"  # type: ignore[misc]
    return "required"


def spec_table(cls: type) -> str:
    rows = ["| field | type | default |", "|---|---|---|"]
    for f in dataclasses.fields(cls):
        kind = str(f.type).replace("|", "\\|")  # a bar inside a table cell
        rows.append(f"| `{f.name}` | `{kind}` | {default_text(f)} |")
    return "\n".join(rows)


def hook_names() -> list[str]:
    return [n for n, fn in vars(hookspecs).items() if inspect.isfunction(fn) and hasattr(fn, "galaxyzoo_spec")]


def test_every_hook_is_documented():
    text = doc()
    assert set(hook_names()) == set(HOOK_KINDS)
    for name in hook_names():
        body = section(text, f"`{name}()`")
        assert f"list[{SPEC_TYPES[HOOK_KINDS[name]].__name__}]" in body, name


@pytest.mark.parametrize("cls", SPECS, ids=lambda c: c.__name__)
def test_every_spec_field_is_documented_with_type_and_default(cls):
    body = section(doc(), f"`{cls.__name__}`")
    assert spec_table(cls) in body, f"regenerate the {cls.__name__} table: python tests/test_plugin_docs.py"


def test_recipe_names_agree_with_the_code_and_the_docs():
    from galaxyzoo.data.augment import Augment
    from galaxyzoo.data.preprocessing import Preprocessing
    from galaxyzoo.workflows import train_config

    assert specs.OPTIMIZERS == train_config.OPTIMIZERS
    assert specs.SCHEDULES == train_config.SCHEDULES
    assert specs.LOSSES == train_config.LOSSES
    assert set(specs.PREPROCESS_KEYS) == set(Preprocessing.__dataclass_fields__) - {"size"}
    assert set(specs.AUGMENT_KEYS) == set(Augment.__dataclass_fields__)
    body = section(doc(), "Recipe contract")
    for names in (specs.OPTIMIZERS, specs.SCHEDULES, specs.LOSSES, specs.PREPROCESS_KEYS, specs.AUGMENT_KEYS,
                  specs.INTERPOLATIONS, [m for m in specs.ROI_MODES if m]):
        for name in names:
            assert f"`{name}`" in body, name


def test_switches_root_lookup_and_check_helpers_are_documented():
    text = doc()
    for name in (DISABLE_ENV, registry.STRICT_ENV, TRACE_ENV, plugin_api.DATA_ENV):
        assert f"`{name}" in text, name
    checks = [n for n, fn in vars(testing).items() if n.startswith("check_") and inspect.isfunction(fn)]
    assert {"check_model", "check_dataset", "check_metric", "check_recipe"} <= set(checks)
    body = section(text, "Checking a plugin: `galaxyzoo.testing`")
    for name in checks:
        assert f"`{name}(" in body, name
    assert "`dataset_root(root, name)`" in section(text, "Where a dataset finds its files")


def test_every_public_name_is_documented():
    body = section(doc(), "The public API")
    for name in plugin_api.__all__:
        assert f"`{name}`" in body, name


def test_the_contract_constants_quoted_in_the_docs_are_the_code_s():
    text = doc()
    assert "uint8 N×H×W×3" in section(text, "Dataset contract")
    assert "logits" in section(text, "Model contract")
    assert "probabilities" in section(text, "Metric contract")


def _galaxyzoo_modules() -> list[str]:
    import pkgutil

    import galaxyzoo

    names = ["galaxyzoo"]
    for info in pkgutil.walk_packages(galaxyzoo.__path__, "galaxyzoo."):
        if not info.name.startswith(("galaxyzoo._native", "galaxyzoo.cli.__main__")):
            names.append(info.name)
    return names


def test_public_modules_declare_all_and_only_they_do():
    import importlib

    for name in plugin_api.PUBLIC_MODULES:
        module = importlib.import_module(name)
        assert isinstance(getattr(module, "__all__", None), (list, tuple)), f"{name} has no __all__"
        missing = [n for n in module.__all__ if not hasattr(module, n)]
        assert not missing, f"{name}.__all__ names what it lacks: {missing}"
    root = Path(plugin_api.__file__).parent
    for name in _galaxyzoo_modules():
        if name in plugin_api.PUBLIC_MODULES:
            continue
        path = root.joinpath(*name.split(".")[1:])
        source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        if source.exists():  # internal modules are those without an __all__
            assert not re.search(r"(?m)^__all__\b", source.read_text()), f"{name} is internal but has __all__"


def _imports(path: Path):
    """(module, name or None, line) for every galaxyzoo import, plus attribute uses of modules."""
    import ast

    tree = ast.parse(path.read_text())
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "galaxyzoo":
            for a in node.names:
                yield node.module, a.name, node.lineno
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "galaxyzoo":
                    yield a.name, None, node.lineno
                    aliases[a.asname or a.name] = a.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            yield aliases[node.value.id], node.attr, node.lineno


def is_public(target: str) -> bool:
    """``galaxyzoo.x.NAME`` is public when galaxyzoo.x is a public module listing NAME in __all__,
    or is itself a public module; an attribute of a public name (``Task.kind``) is public too."""
    import importlib

    if target in plugin_api.PUBLIC_MODULES:
        return True
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        if module in plugin_api.PUBLIC_MODULES:
            return parts[cut] in importlib.import_module(module).__all__
    return False


def test_builtin_plugins_import_only_public_names():
    plugins = Path(plugin_api.__file__).resolve().parents[1] / "plugins"
    bad = [f"{path.relative_to(plugins)}:{line}: {module}{'.' + name if name else ''} is internal"
           for path in sorted(plugins.rglob("*.py"))
           for module, name, line in _imports(path)
           if not is_public(module if name is None else f"{module}.{name}")]
    assert not bad, "plugins reach into internal galaxyzoo modules:\n" + "\n".join(bad)


def test_the_rule_catches_internal_imports(tmp_path):
    source = tmp_path / "p.py"
    source.write_text("from galaxyzoo.workflows.train import train\nfrom galaxyzoo.data.decode import _decode\n"
                      "from galaxyzoo.gz2 import tree\nx = tree._STARTS\nfrom galaxyzoo import Task\ny = Task.kind\n")
    verdict = {(m, n): is_public(m if n is None else f"{m}.{n}") for m, n, _ in _imports(source)}
    assert verdict == {("galaxyzoo.workflows.train", "train"): False, ("galaxyzoo.data.decode", "_decode"): False,
                       ("galaxyzoo.gz2", "tree"): True, ("galaxyzoo.gz2.tree", "_STARTS"): False,
                       ("galaxyzoo", "Task"): True, ("galaxyzoo.Task", "kind"): True}


if __name__ == "__main__":  # print the tables to paste into docs/plugins.md
    for spec_cls in SPECS:
        print(f"### `{spec_cls.__name__}`\n\n{spec_table(spec_cls)}\n")
