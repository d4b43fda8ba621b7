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


if __name__ == "__main__":  # print the tables to paste into docs/plugins.md
    for spec_cls in SPECS:
        print(f"### `{spec_cls.__name__}`\n\n{spec_table(spec_cls)}\n")
